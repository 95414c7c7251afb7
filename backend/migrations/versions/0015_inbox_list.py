"""inbox list: a case's summary, search text and last activity; keyset and search indexes

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-01
"""

from __future__ import annotations

from typing import Any

import advanced_alchemy.types
import sqlalchemy as sa
from alembic import op

from backend.cases import search

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

_UTC = advanced_alchemy.types.datetime.DateTimeUTC(timezone=True)
_cases = sa.table(
    "case_file",
    sa.column("id", advanced_alchemy.types.GUID()),
    sa.column("reference", sa.String()),
    sa.column("form_version_id", advanced_alchemy.types.GUID()),
    sa.column("answers", advanced_alchemy.types.JsonB),
    sa.column("location", advanced_alchemy.types.JsonB),
    sa.column("summary", sa.String()),
    sa.column("search_text", sa.Text()),
)
_forms = sa.table(
    "form_version",
    sa.column("id", advanced_alchemy.types.GUID()),
    sa.column("definition", advanced_alchemy.types.JsonB),
)
_events = sa.table(
    "case_event",
    sa.column("case_id", advanced_alchemy.types.GUID()),
    sa.column("body", sa.Text()),
    sa.column("created_at", _UTC),
)

# SQLite: an FTS5 index over case_file.search_text (external content: the text is stored once, in
# case_file). The triggers keep it in step with every write. A later batch migration that recreates
# case_file drops these triggers with the old table: it must create them again and rebuild the index.
_SQLITE_SEARCH = (
    "CREATE VIRTUAL TABLE case_search USING fts5(search_text, content='case_file', tokenize='trigram')",
    "CREATE TRIGGER case_search_insert AFTER INSERT ON case_file BEGIN "
    "INSERT INTO case_search(rowid, search_text) VALUES (new.rowid, new.search_text); END",
    "CREATE TRIGGER case_search_delete AFTER DELETE ON case_file BEGIN "
    "INSERT INTO case_search(case_search, rowid, search_text) VALUES ('delete', old.rowid, old.search_text); END",
    "CREATE TRIGGER case_search_update AFTER UPDATE OF search_text ON case_file BEGIN "
    "INSERT INTO case_search(case_search, rowid, search_text) VALUES ('delete', old.rowid, old.search_text); "
    "INSERT INTO case_search(rowid, search_text) VALUES (new.rowid, new.search_text); END",
    "INSERT INTO case_search(case_search) VALUES ('rebuild')",
)
# PostgreSQL: trigram GIN for parts of words, full-text GIN (German) for words; tenant_id leads both
# (btree_gin), so a search reads one municipality's entries only.
_POSTGRES_SEARCH = (
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    "CREATE EXTENSION IF NOT EXISTS btree_gin",
    "CREATE INDEX ix_case_file_search_trgm ON case_file USING gin (tenant_id, search_text gin_trgm_ops)",
    "CREATE INDEX ix_case_file_search_fts ON case_file USING gin (tenant_id, to_tsvector('german', search_text))",
)


def _fill(bind: sa.Connection) -> None:
    """Summary and search text of the existing cases, by the same rules as new ones (cases.search)."""
    forms: dict[Any, list[tuple[str, str]]] = {}
    for form_id, definition in bind.execute(sa.select(_forms.c.id, _forms.c.definition)):
        fields = (definition or {}).get("fields", [])
        forms[form_id] = [(str(f.get("name", "")), str(f.get("type", ""))) for f in fields]
    messages: dict[Any, list[str]] = {}
    bodies = sa.select(_events.c.case_id, _events.c.body).where(_events.c.body != "").order_by(_events.c.created_at)
    for case_id, body in bind.execute(bodies):
        messages.setdefault(case_id, []).append(body)
    rows = bind.execute(
        sa.select(_cases.c.id, _cases.c.reference, _cases.c.form_version_id, _cases.c.answers, _cases.c.location)
    ).all()
    for case_id, reference, form_id, answers, location in rows:
        fields, said = forms.get(form_id, []), messages.get(case_id, [])
        bind.execute(
            _cases.update()
            .where(_cases.c.id == case_id)
            .values(
                summary=search.summary_of(fields, answers or {}, location),
                search_text=search.search_text_of(reference, fields, answers or {}, location, said),
            )
        )


def upgrade() -> None:
    bind = op.get_bind()
    with op.batch_alter_table("case_file") as batch:
        batch.add_column(sa.Column("summary", sa.String(200), server_default="", nullable=False))
        batch.add_column(sa.Column("search_text", sa.Text(), server_default="", nullable=False))
        batch.add_column(sa.Column("last_activity_at", _UTC, nullable=True))
    # The last activity of an existing case: its latest timeline entry (or its submission).
    op.execute(
        "UPDATE case_file SET last_activity_at = COALESCE("
        "(SELECT MAX(case_event.created_at) FROM case_event WHERE case_event.case_id = case_file.id), created_at)"
    )
    _fill(bind)
    with op.batch_alter_table("case_file") as batch:
        batch.alter_column("last_activity_at", existing_type=_UTC, nullable=False)
        batch.drop_index("ix_case_file_tenant_created")
        batch.drop_index("ix_case_file_tenant_due")
        batch.create_index("ix_case_file_tenant_created_id", ["tenant_id", "created_at", "id"])
        batch.create_index("ix_case_file_tenant_status_created_id", ["tenant_id", "status", "created_at", "id"])
        batch.create_index("ix_case_file_tenant_due_id", ["tenant_id", "due_at", "id"])
        batch.create_index("ix_case_file_tenant_activity_id", ["tenant_id", "last_activity_at", "id"])
    for statement in _POSTGRES_SEARCH if bind.dialect.name == "postgresql" else _SQLITE_SEARCH:
        op.execute(statement)


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        op.execute("DROP INDEX ix_case_file_search_fts")
        op.execute("DROP INDEX ix_case_file_search_trgm")
    else:
        for name in ("insert", "delete", "update"):
            op.execute(f"DROP TRIGGER case_search_{name}")
        op.execute("DROP TABLE case_search")
    with op.batch_alter_table("case_file") as batch:
        batch.drop_index("ix_case_file_tenant_activity_id")
        batch.drop_index("ix_case_file_tenant_due_id")
        batch.drop_index("ix_case_file_tenant_status_created_id")
        batch.drop_index("ix_case_file_tenant_created_id")
        batch.create_index("ix_case_file_tenant_created", ["tenant_id", "created_at"])
        batch.create_index("ix_case_file_tenant_due", ["tenant_id", "due_at"])
        batch.drop_column("last_activity_at")
        batch.drop_column("search_text")
        batch.drop_column("summary")
