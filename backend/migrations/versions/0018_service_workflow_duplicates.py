"""service workflows and duplicate cases: a service's workflow as data, a case's main case

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-10
"""

from __future__ import annotations

import advanced_alchemy.types
import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD COLUMNs (nullable): on SQLite a batch rebuild of case_file would drop its search triggers.
    # NULL workflow: the default workflow with the shared wording.
    op.add_column("service", sa.Column("workflow", advanced_alchemy.types.JsonB, nullable=True))
    op.add_column("case_file", sa.Column("duplicate_of_id", advanced_alchemy.types.guid.GUID(length=16), nullable=True))
    op.create_index("ix_case_file_duplicate_of", "case_file", ["duplicate_of_id"])
    if op.get_bind().dialect.name == "postgresql":
        # SQLite cannot add a constraint to an existing table without rebuilding it; the app keeps the link sound.
        op.create_foreign_key(
            "fk_case_file_duplicate_of_id_case_file",
            "case_file",
            "case_file",
            ["duplicate_of_id"],
            ["id"],
            ondelete="SET NULL",
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.drop_constraint("fk_case_file_duplicate_of_id_case_file", "case_file", type_="foreignkey")
    op.drop_index("ix_case_file_duplicate_of", table_name="case_file")
    op.drop_column("case_file", "duplicate_of_id")
    op.drop_column("service", "workflow")
