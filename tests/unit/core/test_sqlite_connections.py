"""The embedded database's connections (backend/core/sqlite.py): one trip to the connection's thread per
statement, none for a short read or to end a session that only read, and the same results, counts and errors
as before."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import aiosqlite.core
import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine

from backend.core.db import alchemy_config
from backend.core.sqlite import SHORT_READ, OneTripConnection
from backend.settings import Settings


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    settings = Settings(env="development", database_url=f"sqlite+aiosqlite:///{tmp_path / 'x.db'}", data_dir=tmp_path)
    engine = alchemy_config(settings).get_engine()
    async with engine.begin() as connection:
        await connection.execute(text("CREATE TABLE item (id INTEGER PRIMARY KEY, name TEXT UNIQUE NOT NULL)"))
    yield engine
    await engine.dispose()


@pytest.fixture
def trips(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every call aiosqlite runs on a connection's thread."""
    made: list[str] = []
    original = aiosqlite.core.Connection._execute

    async def counted(self: aiosqlite.core.Connection, fn, *args, **kwargs):  # type: ignore[no-untyped-def]
        made.append(getattr(fn, "__name__", repr(fn)))
        return await original(self, fn, *args, **kwargs)

    monkeypatch.setattr(aiosqlite.core.Connection, "_execute", counted)
    return made


async def test_the_engine_uses_the_one_trip_connections(engine: AsyncEngine) -> None:
    async with engine.connect() as connection:
        raw = await connection.get_raw_connection()
        assert isinstance(raw.dbapi_connection, OneTripConnection)


async def test_a_read_is_one_trip_and_ending_it_is_none(engine: AsyncEngine, trips: list[str]) -> None:
    async with engine.begin() as connection:
        await connection.execute(text("INSERT INTO item (name) VALUES ('a'), ('b'), ('c')"))
    trips.clear()
    async with engine.connect() as connection:
        rows = (await connection.execute(text("SELECT name FROM item ORDER BY id"))).all()
        assert [r.name for r in rows] == ["a", "b", "c"]
        assert len(trips) == 1
        one = (await connection.execute(text("SELECT name FROM item WHERE name = 'z'"))).first()
        assert one is None
    # The connection's rollback and the pool's reset found no transaction: no trip.
    assert len(trips) == 2


async def test_writes_report_their_counts_and_commit_or_roll_back(engine: AsyncEngine, trips: list[str]) -> None:
    async with engine.begin() as connection:
        inserted = await connection.execute(text("INSERT INTO item (name) VALUES ('a')"))
        assert inserted.lastrowid == 1
        assert inserted.rowcount == 1
        many = await connection.execute(text("INSERT INTO item (name) VALUES (:name)"), [{"name": "b"}, {"name": "c"}])
        assert many.rowcount == 2
        returned = (await connection.execute(text("INSERT INTO item (name) VALUES ('d') RETURNING id"))).scalar()
        assert returned == 4
        updated = await connection.execute(text("UPDATE item SET name = name || '!' WHERE id > 2"))
        assert updated.rowcount == 2
    assert trips.count("commit") == 1

    async with engine.connect() as connection:
        await connection.execute(text("DELETE FROM item"))
        await connection.rollback()
    assert trips.count("rollback") == 1
    async with engine.connect() as connection:
        names = (await connection.execute(text("SELECT name FROM item ORDER BY id"))).scalars().all()
    assert names == ["a", "b", "c!", "d!"]


async def test_errors_are_the_database_errors(engine: AsyncEngine) -> None:
    async with engine.begin() as connection:
        await connection.execute(text("INSERT INTO item (name) VALUES ('a')"))
    with pytest.raises(IntegrityError):
        async with engine.begin() as connection:
            await connection.execute(text("INSERT INTO item (name) VALUES ('a')"))
    with pytest.raises(IntegrityError):
        async with engine.begin() as connection:
            await connection.execute(text("INSERT INTO item (name) VALUES (:name)"), [{"name": "b"}, {"name": "a"}])
    async with engine.connect() as connection:
        # The failed transactions left nothing behind, and the connections still work.
        assert (await connection.execute(text("SELECT count(*) FROM item"))).scalar() == 1


async def test_a_short_read_makes_no_trip_and_a_write_always_does(engine: AsyncEngine, trips: list[str]) -> None:
    async with engine.begin() as connection:
        await connection.execute(text("INSERT INTO item (name) VALUES ('a'), ('b')"))
    trips.clear()
    short = text("SELECT name FROM item WHERE id = :id").execution_options(**SHORT_READ)
    async with engine.connect() as connection:
        assert (await connection.execute(short, {"id": 2})).scalar() == "b"
        assert (await connection.execute(short, {"id": 3})).first() is None
        with pytest.raises(OperationalError):
            await connection.execute(text("SELECT nothing FROM item").execution_options(**SHORT_READ))
    assert trips == []

    # Marked or not, a write runs on the connection's thread: it may wait for another connection's lock.
    async with engine.begin() as connection:
        marked = await connection.execute(
            text("UPDATE item SET name = 'c' WHERE id = 2").execution_options(**SHORT_READ)
        )
        assert marked.rowcount == 1
        # A read inside the writing transaction sees its write, without a trip.
        assert (await connection.execute(short, {"id": 2})).scalar() == "c"
    assert trips == ["run", "commit"]
