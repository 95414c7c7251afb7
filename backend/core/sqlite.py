"""The embedded database's connections: one trip to its thread per statement instead of four.

aiosqlite runs each SQLite connection on a thread of its own, and every call is a trip there and back: the
request's coroutine queues the call, the thread wakes, takes the GIL, runs it and wakes the event loop again.
SQLAlchemy's adapter makes four such trips for every statement (open a cursor, execute, fetch, close), and two
more when a request's session ends (the session's rollback and the pool's). A read of a tracking page takes
a few hundredths of a millisecond inside SQLite; the trips cost many times that, on a machine that also
serves the requests.

Here a statement is one trip: the cursor is opened, executed, read and closed on the connection's thread in
one call. A rollback or commit of a connection that has no transaction open does nothing in SQLite, so it
makes no trip either. Server-side cursors (results read in chunks) keep the adapter's own behaviour.

A short read makes no trip at all: a statement marked ``SHORT_READ`` (a case by its token, the rows of one
case) runs on the event loop's thread. It takes less time there than the trip would, and a reader never waits
for a writer in SQLite's WAL mode. Only reads that look rows up by a key are marked: a long read (a list, a
count over a town) keeps the connection's thread, so that other requests go on while it runs. The mark
means nothing to PostgreSQL.

Writers take turns: a statement that may begin writing waits for this process's turn on the database file, and
the turn ends with the connection's transaction (``OneTripConnection.wait_turn``).
"""

from __future__ import annotations

import asyncio
import sqlite3
import weakref
from collections import deque
from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy import event
from sqlalchemy.dialects.sqlite.aiosqlite import (
    AsyncAdapt_aiosqlite_connection,
    AsyncAdapt_aiosqlite_cursor,
    AsyncAdapt_aiosqlite_ss_cursor,
)
from sqlalchemy.engine import Engine
from sqlalchemy.util.concurrency import await_only

# An execution option (``statement.execution_options(**SHORT_READ)``) for reads of a few rows by a key.
SHORT_READ = {"rathaus_short_read": True}

_T = TypeVar("_T")

# As PRAGMA busy_timeout (core/db.py): how long a write waits for its turn before "database is locked".
TURN_SECONDS = 30.0

# One write turn per database file and event loop (tests run several loops in one process).
_turns: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, asyncio.Lock]] = weakref.WeakKeyDictionary()


def _turn_of(database: str) -> asyncio.Lock:
    by_file = _turns.setdefault(asyncio.get_running_loop(), {})
    return by_file.setdefault(database, asyncio.Lock())


async def _take(turn: asyncio.Lock) -> None:
    try:
        async with asyncio.timeout(TURN_SECONDS):
            await turn.acquire()
    except TimeoutError:
        raise sqlite3.OperationalError("database is locked") from None


def _verb(statement: str) -> str:
    return statement.lstrip()[:6].upper()


def _reads(operation: str) -> bool:
    """A statement that takes no write lock: it needs no turn."""
    return _verb(operation) in ("SELECT", "PRAGMA")


async def _here(run: Callable[[], _T]) -> _T:
    """Run on the event loop's thread, as a coroutine: SQLAlchemy's async layer expects each call to await."""
    return run()


class _OneTripCursor(AsyncAdapt_aiosqlite_cursor):
    __slots__ = ("short",)

    def __init__(self, adapt_connection: AsyncAdapt_aiosqlite_connection) -> None:
        super().__init__(adapt_connection)
        self.short = False  # set by _mark_short_reads just before execute

    def execute(self, operation: Any, parameters: Any = None) -> None:
        def run() -> tuple[Any, Any, int, int | None]:
            cursor = self._connection._conn.cursor()
            try:
                cursor.execute(operation, () if parameters is None else parameters)
                description = cursor.description
                return description, cursor.fetchall() if description else (), cursor.rowcount, cursor.lastrowid
            finally:
                cursor.close()

        self._connection_adapter.wait_turn(operation)
        description, rows, rowcount, lastrowid = self._call(run, here=self.short)
        self.description = description
        if description:
            self._rows = deque(rows)
            self.lastrowid = self.rowcount = -1
        else:
            self.lastrowid = lastrowid
            self.rowcount = rowcount

    def executemany(self, operation: Any, seq_of_parameters: Any) -> None:
        def run() -> tuple[int, int | None]:
            cursor = self._connection._conn.cursor()
            try:
                cursor.executemany(operation, seq_of_parameters)
                return cursor.rowcount, cursor.lastrowid
            finally:
                cursor.close()

        self._connection_adapter.wait_turn(operation)
        rowcount, lastrowid = self._call(run)
        self.description = None
        self.rowcount = rowcount
        self.lastrowid = lastrowid

    @property
    def _connection_adapter(self) -> OneTripConnection:
        return self._adapt_connection  # type: ignore[no-any-return]

    def _call(self, run: Callable[[], _T], *, here: bool = False) -> _T:
        """``run`` on the connection's thread (one trip), or ``here`` on the event loop's; errors as the adapter's."""
        try:
            return self.await_(_here(run) if here else self._connection._execute(run))
        except Exception as error:
            self._adapt_connection._handle_exception(error)
        finally:
            self._connection_adapter.end_turn_unless_writing()


