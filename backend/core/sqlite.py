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
"""

from __future__ import annotations

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

        rowcount, lastrowid = self._call(run)
        self.description = None
        self.rowcount = rowcount
        self.lastrowid = lastrowid

    def _call(self, run: Callable[[], _T], *, here: bool = False) -> _T:
        """``run`` on the connection's thread (one trip), or ``here`` on the event loop's; errors as the adapter's."""
        try:
            return self.await_(_here(run) if here else self._connection._execute(run))
        except Exception as error:
            self._adapt_connection._handle_exception(error)


class OneTripConnection(AsyncAdapt_aiosqlite_connection):
    __slots__ = ()

    def cursor(self, server_side: bool = False) -> AsyncAdapt_aiosqlite_cursor:
        return AsyncAdapt_aiosqlite_ss_cursor(self) if server_side else _OneTripCursor(self)

    def _without_transaction(self) -> bool:
        # Read on the event loop's thread while the connection's thread waits: the adapter runs one call at a time.
        connection = self._connection._connection
        return connection is not None and not connection.in_transaction

    def rollback(self) -> None:
        if not self._without_transaction():
            super().rollback()

    def commit(self) -> None:
        if not self._without_transaction():
            super().commit()


def _connect(dialect: Any, _record: Any, cargs: Any, cparams: Any) -> OneTripConnection:
    # As the dialect connects (sqlalchemy.dialects.sqlite.aiosqlite), with this module's connection class.
    dbapi = dialect.loaded_dbapi
    connection = dbapi.aiosqlite.connect(*cargs, **cparams)
    connection._thread.daemon = True
    return OneTripConnection(dbapi, await_only(connection))


def _mark_short_reads(_conn: Any, cursor: Any, statement: str, _parameters: Any, context: Any, many: bool) -> None:
    if (
        isinstance(cursor, _OneTripCursor)
        and context is not None
        and context.execution_options.get("rathaus_short_read")
        # A write may wait for another connection's write lock: never on the event loop's thread.
        and not many
        and statement.lstrip()[:6].upper() == "SELECT"
    ):
        cursor.short = True


def use_one_trip_connections(engine: Engine) -> None:
    """Connections of this (aiosqlite) engine make one trip to their thread per statement, short reads none."""
    if engine.dialect.driver == "aiosqlite" and not event.contains(engine, "do_connect", _connect):
        event.listen(engine, "do_connect", _connect)
        event.listen(engine, "before_cursor_execute", _mark_short_reads)
