"""conversation: citizen replies, files on timeline events, e-mails switched off per case

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01
"""

from __future__ import annotations

import advanced_alchemy.types
import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("case_file") as batch:
        batch.add_column(
            sa.Column("citizen_replied_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=True)
        )
        batch.add_column(sa.Column("emails_off", sa.Boolean(), server_default=sa.false(), nullable=False))
        batch.create_index("ix_case_file_tenant_replied", ["tenant_id", "citizen_replied_at"], unique=False)
    with op.batch_alter_table("attachment") as batch:
        batch.add_column(sa.Column("event_id", advanced_alchemy.types.guid.GUID(length=16), nullable=True))
        batch.create_foreign_key(
            batch.f("fk_attachment_event_id_case_event"), "case_event", ["event_id"], ["id"], ondelete="CASCADE"
        )


def downgrade() -> None:
    with op.batch_alter_table("attachment") as batch:
        batch.drop_constraint(batch.f("fk_attachment_event_id_case_event"), type_="foreignkey")
        batch.drop_column("event_id")
    with op.batch_alter_table("case_file") as batch:
        batch.drop_index("ix_case_file_tenant_replied")
        batch.drop_column("emails_off")
        batch.drop_column("citizen_replied_at")
