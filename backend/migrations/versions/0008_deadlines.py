"""deadlines: working days per service, a due date on each case

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01
"""

from __future__ import annotations

import advanced_alchemy.types
import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Existing services keep NULL (no deadline) until a municipality sets one: no guessed deadlines.
    with op.batch_alter_table("service") as batch:
        batch.add_column(sa.Column("processing_days", sa.Integer(), nullable=True))
    with op.batch_alter_table("case_file") as batch:
        batch.add_column(sa.Column("due_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=True))
        batch.create_index("ix_case_file_tenant_due", ["tenant_id", "due_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("case_file") as batch:
        batch.drop_index("ix_case_file_tenant_due")
        batch.drop_column("due_at")
    with op.batch_alter_table("service") as batch:
        batch.drop_column("processing_days")
