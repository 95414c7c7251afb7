"""citizen passkeys: an account may sign in with a passkey (WebAuthn) as well as with a code by e-mail

Revision ID: 0032
Revises: 0031
Create Date: 2026-12-06
"""

from __future__ import annotations

import advanced_alchemy.types
import sqlalchemy as sa
from alembic import op

revision = "0032"
down_revision = "0031"
branch_labels = None
depends_on = None

GUID = advanced_alchemy.types.guid.GUID(length=16)
STAMP = advanced_alchemy.types.datetime.DateTimeUTC(timezone=True)


def _owned(table: str) -> list[sa.SchemaItem]:
    """The columns and constraints every tenant-owned table has, and the link to the account."""
    return [
        sa.Column("tenant_id", GUID, nullable=False),
        sa.Column("sa_orm_sentinel", sa.Integer(), nullable=True),
        sa.Column("created_at", STAMP, nullable=False),
        sa.Column("updated_at", STAMP, nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenant.id"], name=op.f(f"fk_{table}_tenant_id_tenant"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["citizen_account.id"],
            name=op.f(f"fk_{table}_account_id_citizen_account"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{table}")),
    ]


def upgrade() -> None:
    op.create_table(
        "citizen_passkey",
        sa.Column("id", GUID, nullable=False),
        sa.Column("account_id", GUID, nullable=False),
        sa.Column("credential_id", sa.String(length=1400), nullable=False),
        sa.Column("public_key", sa.LargeBinary(), nullable=False),
        sa.Column("sign_count", sa.BigInteger(), nullable=False),
        sa.Column("rp_id", sa.String(length=253), nullable=False),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("last_used_at", STAMP, nullable=True),
        *_owned("citizen_passkey"),
        sa.UniqueConstraint("tenant_id", "credential_id", name="uq_citizen_passkey_credential"),
    )
    op.create_index(op.f("ix_citizen_passkey_tenant_id"), "citizen_passkey", ["tenant_id"])
    op.create_index(op.f("ix_citizen_passkey_account_id"), "citizen_passkey", ["account_id"])
    op.create_table(
        "passkey_challenge",
        sa.Column("id", GUID, nullable=False),
        sa.Column("challenge", sa.String(length=64), nullable=False),
        sa.Column("account_id", GUID, nullable=True),
        sa.Column("expires_at", STAMP, nullable=False),
        *_owned("passkey_challenge"),
        sa.UniqueConstraint("challenge", name=op.f("uq_passkey_challenge_challenge")),
    )
    op.create_index(op.f("ix_passkey_challenge_tenant_id"), "passkey_challenge", ["tenant_id"])
    op.create_index(op.f("ix_passkey_challenge_expires_at"), "passkey_challenge", ["expires_at"])


def downgrade() -> None:
    op.drop_table("passkey_challenge")
    op.drop_table("citizen_passkey")
