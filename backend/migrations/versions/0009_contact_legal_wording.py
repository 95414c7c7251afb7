"""contact details, legal pages and wording overrides per municipality

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01
"""

from __future__ import annotations

import advanced_alchemy.types
import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def _owned(name: str, *columns: sa.Column, unique: tuple[str, list[str]]) -> None:  # type: ignore[type-arg]
    op.create_table(
        name,
        *columns,
        sa.Column("id", advanced_alchemy.types.guid.GUID(length=16), nullable=False),
        sa.Column("sa_orm_sentinel", sa.Integer(), nullable=True),
        sa.Column("created_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
        sa.Column("updated_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
        sa.Column("tenant_id", advanced_alchemy.types.guid.GUID(length=16), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenant.id"], name=op.f(f"fk_{name}_tenant_id_tenant"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{name}")),
        sa.UniqueConstraint(*unique[1], name=unique[0]),
    )
    op.create_index(op.f(f"ix_{name}_tenant_id"), name, ["tenant_id"])


def upgrade() -> None:
    with op.batch_alter_table("tenant") as batch:
        batch.add_column(sa.Column("contact", advanced_alchemy.types.JsonB, nullable=True))
    _owned(
        "legal_text",
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        unique=("uq_legal_text_kind_language", ["tenant_id", "kind", "language"]),
    )
    _owned(
        "text_override",
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("msgid", sa.Text(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        unique=("uq_text_override_msgid", ["tenant_id", "language", "msgid"]),
    )


def downgrade() -> None:
    for name in ("text_override", "legal_text"):
        op.drop_index(op.f(f"ix_{name}_tenant_id"), table_name=name)
        op.drop_table(name)
    with op.batch_alter_table("tenant") as batch:
        batch.drop_column("contact")
