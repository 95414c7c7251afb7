"""news: announcements, device subscriptions to their categories, outbox rows about an announcement

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-01
"""

from __future__ import annotations

import advanced_alchemy.types
import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

GUID = advanced_alchemy.types.guid.GUID(length=16)
WHEN = advanced_alchemy.types.datetime.DateTimeUTC(timezone=True)


def _common(table: str) -> list[sa.SchemaItem]:
    return [
        sa.Column("tenant_id", GUID, nullable=False),
        sa.Column("sa_orm_sentinel", sa.Integer(), nullable=True),
        sa.Column("created_at", WHEN, nullable=False),
        sa.Column("updated_at", WHEN, nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenant.id"], name=f"fk_{table}_tenant_id_tenant", ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=f"pk_{table}"),
    ]


def upgrade() -> None:
    op.create_table(
        "news_item",
        sa.Column("id", GUID, nullable=False),
        sa.Column("title", sa.String(length=120), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("link", sa.String(length=500), nullable=True),
        sa.Column("category", sa.String(length=16), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("valid_from", WHEN, nullable=False),
        sa.Column("valid_until", WHEN, nullable=True),
        sa.Column("push_round", sa.Integer(), nullable=False),
        sa.Column("pushed_round", sa.Integer(), nullable=False),
        *_common("news_item"),
    )
    with op.batch_alter_table("news_item") as batch:
        batch.create_index("ix_news_item_tenant_id", ["tenant_id"], unique=False)
        batch.create_index("ix_news_item_tenant_valid", ["tenant_id", "valid_from"], unique=False)

    op.create_table(
        "news_subscription",
        sa.Column("id", GUID, nullable=False),
        sa.Column("subscription_id", GUID, nullable=False),
        sa.Column("category", sa.String(length=16), nullable=False),
        *_common("news_subscription"),
        sa.ForeignKeyConstraint(
            ["subscription_id"],
            ["push_subscription.id"],
            name="fk_news_subscription_subscription_id_push_subscription",
            ondelete="CASCADE",
        ),
        sa.UniqueConstraint("subscription_id", "category", name="uq_news_subscription"),
    )
    with op.batch_alter_table("news_subscription") as batch:
        batch.create_index("ix_news_subscription_tenant_id", ["tenant_id"], unique=False)
        batch.create_index("ix_news_subscription_subscription_id", ["subscription_id"], unique=False)

    with op.batch_alter_table("outbox_message") as batch:
        batch.alter_column("case_id", existing_type=GUID, nullable=True)
        batch.add_column(sa.Column("news_id", GUID, nullable=True))
        batch.add_column(sa.Column("dedup_key", sa.String(length=120), nullable=True))
        batch.create_foreign_key(
            "fk_outbox_message_news_id_news_item", "news_item", ["news_id"], ["id"], ondelete="CASCADE"
        )
        batch.create_index("ix_outbox_message_news_id", ["news_id"], unique=False)
        batch.create_unique_constraint("uq_outbox_message_dedup_key", ["dedup_key"])


def downgrade() -> None:
    op.execute("DELETE FROM outbox_message WHERE case_id IS NULL")
    with op.batch_alter_table("outbox_message") as batch:
        batch.drop_constraint("uq_outbox_message_dedup_key", type_="unique")
        batch.drop_index("ix_outbox_message_news_id")
        batch.drop_constraint("fk_outbox_message_news_id_news_item", type_="foreignkey")
        batch.drop_column("dedup_key")
        batch.drop_column("news_id")
        batch.alter_column("case_id", existing_type=GUID, nullable=False)
    op.drop_table("news_subscription")
    op.drop_table("news_item")
