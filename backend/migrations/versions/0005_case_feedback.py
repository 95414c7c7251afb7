"""case feedback and the reopen period

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01
"""

from __future__ import annotations

import advanced_alchemy.types
import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("tenant") as batch:
        batch.add_column(sa.Column("feedback_reopen_days", sa.Integer(), server_default="14", nullable=False))
    op.create_table(
        "case_feedback",
        sa.Column("case_id", advanced_alchemy.types.guid.GUID(length=16), nullable=False),
        sa.Column("round", sa.Integer(), nullable=False),
        sa.Column("resolved", sa.Boolean(), nullable=False),
        sa.Column("rating", sa.Integer(), nullable=True),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("about_status", sa.String(length=32), nullable=False),
        sa.Column("reopened", sa.Boolean(), nullable=False),
        sa.Column("id", advanced_alchemy.types.guid.GUID(length=16), nullable=False),
        sa.Column("sa_orm_sentinel", sa.Integer(), nullable=True),
        sa.Column("created_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
        sa.Column("updated_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
        sa.Column("tenant_id", advanced_alchemy.types.guid.GUID(length=16), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["case_file.id"], name=op.f("fk_case_feedback_case_id_case_file"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenant.id"], name=op.f("fk_case_feedback_tenant_id_tenant"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_feedback")),
        sa.UniqueConstraint("case_id", "round", name="uq_case_feedback_round"),
    )
    op.create_index(op.f("ix_case_feedback_case_id"), "case_feedback", ["case_id"])
    op.create_index(op.f("ix_case_feedback_tenant_id"), "case_feedback", ["tenant_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_case_feedback_tenant_id"), table_name="case_feedback")
    op.drop_index(op.f("ix_case_feedback_case_id"), table_name="case_feedback")
    op.drop_table("case_feedback")
    with op.batch_alter_table("tenant") as batch:
        batch.drop_column("feedback_reopen_days")
