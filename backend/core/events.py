"""Domain events, handled inside the transaction that raised them (so their outbox rows commit with it)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession


@dataclass(frozen=True)
class Event:
    """Base of every event; listeners get the session of the change, never a new one."""


Listener = Callable[[AsyncSession, Any], Awaitable[None]]
_listeners: dict[type[Event], list[Listener]] = {}


def listen(event_type: type[Event], listener: Listener) -> None:
    if listener not in _listeners.setdefault(event_type, []):
        _listeners[event_type].append(listener)


async def emit(session: AsyncSession, event: Event) -> None:
    for listener in _listeners.get(type(event), []):
        await listener(session, event)
