"""saved views: a staff member's named inbox filters

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-08
"""

from __future__ import annotations

import advanced_alchemy.types
import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None

GUID = advanced_alchemy.types.guid.GUID(length=16)
STAMP = advanced_alchemy.types.datetime.DateTimeUTC(timezone=True)


def upgrade() -> None:
    op.create_table(
        "saved_view",
        sa.Column("id", GUID, nullable=False),
        sa.Column("user_id", GUID, nullable=False),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("query", sa.String(length=2000), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("tenant_id", GUID, nullable=False),
        sa.Column("sa_orm_sentinel", sa.Integer(), nullable=True),
        sa.Column("created_at", STAMP, nullable=False),
        sa.Column("updated_at", STAMP, nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenant.id"], name=op.f("fk_saved_view_tenant_id_tenant"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["user_account.id"], name=op.f("fk_saved_view_user_id_user_account"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_saved_view")),
        sa.UniqueConstraint("tenant_id", "user_id", "name", name="uq_saved_view_name"),
    )
    op.create_index(op.f("ix_saved_view_tenant_id"), "saved_view", ["tenant_id"])
    op.create_index(op.f("ix_saved_view_user_id"), "saved_view", ["user_id"])
    op.create_index("ix_saved_view_user_position", "saved_view", ["tenant_id", "user_id", "position"])


def downgrade() -> None:
    op.drop_index("ix_saved_view_user_position", table_name="saved_view")
    op.drop_index(op.f("ix_saved_view_user_id"), table_name="saved_view")
    op.drop_index(op.f("ix_saved_view_tenant_id"), table_name="saved_view")
    op.drop_table("saved_view")
