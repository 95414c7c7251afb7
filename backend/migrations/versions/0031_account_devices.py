"""account devices: a push subscription made by a signed-in citizen follows all the requests of their account

Revision ID: 0031
Revises: 0030
Create Date: 2026-12-06
"""

from __future__ import annotations

import advanced_alchemy.types
import sqlalchemy as sa
from alembic import op

revision = "0031"
down_revision = "0030"
branch_labels = None
depends_on = None

GUID = advanced_alchemy.types.guid.GUID(length=16)


def upgrade() -> None:
    # No foreign key (SQLite cannot add one to a table): deleting an account clears it (accounts/citizen_data.py).
    op.add_column("push_subscription", sa.Column("account_id", GUID, nullable=True))
    op.create_index("ix_push_subscription_account_id", "push_subscription", ["account_id"])


def downgrade() -> None:
    op.drop_index("ix_push_subscription_account_id", table_name="push_subscription")
    with op.batch_alter_table("push_subscription") as batch:
        batch.drop_column("account_id")
