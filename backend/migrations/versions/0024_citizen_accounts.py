"""citizen accounts: sign-in codes by e-mail, citizen sessions, and the account a case belongs to

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-06
"""

from __future__ import annotations

import advanced_alchemy.types
import sqlalchemy as sa
from alembic import op

revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None

GUID = advanced_alchemy.types.guid.GUID(length=16)
STAMP = advanced_alchemy.types.datetime.DateTimeUTC(timezone=True)


def _owned(table: str) -> list[sa.SchemaItem]:
    """The columns and constraints every tenant-owned table has."""
    return [
        sa.Column("tenant_id", GUID, nullable=False),
        sa.Column("sa_orm_sentinel", sa.Integer(), nullable=True),
        sa.Column("created_at", STAMP, nullable=False),
        sa.Column("updated_at", STAMP, nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenant.id"], name=op.f(f"fk_{table}_tenant_id_tenant"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{table}")),
    ]


def upgrade() -> None:
    op.create_table(
        "citizen_account",
        sa.Column("id", GUID, nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("verified_at", STAMP, nullable=False),
        *_owned("citizen_account"),
        sa.UniqueConstraint("tenant_id", "email", name="uq_citizen_account_email"),
    )
    op.create_index(op.f("ix_citizen_account_tenant_id"), "citizen_account", ["tenant_id"])
    op.create_table(
        "citizen_sign_in_code",
        sa.Column("id", GUID, nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("browser_hash", sa.String(length=64), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("expires_at", STAMP, nullable=False),
        sa.Column("tries", sa.Integer(), nullable=False),
        sa.Column("used_at", STAMP, nullable=True),
        *_owned("citizen_sign_in_code"),
        sa.UniqueConstraint("browser_hash", name=op.f("uq_citizen_sign_in_code_browser_hash")),
    )
    op.create_index(op.f("ix_citizen_sign_in_code_tenant_id"), "citizen_sign_in_code", ["tenant_id"])
    op.create_index(op.f("ix_citizen_sign_in_code_email"), "citizen_sign_in_code", ["email"])
    op.create_table(
        "citizen_session",
        sa.Column("id", GUID, nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("account_id", GUID, nullable=False),
        sa.Column("expires_at", STAMP, nullable=False),
        *_owned("citizen_session"),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["citizen_account.id"],
            name=op.f("fk_citizen_session_account_id_citizen_account"),
            ondelete="CASCADE",
        ),
        sa.UniqueConstraint("key_hash", name=op.f("uq_citizen_session_key_hash")),
    )
    op.create_index(op.f("ix_citizen_session_tenant_id"), "citizen_session", ["tenant_id"])
    op.create_index(op.f("ix_citizen_session_account_id"), "citizen_session", ["account_id"])
    # SQLite: plain ADD COLUMN without the foreign key (see 0017: a batch rebuild would drop case_file's
    # search triggers); the application sets the column to NULL itself when an account is deleted.
    postgres = op.get_bind().dialect.name == "postgresql"
    account = [sa.ForeignKey("citizen_account.id", name="fk_case_file_account_id_citizen_account", ondelete="SET NULL")]
    op.add_column("case_file", sa.Column("account_id", GUID, *(account if postgres else []), nullable=True))
    op.create_index("ix_case_file_tenant_account", "case_file", ["tenant_id", "account_id"])


def downgrade() -> None:
    op.drop_index("ix_case_file_tenant_account", table_name="case_file")
    # SQLite (3.35+) drops columns without rebuilding the table, so the search triggers stay.
    if op.get_bind().dialect.name == "postgresql":
        op.drop_constraint("fk_case_file_account_id_citizen_account", "case_file", type_="foreignkey")
    op.drop_column("case_file", "account_id")
    for table, indexes in (
        ("citizen_session", ("account_id", "tenant_id")),
        ("citizen_sign_in_code", ("email", "tenant_id")),
        ("citizen_account", ("tenant_id",)),
    ):
        for column in indexes:
            op.drop_index(op.f(f"ix_{table}_{column}"), table_name=table)
        op.drop_table(table)
