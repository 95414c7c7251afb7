"""search vector: the German full-text form of a case's search text kept in a column (PostgreSQL only)

Revision ID: 0030
Revises: 0029
Create Date: 2026-12-06

The inbox's search pages through a town's cases in the list's order and tests each against the search; computing
to_tsvector for every case it passes cost most of a search's time. The column is computed when a case is
written. Adding it rewrites case_file once (about a minute and a half for a million cases), during which the
table is locked. SQLite searches its FTS5 table (migration 0015) and is not changed.
"""

from __future__ import annotations

from alembic import op

revision = "0030"
down_revision = "0029"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(
        "ALTER TABLE case_file ADD COLUMN search_vector tsvector"
        " GENERATED ALWAYS AS (to_tsvector('german', search_text)) STORED"
    )
    op.execute("DROP INDEX ix_case_file_search_fts")
    op.execute("CREATE INDEX ix_case_file_search_vector ON case_file USING gin (tenant_id, search_vector)")
    # The rewritten table has no visibility map: until it is vacuumed, the inbox's counts read from indexes alone
    # visit every row (ten times slower), and autovacuum does not come for a rewrite.
    with op.get_context().autocommit_block():
        op.execute("VACUUM (ANALYZE) case_file")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP INDEX ix_case_file_search_vector")
    op.execute("ALTER TABLE case_file DROP COLUMN search_vector")
    op.execute(
        "CREATE INDEX ix_case_file_search_fts ON case_file USING gin (tenant_id, to_tsvector('german', search_text))"
    )
