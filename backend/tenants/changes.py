"""A municipality's settings or data changed: every app instance forgets what it cached of them, at once.

Each instance keeps a municipality's context (name, colours, host names, languages; core/tenancy.py's HostCache),
its own wording (core/i18n.py's OverrideCache) and what its citizen pages show of its data (its services, their
forms and its current news; core/tenancy.py's TenantData) for up to 30 seconds. When an admin saves a change, the
instance that saved it empties its caches and announces the change on the channel ``rathaus_config`` — the
channels of the live updates (core/live.py): PostgreSQL LISTEN/NOTIFY, or Redis when it is configured. Every
instance listens from its start and empties its caches when it hears of a change, so the next request
anywhere shows the new branding. An instance that misses an announcement (its connection to the channel
dropped) still shows the change within the caches' 30 seconds.

Settings are announced by the pages that save them (``announce``). Data is announced by itself: a committed
session that added, changed or deleted a row of a watched model (``watch``: tenants/controllers.py names
``Service`` and ``NewsItem``; a new form version is published by changing its service) announces the
municipalities of those rows, wherever in the app the change was made.
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
import weakref
from itertools import chain
from typing import Any

from litestar import Litestar
from litestar.channels import ChannelsPlugin
from litestar.channels.backends.memory import MemoryChannelsBackend
from litestar.datastructures import State
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.orm import Session

from backend.core.live import KeepsPublishing, channels_backend
from backend.settings import Settings

log = logging.getLogger("rathaus.tenants")

CHANNEL = "rathaus_config"
# How long the listener waits before it subscribes again after its channel failed (or before the channels started).
RETRY_SECONDS = 1.0


def forget(state: State, tenant_id: uuid.UUID | None) -> None:
    """Empty this instance's caches of a municipality, or of all (None). The host cache is emptied whole: a
    changed host name may have pointed anywhere."""
    if "host_cache" in state:
        state.host_cache.clear()
    if "text_overrides" in state:
        if tenant_id is None:
            state.text_overrides.clear()
        else:
            state.text_overrides.invalidate(tenant_id)
    if "tenant_data" in state:
        state.tenant_data.forget(tenant_id)


def announce(app: Litestar, tenant_id: uuid.UUID) -> None:
    """Call after the change is committed: this instance forgets at once, the others when they hear of it."""
    forget(app.state, tenant_id)
    try:
        app.plugins.get(ChannelsPlugin).publish({"tenant": str(tenant_id)}, channels=[CHANNEL])
    except Exception:  # the others still see the change when their caches run out
        log.warning("a change of a municipality could not be announced to the other instances", exc_info=True)


# --- data: announced at the commit of the session that changed it ----------------------------------------

_CHANGED = "rathaus_tenant_data_changed"
_watched: tuple[type, ...] = ()
# Each app's engine announces through that app (tests and one process may hold several apps).
_apps: weakref.WeakKeyDictionary[Engine, Litestar] = weakref.WeakKeyDictionary()


def watch(*models: type) -> None:
    """Rows of these models (each with a ``tenant_id``) are kept in TenantData: a committed change announces."""
    global _watched
    _watched = tuple(dict.fromkeys((*_watched, *models)))


def attach(engine: AsyncEngine, app: Litestar) -> None:
    """Changes committed through ``engine`` are announced through ``app`` (called by the app factory)."""
    _apps[engine.sync_engine] = app


@event.listens_for(Session, "after_flush")
def _note(session: Session, _context: Any) -> None:
    if not _watched:
        return
    for row in chain(session.new, session.dirty, session.deleted):
        if isinstance(row, _watched) and getattr(row, "tenant_id", None) is not None:
            session.info.setdefault(_CHANGED, set()).add(row.tenant_id)


@event.listens_for(Session, "after_commit")
def _announce_noted(session: Session) -> None:
    changed = session.info.pop(_CHANGED, None)
    if not changed:
        return
    bind = session.bind
    app = _apps.get(bind.engine) if bind is not None else None
    if app is None:  # an operator's command without an app: the instances notice within the caches' time
        return
    for tenant_id in changed:
        announce(app, tenant_id)


@event.listens_for(Session, "after_rollback")
def _forget_noted(session: Session) -> None:
    session.info.pop(_CHANGED, None)


async def tell_instances(settings: Settings, tenant_id: uuid.UUID) -> bool:
    """For the operator's commands, which run without an app: announce a committed change to the running
    instances. False when there is no shared channel to tell them on (the embedded default without Redis)."""
    backend = channels_backend(settings)
    if isinstance(backend, MemoryChannelsBackend):
        return False
    try:
        await backend.on_startup()
        try:
            message = json.dumps({"tenant": str(tenant_id)}).encode()
            # publish() keeps quiet about a failure (it serves the app's publisher task): send() tells.
            send = backend.send if isinstance(backend, KeepsPublishing) else backend.publish
            await send(message, [CHANNEL])
        finally:
            await backend.on_shutdown()
    except Exception:
        log.warning("a change of a municipality could not be announced to the running instances", exc_info=True)
        return False
    return True


def _tenant_of(event: Any) -> uuid.UUID | None:
    try:
        text = event.decode() if isinstance(event, bytes) else str(event)
        return uuid.UUID(json.loads(text)["tenant"])
    except (ValueError, KeyError, TypeError):
        return None


async def listen(app: Litestar, listening: asyncio.Event) -> None:
    """Runs for the app's lifetime (cancelled at shutdown): empties the caches at every announcement.
    ``listening`` is set while the subscription stands."""
    plugin = app.plugins.get(ChannelsPlugin)
    while True:
        try:
            async with plugin.start_subscription([CHANNEL]) as subscriber:
                listening.set()
                # What changed before the subscription stood is not heard: forget everything once.
                forget(app.state, None)
                async for event in subscriber.iter_events():
                    forget(app.state, _tenant_of(event))
        except asyncio.CancelledError:
            raise
        except Exception:  # not started yet, or the channel's connection dropped: subscribe again shortly
            log.debug("listening for changes of municipalities failed; trying again", exc_info=True)
        listening.clear()
        await asyncio.sleep(RETRY_SECONDS)
