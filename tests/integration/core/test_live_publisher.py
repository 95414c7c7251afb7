"""Publishing live updates (backend/core/live.py).

On PostgreSQL (NotifyBackend) Litestar's own backend opens a new database connection for every message. Here the
messages of an instance travel over one connection; one that finds it lost goes over a new one. On PostgreSQL and
on Redis, a message that cannot be sent at all leaves the instance's publisher running for the next.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
import pytest

from backend.core.live import NotifyBackend, _asyncpg_dsn, channels_backend
from backend.core.live_redis import RedisBackend
from backend.settings import Settings

REDIS_URL = os.environ.get("RATHAUS_TEST_REDIS_URL", "redis://127.0.0.1:6379/13")


@pytest.fixture
def postgres(settings: Settings) -> Settings:
    if settings.is_sqlite:
        pytest.skip("LISTEN/NOTIFY is PostgreSQL's")
    return settings


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


def test_the_app_publishes_through_the_kept_connection(postgres: Settings) -> None:
    assert isinstance(channels_backend(postgres), NotifyBackend) == (postgres.redis_url is None)


async def test_many_messages_travel_over_one_connection(postgres: Settings) -> None:
    settings = postgres
    channel = f"rathaus_test_{uuid.uuid4().hex}"
    async with listening(settings, channel) as heard, publisher(settings) as (backend, connections):
        for n in range(30):
            await backend.publish(f"message {n}".encode(), [channel])
        assert await heard_in_order(heard, 30) == [f"message {n}" for n in range(30)]
        assert connections.made == 1


@pytest.mark.parametrize("how", ["publish", "send"])
async def test_a_message_that_finds_the_connection_lost_goes_over_a_new_one(postgres: Settings, how: str) -> None:
    settings = postgres
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
    postgres: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    settings = postgres
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


def _redis(url: str) -> RedisBackend:
    from redis.asyncio import Redis

    return RedisBackend(redis=Redis.from_url(url, socket_connect_timeout=1), key_prefix="rathaus_test_channels")


async def test_redis_carries_the_messages(settings: Settings) -> None:
    from redis.asyncio import Redis
    from redis.exceptions import ConnectionError as RedisDown

    probe = Redis.from_url(REDIS_URL, socket_connect_timeout=1)
    try:
        await probe.ping()
    except RedisDown:
        pytest.skip("no Redis answers at RATHAUS_TEST_REDIS_URL")
    finally:
        await probe.aclose()
    channel = f"rathaus_test_{uuid.uuid4().hex}"
    listener, publisher = _redis(REDIS_URL), _redis(REDIS_URL)
    await listener.on_startup()
    await publisher.on_startup()
    try:
        await listener.subscribe([channel])
        events = listener.stream_events()
        await publisher.publish(b"over redis", [channel])
        async with asyncio.timeout(10):
            assert await anext(events) == (channel, b"over redis")
    finally:
        await publisher.on_shutdown()
        await listener.on_shutdown()


async def test_a_message_redis_refuses_leaves_the_publisher_running(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    with socket.socket() as closed:  # a port nobody listens on: Redis is down
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    backend = _redis(f"redis://127.0.0.1:{port}/0")
    with caplog.at_level(logging.WARNING, logger="backend.core.live"):
        await backend.publish(b"lost", ["rathaus_test_down"])  # what the channels plugin's publisher calls
    assert "could not be published" in caplog.text
    with pytest.raises(Exception, match="(?i)connect"):
        await backend.send(b"lost too", ["rathaus_test_down"])  # an operator's command is told


async def test_a_database_that_does_not_answer_holds_a_message_up_for_the_time_limit_only(
    postgres: Settings, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = postgres
    monkeypatch.setattr("backend.core.live.SEND_SECONDS", 0.5)
    silent = await asyncio.start_server(lambda reader, writer: None, "127.0.0.1", 0)  # takes connections, says nothing
    port = silent.sockets[0].getsockname()[1]
    channel = f"rathaus_test_{uuid.uuid4().hex}"
    try:
        async with listening(settings, channel) as heard, publisher(settings) as (backend, connections):
            real = connections.dsn
            connections.dsn = f"postgresql://nobody@127.0.0.1:{port}/nothing"
            started = asyncio.get_running_loop().time()
            with caplog.at_level(logging.WARNING, logger="backend.core.live"):
                await backend.publish(b"held up", [channel])
            held = asyncio.get_running_loop().time() - started
            assert 1.0 <= held < 3  # two attempts of 0.5 s each, not asyncpg's 60 s
            assert "could not be published" in caplog.text
            connections.dsn = real
            await backend.publish(b"next", [channel])
            assert await heard_in_order(heard, 1) == ["next"]
    finally:
        silent.close()
