"""themes: a municipality may be given one of the operator's theme folders

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # NULL: the shipped templates.
    with op.batch_alter_table("tenant") as batch:
        batch.add_column(sa.Column("theme", sa.String(length=63), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("tenant") as batch:
        batch.drop_column("theme")
