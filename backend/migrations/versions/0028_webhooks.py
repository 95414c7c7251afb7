"""webhooks: a municipality's endpoints for signed case events, delivered through the outbox

Revision ID: 0028
Revises: 0027
Create Date: 2026-12-06
"""

from __future__ import annotations

import advanced_alchemy.types
import sqlalchemy as sa
from alembic import op

revision = "0028"
down_revision = "0027"
branch_labels = None
depends_on = None

GUID = advanced_alchemy.types.guid.GUID(length=16)
STAMP = advanced_alchemy.types.datetime.DateTimeUTC(timezone=True)


def upgrade() -> None:
    op.create_table(
        "webhook_endpoint",
        sa.Column("id", GUID, nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("events", sa.String(length=200), nullable=False),
        sa.Column("secret", sa.String(length=200), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("tenant_id", GUID, nullable=False),
        sa.Column("sa_orm_sentinel", sa.Integer(), nullable=True),
        sa.Column("created_at", STAMP, nullable=False),
        sa.Column("updated_at", STAMP, nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenant.id"], name=op.f("fk_webhook_endpoint_tenant_id_tenant"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_endpoint")),
    )
    op.create_index(op.f("ix_webhook_endpoint_tenant_id"), "webhook_endpoint", ["tenant_id"])
    # Plain ADD COLUMN where SQLite allows it; the foreign key needs batch mode there (a table copy of the outbox,
    # which has no triggers of its own).
    with op.batch_alter_table("outbox_message") as batch:
        batch.add_column(sa.Column("webhook_id", GUID, nullable=True))
        batch.add_column(sa.Column("response_code", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            op.f("fk_outbox_message_webhook_id_webhook_endpoint"),
            "webhook_endpoint",
            ["webhook_id"],
            ["id"],
            ondelete="CASCADE",
        )
    op.create_index("ix_outbox_webhook", "outbox_message", ["webhook_id", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_outbox_webhook", table_name="outbox_message")
    with op.batch_alter_table("outbox_message") as batch:
        batch.drop_constraint(op.f("fk_outbox_message_webhook_id_webhook_endpoint"), type_="foreignkey")
        batch.drop_column("response_code")
        batch.drop_column("webhook_id")
    op.drop_index(op.f("ix_webhook_endpoint_tenant_id"), table_name="webhook_endpoint")
    op.drop_table("webhook_endpoint")
