"""row-level security: on PostgreSQL every table of a municipality's data shows and takes only the rows of the
municipality the transaction names, a second wall behind the application's own tenant filter

Revision ID: 0033
Revises: 0032
Create Date: 2026-12-06
"""

from __future__ import annotations

from alembic import op

revision = "0033"
down_revision = "0032"
branch_labels = None
depends_on = None

POLICY = "tenant_wall"
# The setting each session of the app sets when it begins (backend/core/db.py): a municipality's id, or "*" for
# the jobs that span municipalities. Unset or empty: no row at all. FORCE makes the policy hold for the tables'
# owner (the role the app runs as) too; only a superuser or a role with BYPASSRLS passes it.
RULE = (
    "tenant_id = NULLIF(NULLIF(current_setting('rathaus.tenant', true), ''), '*')::uuid"
    " OR current_setting('rathaus.tenant', true) = '*'"
)


def _tables() -> list[str]:
    """Every table with a municipality column: those that exist when this runs (later ones in their own
    migration; tests/integration/core/test_row_level_security.py fails for a table without the wall)."""
    rows = op.get_bind().exec_driver_sql(
        "SELECT c.table_name FROM information_schema.columns c JOIN information_schema.tables t"
        " ON t.table_schema = c.table_schema AND t.table_name = c.table_name"
        " WHERE c.column_name = 'tenant_id' AND c.table_schema = current_schema() AND t.table_type = 'BASE TABLE'"
        " ORDER BY 1"
    )
    return [r[0] for r in rows]


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in _tables():
        op.execute(f'ALTER TABLE "{table}" ENABLE ROW LEVEL SECURITY')
        op.execute(f'ALTER TABLE "{table}" FORCE ROW LEVEL SECURITY')
        op.execute(f'CREATE POLICY {POLICY} ON "{table}" USING ({RULE}) WITH CHECK ({RULE})')


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in _tables():
        op.execute(f'DROP POLICY IF EXISTS {POLICY} ON "{table}"')
        op.execute(f'ALTER TABLE "{table}" NO FORCE ROW LEVEL SECURITY')
        op.execute(f'ALTER TABLE "{table}" DISABLE ROW LEVEL SECURITY')
