"""inbox counts: the indexes the per-status counts read alone (index-only scans on PostgreSQL)

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-06
"""

from __future__ import annotations

from alembic import op

revision = "0027"
down_revision = "0026"
branch_labels = None
depends_on = None

# PostgreSQL: the counts per status (and of replies) of a town's list, of one service's and of the overdue or
# due-soon cases are read from the index alone, without visiting the table's rows. SQLite gets the service's
# index without the included columns (it has no INCLUDE).
_REPLACED = (
    ("ix_case_file_tenant_status", ["tenant_id", "status"], ["citizen_replied_at"]),
    ("ix_case_file_tenant_due_id", ["tenant_id", "due_at", "id"], ["status", "citizen_replied_at"]),
)
_SERVICE = ("ix_case_file_tenant_service_status", ["tenant_id", "service_id", "status"], ["citizen_replied_at"])


def _postgres() -> bool:
    return op.get_bind().dialect.name == "postgresql"


def upgrade() -> None:
    if _postgres():
        for name, columns, included in _REPLACED:
            op.drop_index(name, table_name="case_file")
            op.create_index(name, "case_file", columns, postgresql_include=included)
    name, columns, included = _SERVICE
    op.create_index(name, "case_file", columns, postgresql_include=included)


def downgrade() -> None:
    op.drop_index(_SERVICE[0], table_name="case_file")
    if _postgres():
        for name, columns, _included in _REPLACED:
            op.drop_index(name, table_name="case_file")
            op.create_index(name, "case_file", columns)
