"""The embedded database's connections (backend/core/sqlite.py): one trip to the connection's thread per
statement, none for a short read or to end a session that only read, and the same results, counts and errors
as before."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiosqlite.core
import pytest
from sqlalchemy import event, text
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


# --- the write turn: one process's writers queue instead of polling in SQLite's busy handler -----------------


def _no_busy_wait(dbapi_connection: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA busy_timeout=0")
    cursor.close()


async def _write(engine: AsyncEngine, name: str, order: list[str], hold: float = 0.0) -> None:
    async with engine.begin() as connection:
        await connection.execute(text("INSERT INTO item (name) VALUES (:name)"), {"name": name})
        order.append(name)
        await asyncio.sleep(hold)  # the transaction stays open: the next writer must wait for its commit


async def test_many_writers_at_once_each_get_their_turn(engine: AsyncEngine) -> None:
    # Without SQLite's busy handler a writer that meets another's lock fails at once: only the turn lets all through.
    event.listen(engine.sync_engine, "connect", lambda dbapi_connection, _record: _no_busy_wait(dbapi_connection))
    await engine.dispose()
    # Connections are made beforehand: a new one sets WAL mode, which itself waits while another writes.
    warm = [await engine.connect() for _ in range(13)]
    for connection in warm:
        await connection.close()
    order: list[str] = []
    first = asyncio.create_task(_write(engine, "first", order, hold=0.3))
    await asyncio.sleep(0.05)  # the first holds the turn while the others come
    await asyncio.gather(first, *(_write(engine, f"w{n}", order) for n in range(12)))
    assert order[0] == "first"
    assert sorted(order[1:]) == sorted(f"w{n}" for n in range(12))
    async with engine.connect() as connection:
        assert (await connection.execute(text("SELECT count(*) FROM item"))).scalar() == 13


async def test_readers_do_not_wait_for_a_writer(engine: AsyncEngine) -> None:
    order: list[str] = []
    writer = asyncio.create_task(_write(engine, "a", order, hold=0.5))
    await asyncio.sleep(0.05)
    async with asyncio.timeout(0.3), engine.connect() as connection:
        assert (await connection.execute(text("SELECT count(*) FROM item"))).scalar() == 0  # not yet committed
    await writer


@pytest.mark.parametrize("end", ["rollback", "error", "close"])
async def test_the_turn_is_given_back_however_the_transaction_ends(engine: AsyncEngine, end: str) -> None:
    connection = await engine.connect()
    await connection.execute(text("INSERT INTO item (name) VALUES ('a')"))
    if end == "rollback":
        await connection.rollback()
    elif end == "error":
        with pytest.raises(IntegrityError):
            await connection.execute(text("INSERT INTO item (name) VALUES ('a')"))
        await connection.rollback()
    await connection.close()
    async with asyncio.timeout(2):  # the next writer goes on at once
        await _write(engine, "b", [])


async def test_a_writer_that_waits_too_long_is_told_the_database_is_locked(
    engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("backend.core.sqlite.TURN_SECONDS", 0.2)
    holder = asyncio.create_task(_write(engine, "a", [], hold=1.0))
    await asyncio.sleep(0.05)
    with pytest.raises(OperationalError, match="database is locked"):
        await _write(engine, "b", [])
    await holder
    await _write(engine, "c", [])  # the turn went on to the next writer
