"""insert_or_skip (backend/core/db.py): INSERT ... ON CONFLICT DO NOTHING, on both databases, compiled once.

SQLAlchemy compiles its own ON CONFLICT constructs anew at every execution; this one is cached like a plain INSERT.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, event, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine.interfaces import CacheStats
from sqlalchemy.ext.asyncio import create_async_engine

from backend.core.db import insert_or_skip
from backend.settings import Settings

things = Table(
    f"test_insert_or_skip_{uuid.uuid4().hex[:8]}",
    MetaData(),
    Column("id", Integer, primary_key=True),
    Column("code", String(20), unique=True),
    Column("note", String(50), default="kept"),
)


@pytest.mark.parametrize("dialect", [postgresql.dialect(), sqlite.dialect()], ids=["postgresql", "sqlite"])
def test_the_statement_says_what_conflicts(dialect: Any) -> None:
    sql = str(insert_or_skip(things, "code").compile(dialect=dialect))
    assert sql.startswith(f"INSERT INTO {things.name} (id, code, note) VALUES")
    assert sql.endswith("ON CONFLICT (code) DO NOTHING")


def test_one_cache_entry_per_conflict_target() -> None:
    by_id, by_code = insert_or_skip(things, "id"), insert_or_skip(things, "code")
    assert by_id._generate_cache_key() == insert_or_skip(things, "id")._generate_cache_key()
    assert by_id._generate_cache_key() != by_code._generate_cache_key()
    assert by_id.values(code="a")._generate_cache_key() is not None


def test_returning_is_refused() -> None:
    with pytest.raises(NotImplementedError):
        str(insert_or_skip(things, "id").returning(things.c.id).compile(dialect=postgresql.dialect()))


async def test_a_second_row_with_the_same_key_is_skipped_and_the_statement_is_compiled_once(settings: Settings) -> None:
    engine = create_async_engine(settings.database_url)
    stats: list[CacheStats] = []

    @event.listens_for(engine.sync_engine, "after_cursor_execute")
    def seen(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
        if statement.startswith(f"INSERT INTO {things.name}"):
            stats.append(context.cache_hit)

    try:
        async with engine.begin() as conn:
            await conn.run_sync(things.create)
        async with engine.begin() as conn:
            for n, code in enumerate(["a", "b", "a", "a"]):
                await conn.execute(insert_or_skip(things, "code").values(id=n, code=code))
            rows = (await conn.execute(select(things.c.code, func.count()).group_by(things.c.code))).all()
            assert sorted(rows) == [("a", 1), ("b", 1)]
            assert (await conn.scalar(select(things.c.note).where(things.c.code == "a"))) == "kept"
        # The first execution compiled it (unless an earlier test did); SQLAlchemy's own construct has no key at all.
        assert stats[1:] == [CacheStats.CACHE_HIT] * 3
    finally:
        async with engine.begin() as conn:
            await conn.run_sync(things.drop)
        await engine.dispose()
