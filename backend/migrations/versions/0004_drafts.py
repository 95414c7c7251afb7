"""drafts on the server, attachments know their service

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01
"""

from __future__ import annotations

import advanced_alchemy.types
import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "case_draft",
        sa.Column("id", advanced_alchemy.types.guid.GUID(length=16), nullable=False),
        sa.Column("service_id", advanced_alchemy.types.guid.GUID(length=16), nullable=False),
        sa.Column("form_version_id", advanced_alchemy.types.guid.GUID(length=16), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("inputs", advanced_alchemy.types.JsonB, nullable=False),
        sa.Column("files", advanced_alchemy.types.JsonB, nullable=False),
        sa.Column("tenant_id", advanced_alchemy.types.guid.GUID(length=16), nullable=False),
        sa.Column("sa_orm_sentinel", sa.Integer(), nullable=True),
        sa.Column("created_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
        sa.Column("updated_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["service_id"], ["service.id"], name=op.f("fk_case_draft_service_id_service"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["form_version_id"],
            ["form_version.id"],
            name=op.f("fk_case_draft_form_version_id_form_version"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenant.id"], name=op.f("fk_case_draft_tenant_id_tenant"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_draft")),
        sa.UniqueConstraint("tenant_id", "key", name="uq_case_draft_key"),
    )
    with op.batch_alter_table("case_draft", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_case_draft_tenant_id"), ["tenant_id"], unique=False)
        batch_op.create_index("ix_case_draft_updated_at", ["updated_at"], unique=False)
    with op.batch_alter_table("attachment", schema=None) as batch_op:
        batch_op.add_column(sa.Column("service_id", advanced_alchemy.types.guid.GUID(length=16), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_attachment_service_id_service"), "service", ["service_id"], ["id"], ondelete="CASCADE"
        )
        # The cleanup of expired draft files looks for unsubmitted files by age.
        batch_op.create_index("ix_attachment_unsubmitted_created", ["created_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("attachment", schema=None) as batch_op:
        batch_op.drop_index("ix_attachment_unsubmitted_created")
        batch_op.drop_constraint(batch_op.f("fk_attachment_service_id_service"), type_="foreignkey")
        batch_op.drop_column("service_id")
    with op.batch_alter_table("case_draft", schema=None) as batch_op:
        batch_op.drop_index("ix_case_draft_updated_at")
        batch_op.drop_index(batch_op.f("ix_case_draft_tenant_id"))
    op.drop_table("case_draft")
