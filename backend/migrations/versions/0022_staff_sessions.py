"""staff sessions: each staff login in a browser, listed to its person and ended from anywhere

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-06
"""

from __future__ import annotations

import advanced_alchemy.types
import sqlalchemy as sa
from alembic import op

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None

GUID = advanced_alchemy.types.guid.GUID(length=16)
STAMP = advanced_alchemy.types.datetime.DateTimeUTC(timezone=True)


def upgrade() -> None:
    op.create_table(
        "staff_session",
        sa.Column("id", GUID, nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("user_id", GUID, nullable=False),
        sa.Column("user_agent", sa.String(length=300), nullable=False),
        sa.Column("last_seen_at", STAMP, nullable=False),
        sa.Column("tenant_id", GUID, nullable=False),
        sa.Column("sa_orm_sentinel", sa.Integer(), nullable=True),
        sa.Column("created_at", STAMP, nullable=False),
        sa.Column("updated_at", STAMP, nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenant.id"], name=op.f("fk_staff_session_tenant_id_tenant"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["user_account.id"], name=op.f("fk_staff_session_user_id_user_account"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staff_session")),
        sa.UniqueConstraint("key_hash", name=op.f("uq_staff_session_key_hash")),
    )
    op.create_index(op.f("ix_staff_session_tenant_id"), "staff_session", ["tenant_id"])
    op.create_index(op.f("ix_staff_session_user_id"), "staff_session", ["user_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_staff_session_user_id"), table_name="staff_session")
    op.drop_index(op.f("ix_staff_session_tenant_id"), table_name="staff_session")
    op.drop_table("staff_session")
