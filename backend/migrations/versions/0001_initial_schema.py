"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-25
"""

from __future__ import annotations

import advanced_alchemy.types
import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "kv_store",
        sa.Column("id", advanced_alchemy.types.guid.GUID(length=16), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("namespace", sa.String(length=255), nullable=False),
        sa.Column("value", sa.LargeBinary(), nullable=False),
        sa.Column("expires_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
        sa.Column("sa_orm_sentinel", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kv_store")),
        sa.UniqueConstraint("key", "namespace", name="uq_kv_store_key_namespace"),
    )
    with op.batch_alter_table("kv_store", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_kv_store_expires_at"), ["expires_at"], unique=False)
        batch_op.create_index("ix_kv_store_key_namespace_unique", ["key", "namespace"], unique=True)

    op.create_table(
        "tenant",
        sa.Column("id", advanced_alchemy.types.guid.GUID(length=16), nullable=False),
        sa.Column("slug", sa.String(length=63), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("primary_color", sa.String(length=7), nullable=False),
        sa.Column("accent_color", sa.String(length=7), nullable=False),
        sa.Column("default_language", sa.String(length=8), nullable=False),
        sa.Column("languages", advanced_alchemy.types.JsonB, nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("texts", advanced_alchemy.types.JsonB, nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("sa_orm_sentinel", sa.Integer(), nullable=True),
        sa.Column("created_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
        sa.Column("updated_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tenant")),
        sa.UniqueConstraint("slug", name=op.f("uq_tenant_slug")),
    )
    op.create_table(
        "user_account",
        sa.Column("id", advanced_alchemy.types.guid.GUID(length=16), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("password_hash", sa.String(length=200), nullable=False),
        sa.Column("display_name", sa.String(length=200), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("sa_orm_sentinel", sa.Integer(), nullable=True),
        sa.Column("created_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
        sa.Column("updated_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_user_account")),
        sa.UniqueConstraint("email", name=op.f("uq_user_account_email")),
    )
    op.create_table(
        "membership",
        sa.Column("id", advanced_alchemy.types.guid.GUID(length=16), nullable=False),
        sa.Column("user_id", advanced_alchemy.types.guid.GUID(length=16), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("tenant_id", advanced_alchemy.types.guid.GUID(length=16), nullable=False),
        sa.Column("sa_orm_sentinel", sa.Integer(), nullable=True),
        sa.Column("created_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
        sa.Column("updated_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenant.id"], name=op.f("fk_membership_tenant_id_tenant"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["user_account.id"],
            name=op.f("fk_membership_user_id_user_account"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_membership")),
        sa.UniqueConstraint("tenant_id", "user_id", name="uq_membership_user"),
    )
    with op.batch_alter_table("membership", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_membership_tenant_id"), ["tenant_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_membership_user_id"), ["user_id"], unique=False)

    op.create_table(
        "reference_counter",
        sa.Column("id", advanced_alchemy.types.guid.GUID(length=16), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("last_number", sa.Integer(), nullable=False),
        sa.Column("tenant_id", advanced_alchemy.types.guid.GUID(length=16), nullable=False),
        sa.Column("sa_orm_sentinel", sa.Integer(), nullable=True),
        sa.Column("created_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
        sa.Column("updated_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenant.id"],
            name=op.f("fk_reference_counter_tenant_id_tenant"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reference_counter")),
        sa.UniqueConstraint("tenant_id", "year", name="uq_reference_counter_year"),
    )
    with op.batch_alter_table("reference_counter", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_reference_counter_tenant_id"), ["tenant_id"], unique=False)

    op.create_table(
        "service",
        sa.Column("id", advanced_alchemy.types.guid.GUID(length=16), nullable=False),
        sa.Column("slug", sa.String(length=80), nullable=False),
        sa.Column("category", advanced_alchemy.types.JsonB, nullable=False),
        sa.Column("name", advanced_alchemy.types.JsonB, nullable=False),
        sa.Column("summary", advanced_alchemy.types.JsonB, nullable=False),
        sa.Column("description", advanced_alchemy.types.JsonB, nullable=False),
        sa.Column("fees", advanced_alchemy.types.JsonB, nullable=False),
        sa.Column("processing_time", advanced_alchemy.types.JsonB, nullable=False),
        sa.Column("required_documents", advanced_alchemy.types.JsonB, nullable=False),
        sa.Column("keywords", sa.String(length=500), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("current_form_id", advanced_alchemy.types.guid.GUID(length=16), nullable=True),
        sa.Column("tenant_id", advanced_alchemy.types.guid.GUID(length=16), nullable=False),
        sa.Column("sa_orm_sentinel", sa.Integer(), nullable=True),
        sa.Column("created_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
        sa.Column("updated_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenant.id"], name=op.f("fk_service_tenant_id_tenant"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_service")),
        sa.UniqueConstraint("tenant_id", "slug", name="uq_service_slug"),
    )
    with op.batch_alter_table("service", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_service_tenant_id"), ["tenant_id"], unique=False)

    op.create_table(
        "tenant_host",
        sa.Column("id", advanced_alchemy.types.guid.GUID(length=16), nullable=False),
        sa.Column("tenant_id", advanced_alchemy.types.guid.GUID(length=16), nullable=False),
        sa.Column("host", sa.String(length=253), nullable=False),
        sa.Column("sa_orm_sentinel", sa.Integer(), nullable=True),
        sa.Column("created_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
        sa.Column("updated_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenant.id"], name=op.f("fk_tenant_host_tenant_id_tenant"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tenant_host")),
        sa.UniqueConstraint("host", name=op.f("uq_tenant_host_host")),
    )
    with op.batch_alter_table("tenant_host", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_tenant_host_tenant_id"), ["tenant_id"], unique=False)

    op.create_table(
        "form_version",
        sa.Column("id", advanced_alchemy.types.guid.GUID(length=16), nullable=False),
        sa.Column("service_id", advanced_alchemy.types.guid.GUID(length=16), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("definition", advanced_alchemy.types.JsonB, nullable=False),
        sa.Column("tenant_id", advanced_alchemy.types.guid.GUID(length=16), nullable=False),
        sa.Column("sa_orm_sentinel", sa.Integer(), nullable=True),
        sa.Column("created_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
        sa.Column("updated_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["service_id"],
            ["service.id"],
            name=op.f("fk_form_version_service_id_service"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenant.id"], name=op.f("fk_form_version_tenant_id_tenant"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_form_version")),
        sa.UniqueConstraint("service_id", "version", name="uq_form_version_version"),
    )
    with op.batch_alter_table("form_version", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_form_version_service_id"), ["service_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_form_version_tenant_id"), ["tenant_id"], unique=False)

    op.create_table(
        "case_file",
        sa.Column("id", advanced_alchemy.types.guid.GUID(length=16), nullable=False),
        sa.Column("service_id", advanced_alchemy.types.guid.GUID(length=16), nullable=False),
        sa.Column("form_version_id", advanced_alchemy.types.guid.GUID(length=16), nullable=False),
        sa.Column("reference", sa.String(length=20), nullable=False),
        sa.Column("tracking_token", sa.String(length=64), nullable=False),
        sa.Column("idempotency_key", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("answers", advanced_alchemy.types.JsonB, nullable=False),
        sa.Column("location", advanced_alchemy.types.JsonB, nullable=True),
        sa.Column("contact_email", sa.String(length=254), nullable=True),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("tenant_id", advanced_alchemy.types.guid.GUID(length=16), nullable=False),
        sa.Column("sa_orm_sentinel", sa.Integer(), nullable=True),
        sa.Column("created_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
        sa.Column("updated_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["form_version_id"], ["form_version.id"], name=op.f("fk_case_file_form_version_id_form_version")
        ),
        sa.ForeignKeyConstraint(["service_id"], ["service.id"], name=op.f("fk_case_file_service_id_service")),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenant.id"], name=op.f("fk_case_file_tenant_id_tenant"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_file")),
        sa.UniqueConstraint("tenant_id", "idempotency_key", name="uq_case_file_idempotency_key"),
        sa.UniqueConstraint("tenant_id", "reference", name="uq_case_file_reference"),
        sa.UniqueConstraint("tracking_token", name=op.f("uq_case_file_tracking_token")),
    )
    with op.batch_alter_table("case_file", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_case_file_service_id"), ["service_id"], unique=False)
        batch_op.create_index("ix_case_file_tenant_created", ["tenant_id", "created_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_case_file_tenant_id"), ["tenant_id"], unique=False)
        batch_op.create_index("ix_case_file_tenant_status", ["tenant_id", "status"], unique=False)

    op.create_table(
        "attachment",
        sa.Column("id", advanced_alchemy.types.guid.GUID(length=16), nullable=False),
        sa.Column("case_id", advanced_alchemy.types.guid.GUID(length=16), nullable=True),
        sa.Column("draft_key", sa.String(length=64), nullable=True),
        sa.Column("field_name", sa.String(length=64), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("content_type", sa.String(length=100), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("storage_key", sa.String(length=255), nullable=False),
        sa.Column("width", sa.Integer(), nullable=True),
        sa.Column("height", sa.Integer(), nullable=True),
        sa.Column("tenant_id", advanced_alchemy.types.guid.GUID(length=16), nullable=False),
        sa.Column("sa_orm_sentinel", sa.Integer(), nullable=True),
        sa.Column("created_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
        sa.Column("updated_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["case_file.id"], name=op.f("fk_attachment_case_id_case_file"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenant.id"], name=op.f("fk_attachment_tenant_id_tenant"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_attachment")),
    )
    with op.batch_alter_table("attachment", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_attachment_case_id"), ["case_id"], unique=False)
        batch_op.create_index("ix_attachment_draft", ["tenant_id", "draft_key"], unique=False)
        batch_op.create_index(batch_op.f("ix_attachment_tenant_id"), ["tenant_id"], unique=False)

    op.create_table(
        "case_event",
        sa.Column("id", advanced_alchemy.types.guid.GUID(length=16), nullable=False),
        sa.Column("case_id", advanced_alchemy.types.guid.GUID(length=16), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("actor_kind", sa.String(length=16), nullable=False),
        sa.Column("actor_id", advanced_alchemy.types.guid.GUID(length=16), nullable=True),
        sa.Column("actor_name", sa.String(length=200), nullable=False),
        sa.Column("from_status", sa.String(length=32), nullable=True),
        sa.Column("to_status", sa.String(length=32), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("public", sa.Boolean(), nullable=False),
        sa.Column("tenant_id", advanced_alchemy.types.guid.GUID(length=16), nullable=False),
        sa.Column("sa_orm_sentinel", sa.Integer(), nullable=True),
        sa.Column("created_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
        sa.Column("updated_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["actor_id"], ["user_account.id"], name=op.f("fk_case_event_actor_id_user_account")),
        sa.ForeignKeyConstraint(
            ["case_id"], ["case_file.id"], name=op.f("fk_case_event_case_id_case_file"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenant.id"], name=op.f("fk_case_event_tenant_id_tenant"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_event")),
    )
    with op.batch_alter_table("case_event", schema=None) as batch_op:
        batch_op.create_index("ix_case_event_case_created", ["case_id", "created_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_case_event_tenant_id"), ["tenant_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("case_event", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_case_event_tenant_id"))
        batch_op.drop_index("ix_case_event_case_created")

    op.drop_table("case_event")
    with op.batch_alter_table("attachment", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_attachment_tenant_id"))
        batch_op.drop_index("ix_attachment_draft")
        batch_op.drop_index(batch_op.f("ix_attachment_case_id"))

    op.drop_table("attachment")
    with op.batch_alter_table("case_file", schema=None) as batch_op:
        batch_op.drop_index("ix_case_file_tenant_status")
        batch_op.drop_index(batch_op.f("ix_case_file_tenant_id"))
        batch_op.drop_index("ix_case_file_tenant_created")
        batch_op.drop_index(batch_op.f("ix_case_file_service_id"))

    op.drop_table("case_file")
    with op.batch_alter_table("form_version", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_form_version_tenant_id"))
        batch_op.drop_index(batch_op.f("ix_form_version_service_id"))

    op.drop_table("form_version")
    with op.batch_alter_table("tenant_host", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_tenant_host_tenant_id"))

    op.drop_table("tenant_host")
    with op.batch_alter_table("service", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_service_tenant_id"))

    op.drop_table("service")
    with op.batch_alter_table("reference_counter", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_reference_counter_tenant_id"))

    op.drop_table("reference_counter")
    with op.batch_alter_table("membership", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_membership_user_id"))
        batch_op.drop_index(batch_op.f("ix_membership_tenant_id"))

    op.drop_table("membership")
    op.drop_table("user_account")
    op.drop_table("tenant")
    with op.batch_alter_table("kv_store", schema=None) as batch_op:
        batch_op.drop_index("ix_kv_store_key_namespace_unique")
        batch_op.drop_index(batch_op.f("ix_kv_store_expires_at"))

    op.drop_table("kv_store")
