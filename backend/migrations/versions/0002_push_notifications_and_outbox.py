"""push notifications and outbox

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

from __future__ import annotations

import advanced_alchemy.types
import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "vapid_key",
        sa.Column("id", advanced_alchemy.types.guid.GUID(length=16), nullable=False),
        sa.Column("private_pem", sa.Text(), nullable=False),
        sa.Column("public_key", sa.String(length=100), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("sa_orm_sentinel", sa.Integer(), nullable=True),
        sa.Column("created_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
        sa.Column("updated_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_vapid_key")),
        sa.UniqueConstraint("public_key", name=op.f("uq_vapid_key_public_key")),
    )
    op.create_table(
        "push_subscription",
        sa.Column("id", advanced_alchemy.types.guid.GUID(length=16), nullable=False),
        sa.Column("endpoint", sa.Text(), nullable=False),
        sa.Column("endpoint_hash", sa.String(length=64), nullable=False),
        sa.Column("p256dh", sa.String(length=200), nullable=False),
        sa.Column("auth", sa.String(length=100), nullable=False),
        sa.Column("vapid_key_id", advanced_alchemy.types.guid.GUID(length=16), nullable=False),
        sa.Column("tenant_id", advanced_alchemy.types.guid.GUID(length=16), nullable=False),
        sa.Column("sa_orm_sentinel", sa.Integer(), nullable=True),
        sa.Column("created_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
        sa.Column("updated_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenant.id"], name=op.f("fk_push_subscription_tenant_id_tenant"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["vapid_key_id"], ["vapid_key.id"], name=op.f("fk_push_subscription_vapid_key_id_vapid_key")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_push_subscription")),
        sa.UniqueConstraint("tenant_id", "endpoint_hash", name="uq_push_subscription_endpoint"),
    )
    with op.batch_alter_table("push_subscription", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_push_subscription_tenant_id"), ["tenant_id"], unique=False)

    op.create_table(
        "case_subscription",
        sa.Column("id", advanced_alchemy.types.guid.GUID(length=16), nullable=False),
        sa.Column("case_id", advanced_alchemy.types.guid.GUID(length=16), nullable=False),
        sa.Column("subscription_id", advanced_alchemy.types.guid.GUID(length=16), nullable=False),
        sa.Column("tenant_id", advanced_alchemy.types.guid.GUID(length=16), nullable=False),
        sa.Column("sa_orm_sentinel", sa.Integer(), nullable=True),
        sa.Column("created_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
        sa.Column("updated_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["case_file.id"], name=op.f("fk_case_subscription_case_id_case_file"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["subscription_id"],
            ["push_subscription.id"],
            name=op.f("fk_case_subscription_subscription_id_push_subscription"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenant.id"], name=op.f("fk_case_subscription_tenant_id_tenant"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_subscription")),
        sa.UniqueConstraint("case_id", "subscription_id", name="uq_case_subscription"),
    )
    with op.batch_alter_table("case_subscription", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_case_subscription_case_id"), ["case_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_case_subscription_subscription_id"), ["subscription_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_case_subscription_tenant_id"), ["tenant_id"], unique=False)

    op.create_table(
        "outbox_message",
        sa.Column("id", advanced_alchemy.types.guid.GUID(length=16), nullable=False),
        sa.Column("channel", sa.String(length=10), nullable=False),
        sa.Column("case_id", advanced_alchemy.types.guid.GUID(length=16), nullable=False),
        sa.Column("subscription_id", advanced_alchemy.types.guid.GUID(length=16), nullable=True),
        sa.Column("email", sa.String(length=254), nullable=True),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("payload", advanced_alchemy.types.JsonB, nullable=False),
        sa.Column("topic", sa.String(length=32), nullable=False),
        sa.Column("urgency", sa.String(length=10), nullable=False),
        sa.Column("ttl", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
        sa.Column("claimed_until", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=True),
        sa.Column("sent_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=False),
        sa.Column("tenant_id", advanced_alchemy.types.guid.GUID(length=16), nullable=False),
        sa.Column("sa_orm_sentinel", sa.Integer(), nullable=True),
        sa.Column("created_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
        sa.Column("updated_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["case_file.id"], name=op.f("fk_outbox_message_case_id_case_file"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["subscription_id"],
            ["push_subscription.id"],
            name=op.f("fk_outbox_message_subscription_id_push_subscription"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenant.id"], name=op.f("fk_outbox_message_tenant_id_tenant"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox_message")),
    )
    with op.batch_alter_table("outbox_message", schema=None) as batch_op:
        batch_op.create_index("ix_outbox_due", ["status", "next_attempt_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_outbox_message_case_id"), ["case_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_outbox_message_tenant_id"), ["tenant_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("outbox_message", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_outbox_message_tenant_id"))
        batch_op.drop_index(batch_op.f("ix_outbox_message_case_id"))
        batch_op.drop_index("ix_outbox_due")

    op.drop_table("outbox_message")
    with op.batch_alter_table("case_subscription", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_case_subscription_tenant_id"))
        batch_op.drop_index(batch_op.f("ix_case_subscription_subscription_id"))
        batch_op.drop_index(batch_op.f("ix_case_subscription_case_id"))

    op.drop_table("case_subscription")
    with op.batch_alter_table("push_subscription", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_push_subscription_tenant_id"))

    op.drop_table("push_subscription")
    op.drop_table("vapid_key")
