"""Live updates through Redis (``RATHAUS_REDIS_URL``): Litestar's backend, which keeps publishing after an error.

A module of its own: Redis is an optional extra of the project, and only this backend needs it.
"""

from __future__ import annotations

from collections.abc import Iterable

from litestar.channels.backends.redis import RedisChannelsPubSubBackend

from backend.core.live import KeepsPublishing


class RedisBackend(KeepsPublishing, RedisChannelsPubSubBackend):
    """A message Redis refuses (a restart, a failover) is logged and dropped instead of ending the publisher
    (see ``KeepsPublishing``); the client connects again by itself for the next one."""

    async def send(self, data: bytes, channels: Iterable[str]) -> None:
        await RedisChannelsPubSubBackend.publish(self, data, channels)
