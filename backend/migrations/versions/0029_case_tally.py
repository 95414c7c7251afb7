"""case tally: running counts per department, service and status, kept by triggers (backend/cases/tally.py)

Per group: the cases, those with a reply no clerk has seen, those with a deadline, and those with both.

Revision ID: 0029
Revises: 0028
Create Date: 2026-12-06
"""

from __future__ import annotations

import advanced_alchemy.types
import sqlalchemy as sa
from alembic import op

revision = "0029"
down_revision = "0028"
branch_labels = None
depends_on = None

GUID = advanced_alchemy.types.guid.GUID(length=16)

# A change that moves a case between groups: its old group loses it, its new group gains it.
_CHANGED = (
    "OLD.tenant_id IS DISTINCT FROM NEW.tenant_id OR OLD.department_id IS DISTINCT FROM NEW.department_id"
    " OR OLD.service_id IS DISTINCT FROM NEW.service_id OR OLD.status IS DISTINCT FROM NEW.status"
    " OR (OLD.citizen_replied_at IS NULL) <> (NEW.citizen_replied_at IS NULL)"
    " OR (OLD.due_at IS NULL) <> (NEW.due_at IS NULL)"
)
_COLUMNS = "tenant_id, department_id, service_id, status, cases, replied, dated, dated_replied"


def _row(ref: str, sign: str) -> str:
    return (
        f"INSERT INTO case_tally ({_COLUMNS}) VALUES ({ref}.tenant_id, {ref}.department_id, {ref}.service_id,"
        f" {ref}.status, {sign}1, {sign}(CASE WHEN {ref}.citizen_replied_at IS NULL THEN 0 ELSE 1 END),"
        f" {sign}(CASE WHEN {ref}.due_at IS NULL THEN 0 ELSE 1 END),"
        f" {sign}(CASE WHEN {ref}.due_at IS NULL OR {ref}.citizen_replied_at IS NULL THEN 0 ELSE 1 END));"
    )


_POSTGRES = (
    f"""
    CREATE FUNCTION case_tally_count() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP <> 'INSERT' THEN {_row("OLD", "-")} END IF;
        IF TG_OP <> 'DELETE' THEN {_row("NEW", "")} END IF;
        RETURN NULL;
    END $$
    """,
    "CREATE TRIGGER case_tally_insert_delete AFTER INSERT OR DELETE ON case_file"
    " FOR EACH ROW EXECUTE FUNCTION case_tally_count()",
    f"CREATE TRIGGER case_tally_update AFTER UPDATE ON case_file FOR EACH ROW WHEN ({_CHANGED})"
    " EXECUTE FUNCTION case_tally_count()",
)
_SQLITE = (
    f"CREATE TRIGGER case_tally_insert AFTER INSERT ON case_file BEGIN {_row('NEW', '')} END",
    f"CREATE TRIGGER case_tally_delete AFTER DELETE ON case_file BEGIN {_row('OLD', '-')} END",
    # SQLite's "IS NOT" compares as PostgreSQL's "IS DISTINCT FROM" (NULL is one value).
    f"CREATE TRIGGER case_tally_update AFTER UPDATE ON case_file"
    f" WHEN ({_CHANGED.replace('IS DISTINCT FROM', 'IS NOT')}) BEGIN {_row('OLD', '-')} {_row('NEW', '')} END",
)


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    op.create_table(
        "case_tally",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("tenant_id", GUID, nullable=False),
        sa.Column("department_id", GUID, nullable=True),
        sa.Column("service_id", GUID, nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("cases", sa.Integer(), nullable=False),
        sa.Column("replied", sa.Integer(), nullable=False),
        sa.Column("dated", sa.Integer(), nullable=False),
        sa.Column("dated_replied", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_tally")),
    )
    op.create_index("ix_case_tally_tenant_status", "case_tally", ["tenant_id", "status"])
    # The triggers first, then the counts of the cases there are: on PostgreSQL creating a trigger holds
    # back writes to case_file until this migration commits, so no change falls between the two.
    for statement in _POSTGRES if postgres else _SQLITE:
        op.execute(statement)
    op.execute(
        f"INSERT INTO case_tally ({_COLUMNS}) SELECT tenant_id, department_id, service_id, status, count(*),"
        " count(citizen_replied_at), count(due_at),"
        " sum(CASE WHEN due_at IS NULL OR citizen_replied_at IS NULL THEN 0 ELSE 1 END)"
        " FROM case_file GROUP BY tenant_id, department_id, service_id, status"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER case_tally_update ON case_file")
        op.execute("DROP TRIGGER case_tally_insert_delete ON case_file")
        op.execute("DROP FUNCTION case_tally_count()")
    else:
        for name in ("case_tally_insert", "case_tally_delete", "case_tally_update"):
            op.execute(f"DROP TRIGGER {name}")
    op.drop_index("ix_case_tally_tenant_status", table_name="case_tally")
    op.drop_table("case_tally")
