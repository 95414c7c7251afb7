"""Live updates on PostgreSQL: one kept connection publishes them (backend/core/live.py, NotifyBackend).

Litestar's own backend opens a new database connection for every message. Here the messages of an instance travel
over one connection; one that finds it lost goes over a new one, and one that cannot be sent at all leaves the
instance's publisher running for the next.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
import pytest

from backend.core.live import NotifyBackend, _asyncpg_dsn, channels_backend
from backend.settings import Settings


@pytest.fixture(autouse=True)
def postgres_only(settings: Settings) -> None:
    if settings.is_sqlite:
        pytest.skip("LISTEN/NOTIFY is PostgreSQL's")


class Connections:
    """Makes the publisher's connections, and counts them; ``refuse`` makes the next ones fail."""

    def __init__(self, dsn: str) -> None:
        self.dsn, self.made, self.refuse = dsn, 0, False

    async def __call__(self) -> asyncpg.Connection:
        if self.refuse:
            raise OSError("connection refused")
        self.made += 1
        return await asyncpg.connect(self.dsn)


@asynccontextmanager
async def listening(settings: Settings, channel: str) -> AsyncIterator[asyncio.Queue[str]]:
    heard: asyncio.Queue[str] = asyncio.Queue()
    listener = await asyncpg.connect(_asyncpg_dsn(settings.database_url))

    def hear(*args: Any) -> None:
        heard.put_nowait(args[3])

    await listener.add_listener(channel, hear)
    try:
        yield heard
    finally:
        await listener.close()


@asynccontextmanager
async def publisher(settings: Settings) -> AsyncIterator[tuple[NotifyBackend, Connections]]:
    connections = Connections(_asyncpg_dsn(settings.database_url))
    backend = NotifyBackend(make_connection=connections)
    await backend.on_startup()
    connections.made = 0  # that was the listening connection (Litestar's): from here on, the publisher's
    try:
        yield backend, connections
    finally:
        await backend.on_shutdown()


async def heard_in_order(heard: asyncio.Queue[str], count: int) -> list[str]:
    async with asyncio.timeout(10):
        return [await heard.get() for _ in range(count)]


async def end_connections(settings: Settings, backend: NotifyBackend) -> None:
    """An administrator (or a restart of the database) ends the publisher's connection."""
    pid = backend._publisher.get_server_pid()
    admin = await asyncpg.connect(_asyncpg_dsn(settings.database_url))
    try:
        await admin.execute("SELECT pg_terminate_backend($1)", pid)
    finally:
        await admin.close()


def test_the_app_publishes_through_the_kept_connection(settings: Settings) -> None:
    assert isinstance(channels_backend(settings), NotifyBackend) == (settings.redis_url is None)


async def test_many_messages_travel_over_one_connection(settings: Settings) -> None:
    channel = f"rathaus_test_{uuid.uuid4().hex}"
    async with listening(settings, channel) as heard, publisher(settings) as (backend, connections):
        for n in range(30):
            await backend.publish(f"message {n}".encode(), [channel])
        assert await heard_in_order(heard, 30) == [f"message {n}" for n in range(30)]
        assert connections.made == 1


@pytest.mark.parametrize("how", ["publish", "send"])
async def test_a_message_that_finds_the_connection_lost_goes_over_a_new_one(settings: Settings, how: str) -> None:
    channel = f"rathaus_test_{uuid.uuid4().hex}"
    async with listening(settings, channel) as heard, publisher(settings) as (backend, connections):
        await backend.publish(b"before", [channel])
        await end_connections(settings, backend)
        await asyncio.sleep(0.2)
        publish: Callable[[bytes, list[str]], Awaitable[None]] = getattr(backend, how)
        await publish(b"after", [channel])
        assert await heard_in_order(heard, 2) == ["before", "after"]
        assert connections.made == 2


async def test_a_message_that_cannot_be_sent_leaves_the_publisher_running(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    channel = f"rathaus_test_{uuid.uuid4().hex}"
    async with listening(settings, channel) as heard, publisher(settings) as (backend, connections):
        await backend.publish(b"first", [channel])
        await end_connections(settings, backend)
        connections.refuse = True
        with caplog.at_level(logging.WARNING, logger="backend.core.live"):
            await backend.publish(b"lost", [channel])  # what the channels plugin's publisher calls: no error
        assert "could not be published" in caplog.text
        with pytest.raises(OSError):
            await backend.send(b"lost too", [channel])  # an operator's command is told
        connections.refuse = False
        await backend.publish(b"later", [channel])
        assert await heard_in_order(heard, 2) == ["first", "later"]
