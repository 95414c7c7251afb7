"""tenant roll-in: state, services adopted from the standard catalogue, staff invitations

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01
"""

from __future__ import annotations

import advanced_alchemy.types
import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("tenant") as batch_op:
        batch_op.add_column(sa.Column("state", sa.String(length=2), nullable=True))
    with op.batch_alter_table("service") as batch_op:
        batch_op.add_column(sa.Column("department", sa.String(length=120), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("template_slug", sa.String(length=80), nullable=True))
        batch_op.add_column(sa.Column("template_version", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("leika_key", sa.String(length=14), nullable=False, server_default=""))
    op.create_table(
        "invitation",
        sa.Column("id", advanced_alchemy.types.guid.GUID(length=16), nullable=False),
        sa.Column("user_id", advanced_alchemy.types.guid.GUID(length=16), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("expires_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
        sa.Column("accepted_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=True),
        sa.Column("tenant_id", advanced_alchemy.types.guid.GUID(length=16), nullable=False),
        sa.Column("sa_orm_sentinel", sa.Integer(), nullable=True),
        sa.Column("created_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
        sa.Column("updated_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenant.id"], name=op.f("fk_invitation_tenant_id_tenant"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["user_account.id"], name=op.f("fk_invitation_user_id_user_account"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_invitation")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_invitation_token_hash")),
    )
    op.create_index(op.f("ix_invitation_tenant_id"), "invitation", ["tenant_id"])
    op.create_index(op.f("ix_invitation_user_id"), "invitation", ["user_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_invitation_user_id"), table_name="invitation")
    op.drop_index(op.f("ix_invitation_tenant_id"), table_name="invitation")
    op.drop_table("invitation")
    with op.batch_alter_table("service") as batch_op:
        batch_op.drop_column("leika_key")
        batch_op.drop_column("template_version")
        batch_op.drop_column("template_slug")
        batch_op.drop_column("department")
    with op.batch_alter_table("tenant") as batch_op:
        batch_op.drop_column("state")
