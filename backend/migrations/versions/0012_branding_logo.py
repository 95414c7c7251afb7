"""branding: a short name for the home screen and a logo per municipality

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # NULL short name: derived from the name; NULL logo: the monogram icons and the name in the header.
    with op.batch_alter_table("tenant") as batch:
        batch.add_column(sa.Column("short_name", sa.String(length=15), nullable=True))
        batch.add_column(sa.Column("logo_key", sa.String(length=255), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("tenant") as batch:
        batch.drop_column("logo_key")
        batch.drop_column("short_name")