class OneTripConnection(AsyncAdapt_aiosqlite_connection):
    __slots__ = ("database", "turn")

    def __init__(self, dbapi: Any, connection: Any, database: str = "") -> None:
        super().__init__(dbapi, connection)
        self.database = database
        self.turn: asyncio.Lock | None = None  # the write turn, while this connection holds it

    def cursor(self, server_side: bool = False) -> AsyncAdapt_aiosqlite_cursor:
        return AsyncAdapt_aiosqlite_ss_cursor(self) if server_side else _OneTripCursor(self)

    def _without_transaction(self) -> bool:
        # Read on the event loop's thread while the connection's thread waits: the adapter runs one call at a time.
        connection = self._connection._connection
        return connection is not None and not connection.in_transaction

    def wait_turn(self, operation: str) -> None:
        """Before a statement that may begin writing: wait for this process's write turn on the database.

        SQLite lets one connection write at a time. A connection that finds another writing waits in SQLite's
        busy handler, which sleeps and looks again after 1, 2, 5 ... up to 100 ms: with many submissions at once,
        a write that could go on after a millisecond sleeps on, and some wait seconds. Here the writers of one
        process queue for their turn instead and go on the moment the one before commits, in the order they
        came. Other processes (a command run beside the server) still meet in SQLite's busy handler.
        """
        if self.turn is None and self.database and not _reads(operation) and self._without_transaction():
            turn = _turn_of(self.database)
            try:
                self.await_(_take(turn))
            except Exception as error:
                self._handle_exception(error)
            self.turn = turn

    def end_turn_unless_writing(self) -> None:
        """After each statement, commit and rollback: the turn ends with the connection's transaction."""
        if self.turn is not None and self._without_transaction():
            self._give_turn_back()

    def rollback(self) -> None:
        try:
            if not self._without_transaction():
                super().rollback()
        finally:
            self.end_turn_unless_writing()

    def commit(self) -> None:
        try:
            if not self._without_transaction():
                super().commit()
        finally:
            self.end_turn_unless_writing()

    def close(self) -> None:
        try:
            super().close()
        finally:
            self._give_turn_back()

    def terminate(self) -> None:  # the connection is dropped without a rollback: its turn ends all the same
        try:
            super().terminate()
        finally:
            self._give_turn_back()

    def _give_turn_back(self) -> None:
        if self.turn is not None:
            turn, self.turn = self.turn, None
            turn.release()


def _connect(dialect: Any, _record: Any, cargs: Any, cparams: Any) -> OneTripConnection:
    # As the dialect connects (sqlalchemy.dialects.sqlite.aiosqlite), with this module's connection class.
    dbapi = dialect.loaded_dbapi
    connection = dbapi.aiosqlite.connect(*cargs, **cparams)
    connection._thread.daemon = True
    database = str(cargs[0] if cargs else cparams.get("database", ""))
    # An in-memory database is one per connection: nobody to take turns with.
    return OneTripConnection(dbapi, await_only(connection), "" if database in ("", ":memory:") else database)


def _mark_short_reads(_conn: Any, cursor: Any, statement: str, _parameters: Any, context: Any, many: bool) -> None:
    if (
        isinstance(cursor, _OneTripCursor)
        and context is not None
        and context.execution_options.get("rathaus_short_read")
        # A write may wait for another connection's write lock: never on the event loop's thread.
        and not many
        and _verb(statement) == "SELECT"
    ):
        cursor.short = True


def use_one_trip_connections(engine: Engine) -> None:
    """Connections of this (aiosqlite) engine make one trip to their thread per statement, short reads none."""
    if engine.dialect.driver == "aiosqlite" and not event.contains(engine, "do_connect", _connect):
        event.listen(engine, "do_connect", _connect)
        event.listen(engine, "before_cursor_execute", _mark_short_reads)
