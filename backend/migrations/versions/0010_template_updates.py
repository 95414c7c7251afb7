"""template updates: the template content a service was adopted from, and a dismissed update

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01
"""

from __future__ import annotations

import advanced_alchemy.types
import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Services adopted before keep NULL: their update page compares the template with their current content.
    with op.batch_alter_table("service") as batch:
        batch.add_column(sa.Column("template_snapshot", advanced_alchemy.types.JsonB, nullable=True))
        batch.add_column(sa.Column("template_dismissed_version", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("service") as batch:
        batch.drop_column("template_dismissed_version")
        batch.drop_column("template_snapshot")
