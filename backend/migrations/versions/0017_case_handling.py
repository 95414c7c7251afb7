"""case handling: a case's department, assignee, priority and version; details of handling entries

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-08
"""

from __future__ import annotations

import advanced_alchemy.types
import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

GUID = advanced_alchemy.types.GUID()


def _columns(postgres: bool) -> list[sa.Column[object]]:
    # SQLite: plain ADD COLUMN (no foreign keys there), which leaves case_file - and the FTS5 triggers of
    # case_search on it (see 0015) - as they are; a batch rebuild of the table would drop those triggers.
    department = [sa.ForeignKey("department.id", name="fk_case_file_department_id_department", ondelete="SET NULL")]
    assignee = [sa.ForeignKey("user_account.id", name="fk_case_file_assignee_id_user_account", ondelete="SET NULL")]
    return [
        sa.Column("department_id", GUID, *(department if postgres else []), nullable=True),
        sa.Column("assignee_id", GUID, *(assignee if postgres else []), nullable=True),
        sa.Column("priority", sa.String(16), server_default="normal", nullable=False),
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
    ]


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    for column in _columns(postgres):
        op.add_column("case_file", column)
    op.add_column("case_event", sa.Column("detail", advanced_alchemy.types.JsonB, nullable=True))
    # Existing cases are handled by the department their service is routed to now.
    op.execute(
        "UPDATE case_file SET department_id = "
        "(SELECT service.department_id FROM service WHERE service.id = case_file.service_id)"
    )
    op.create_index("ix_case_file_tenant_assignee", "case_file", ["tenant_id", "assignee_id"])
    op.create_index("ix_case_file_tenant_department_status", "case_file", ["tenant_id", "department_id", "status"])


def downgrade() -> None:
    op.drop_index("ix_case_file_tenant_department_status", table_name="case_file")
    op.drop_index("ix_case_file_tenant_assignee", table_name="case_file")
    op.drop_column("case_event", "detail")
    # SQLite (3.35+) drops columns without rebuilding the table, so the search triggers stay.
    if op.get_bind().dialect.name == "postgresql":
        op.drop_constraint("fk_case_file_assignee_id_user_account", "case_file", type_="foreignkey")
        op.drop_constraint("fk_case_file_department_id_department", "case_file", type_="foreignkey")
    for name in ("version", "priority", "assignee_id", "department_id"):
        op.drop_column("case_file", name)
