"""form builder: the working draft of a service's form, edited until it is published as a new version

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-01
"""

from __future__ import annotations

import advanced_alchemy.types
import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # NULL: no draft, the builder starts from the current form version.
    with op.batch_alter_table("service") as batch:
        batch.add_column(sa.Column("draft_form", advanced_alchemy.types.JsonB, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("service") as batch:
        batch.drop_column("draft_form")
