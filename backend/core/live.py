"""Live updates: a change noted on a database session is published to its municipality's channel on commit.

A change is noted where it happens (``note``) and published only when that session commits, so a rolled-back
change is never announced. Publishing goes through Litestar's channels: in memory for one process (the
embedded default), PostgreSQL LISTEN/NOTIFY when the database is PostgreSQL (published over one kept connection,
``NotifyBackend``), Redis when ``RATHAUS_REDIS_URL`` is set, so every app instance's subscribers hear every
instance's changes. ``inbox/live.py`` streams them to staff. An event names what changed, never what a citizen
wrote: it must not carry personal data.
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
import weakref
from collections.abc import Iterable
from typing import Any

import asyncpg
from litestar.channels import ChannelsPlugin
from litestar.channels.backends.asyncpg import AsyncPgChannelsBackend
from litestar.channels.backends.base import ChannelsBackend
from litestar.channels.backends.memory import MemoryChannelsBackend
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from sqlalchemy.orm import Session

from backend.settings import Settings

log = logging.getLogger(__name__)

_PENDING = "rathaus_live_pending"

# Each app's engine publishes through that app's plugin (tests and one process may hold several apps).
_plugins: weakref.WeakKeyDictionary[Engine, ChannelsPlugin] = weakref.WeakKeyDictionary()


def channel_of(tenant_id: uuid.UUID) -> str:
    """One channel per municipality; a valid LISTEN name on PostgreSQL (letters, digits, underscore)."""
    return f"rathaus_live_{tenant_id.hex}"


def channels_backend(settings: Settings) -> ChannelsBackend:
    if settings.redis_url:
        from redis.asyncio import Redis

        from backend.core.live_redis import RedisBackend  # Redis is an extra: imported only where it is used

        return RedisBackend(redis=Redis.from_url(settings.redis_url), key_prefix="rathaus_channels")
    if settings.database_url.startswith("postgresql"):
        return NotifyBackend(dsn=_asyncpg_dsn(settings.database_url))
    return MemoryChannelsBackend()


SEND_SECONDS = 5.0  # for one message, a new connection included; then the connection counts as lost

# What a lost, closed or refused connection raises: the message is then sent once more, over a new one.
_LOST = (
    OSError,
    asyncio.TimeoutError,
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.OperatorInterventionError,  # the server shut down, or an administrator ended the connection
)


class KeepsPublishing(ChannelsBackend):
    """``publish`` is what the channels plugin's publisher task calls, one message after the other. An error there
    would end that task, and with it every later live update and announcement of this instance, until a restart.
    So it never raises: a message that cannot be sent is logged and dropped (live updates are hints, the pages
    themselves read the database, and kept data expires within 30 s). ``send`` raises instead, for a caller that
    must know (an operator's command)."""

    async def send(self, data: bytes, channels: Iterable[str]) -> None:
        raise NotImplementedError

    async def publish(self, data: bytes, channels: Iterable[str]) -> None:
        try:
            await self.send(data, channels)
        except Exception:
            log.warning("a live update could not be published", exc_info=True)


class NotifyBackend(KeepsPublishing, AsyncPgChannelsBackend):
    """Litestar's PostgreSQL LISTEN/NOTIFY backend, publishing over one kept connection.

    Litestar's own opens a new connection for every message and closes it again: for every submission, status
    change or reply a new server process on the database, its authentication and its startup, which cost the
    database more than the statement that changed the case. Here one connection is kept for publishing (the
    listening connection stays Litestar's), and a message that finds it lost is sent once more over a new one.
    """

    _publisher: Any = None
    _publish_lock: asyncio.Lock | None = None

    async def send(self, data: bytes, channels: Iterable[str]) -> None:
        if self._publish_lock is None:
            self._publish_lock = asyncio.Lock()
        text, names = data.decode("utf-8"), list(channels)
        async with self._publish_lock:
            for attempt in (1, 2):
                try:
                    # A kept connection can die without a word (a firewall forgets it), and a database can stop
                    # answering: the time limit keeps a message from waiting on it, and the next from waiting behind.
                    async with asyncio.timeout(SEND_SECONDS):
                        if self._publisher is None or self._publisher.is_closed():
                            self._publisher = await self._connect()
                        for name in names:
                            await self._publisher.execute("SELECT pg_notify($1, $2)", name, text)
                    return
                except _LOST:
                    await self._close_publisher()
                    if attempt == 2:
                        raise

    async def _close_publisher(self) -> None:
        publisher, self._publisher = self._publisher, None
        if publisher is not None and not publisher.is_closed():
            publisher.terminate()

    async def on_shutdown(self) -> None:
        publisher, self._publisher = self._publisher, None
        if publisher is not None and not publisher.is_closed():
            try:
                await publisher.close(timeout=SEND_SECONDS)
            except Exception:  # a database that does not answer must not hold the shutdown up
                publisher.terminate()
        await super().on_shutdown()


def _asyncpg_dsn(database_url: str) -> str:
    scheme, rest = database_url.split("://", 1)
    return f"postgresql://{rest}" if scheme.startswith("postgresql") else database_url


def channels_plugin(settings: Settings) -> ChannelsPlugin:
    return ChannelsPlugin(backend=channels_backend(settings), arbitrary_channels_allowed=True)


def attach(engine: AsyncEngine, plugin: ChannelsPlugin) -> None:
    """Changes committed through ``engine`` are published through ``plugin`` (called by the app factory)."""
    _plugins[engine.sync_engine] = plugin


def note(session: AsyncSession | Session, tenant_id: uuid.UUID, payload: dict[str, Any]) -> None:
    """Note a change; it is published when ``session`` commits, and forgotten if it rolls back."""
    pending: dict[str, uuid.UUID] = session.info.setdefault(_PENDING, {})
    pending.setdefault(json.dumps(payload, sort_keys=True), tenant_id)  # the same change noted twice: sent once


def note_case(
    session: AsyncSession | Session,
    tenant_id: uuid.UUID,
    case_id: uuid.UUID,
    change: str,
    departments: list[str | None],
) -> None:
    """A case changed (``change`` is its timeline entry's kind, e.g. ``submitted`` or ``status_changed``);
    ``departments`` are the ids (hex; None: no department) whose staff may hear of it."""
    note(session, tenant_id, {"case": str(case_id), "change": change, "departments": departments})


def publish_pending(session: AsyncSession) -> None:
    """Publish what is noted now: for writes that committed without a transaction of the session's own."""
    _publish(session.sync_session)


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    _publish(session)


@event.listens_for(Session, "after_rollback")
def _after_rollback(session: Session) -> None:
    session.info.pop(_PENDING, None)


def _publish(session: Session) -> None:
    pending = session.info.pop(_PENDING, None)
    if not pending:
        return
    bind = session.bind
    engine = bind.engine if bind is not None else None
    plugin = _plugins.get(engine) if engine is not None else None
    if plugin is None:  # a command-line tool without an app: nobody is listening here
        return
    for payload, tenant_id in pending.items():
        try:
            plugin.publish(payload, channels=[channel_of(tenant_id)])
        except RuntimeError:  # the app is shutting down and its publisher has stopped
            return
