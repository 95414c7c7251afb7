"""retention: a municipality's closed cases are anonymised after its retention period

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-06
"""

from __future__ import annotations

import advanced_alchemy.types
import sqlalchemy as sa
from alembic import op

revision = "0026"
down_revision = "0025"
branch_labels = None
depends_on = None

STAMP = advanced_alchemy.types.datetime.DateTimeUTC(timezone=True)


def upgrade() -> None:
    # NULL: cases are kept until the municipality sets a period. Plain ADD COLUMN (no table copy on SQLite, so
    # the search index's triggers on case_file stay).
    op.add_column("tenant", sa.Column("retention_days", sa.Integer(), nullable=True))
    op.add_column("case_file", sa.Column("anonymised_at", STAMP, nullable=True))


def downgrade() -> None:
    op.drop_column("case_file", "anonymised_at")
    op.drop_column("tenant", "retention_days")
