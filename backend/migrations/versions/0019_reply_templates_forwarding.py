"""reply templates and forwarding: a municipality's standard texts, and cases forwarded by private link

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-08
"""

from __future__ import annotations

import advanced_alchemy.types
import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

GUID = advanced_alchemy.types.guid.GUID(length=16)
WHEN = advanced_alchemy.types.datetime.DateTimeUTC(timezone=True)
JSON = advanced_alchemy.types.JsonB


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
        "reply_template",
        sa.Column("id", GUID, nullable=False),
        sa.Column("title", sa.String(length=120), nullable=False),
        sa.Column("body", JSON, nullable=False),
        sa.Column("service_id", GUID, nullable=True),
        sa.Column("status", sa.String(length=32), nullable=True),
        sa.Column("position", sa.Integer(), nullable=False),
        *_common("reply_template"),
        sa.ForeignKeyConstraint(
            ["service_id"], ["service.id"], name="fk_reply_template_service_id_service", ondelete="CASCADE"
        ),
    )
    with op.batch_alter_table("reply_template") as batch:
        batch.create_index("ix_reply_template_tenant_id", ["tenant_id"], unique=False)
        batch.create_index("ix_reply_template_service_id", ["service_id"], unique=False)
        batch.create_index("ix_reply_template_tenant_position", ["tenant_id", "position"], unique=False)

    op.create_table(
        "case_forward",
        sa.Column("id", GUID, nullable=False),
        sa.Column("case_id", GUID, nullable=False),
        sa.Column("recipient_email", sa.String(length=254), nullable=False),
        sa.Column("recipient_name", sa.String(length=200), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("include_contact", sa.Boolean(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_by", GUID, nullable=True),
        sa.Column("expires_at", WHEN, nullable=False),
        sa.Column("answered_at", WHEN, nullable=True),
        sa.Column("revoked_at", WHEN, nullable=True),
        *_common("case_forward"),
        sa.ForeignKeyConstraint(
            ["case_id"], ["case_file.id"], name="fk_case_forward_case_id_case_file", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["created_by"], ["user_account.id"], name="fk_case_forward_created_by_user_account", ondelete="SET NULL"
        ),
        sa.UniqueConstraint("token_hash", name="uq_case_forward_token_hash"),
    )
    with op.batch_alter_table("case_forward") as batch:
        batch.create_index("ix_case_forward_tenant_id", ["tenant_id"], unique=False)
        batch.create_index("ix_case_forward_case_created", ["case_id", "created_at"], unique=False)


def downgrade() -> None:
    op.drop_table("case_forward")
    op.drop_table("reply_template")
