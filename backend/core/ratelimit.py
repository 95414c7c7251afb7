"""Atomic counters for rate limits and login throttling, shared by all processes that share a store.

``hit`` counts one event for a key and returns the count within the key's window, in one atomic step:
parallel requests can never all read the same old count (a read-check-write race). The backends:

- Redis (``RATHAUS_REDIS_URL``): ``INCR`` plus ``EXPIRE`` on first hit; shared by every instance.
- PostgreSQL: one ``INSERT ... ON CONFLICT DO UPDATE ... RETURNING`` on ``rate_counter``, in its own
  short transaction; shared by every instance on the database.
- The embedded SQLite default: in this process's memory. It is one process by design; a counter row
  on SQLite would queue behind the single writer that every submission also needs.

Windows are fixed: the first hit starts one, and the count starts again once it has passed.
"""

from __future__ import annotations

import datetime
import time
from typing import Any, Protocol

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine


class RateLimiter(Protocol):
    async def hit(self, key: str, window_seconds: int, cost: int = 1) -> int:
        """Count ``cost`` events for ``key``; returns the count in the current window, this hit included."""

    async def peek(self, key: str) -> int:
        """The count in the current window without counting (0 when none)."""

    async def reset(self, key: str) -> None:
        """Forget the key's count (e.g. after a successful login)."""

    async def aclose(self) -> None: ...


class MemoryRateLimiter:
    def __init__(self, max_keys: int = 100_000) -> None:
        self._entries: dict[str, tuple[float, int]] = {}
        self._max_keys = max_keys

    async def hit(self, key: str, window_seconds: int, cost: int = 1) -> int:
        now = time.monotonic()
        expires, count = self._entries.get(key, (0.0, 0))
        if expires <= now:
            expires, count = now + window_seconds, 0
            if len(self._entries) >= self._max_keys:
                self._sweep(now)
        count += cost
        self._entries[key] = (expires, count)
        return count

    async def peek(self, key: str) -> int:
        expires, count = self._entries.get(key, (0.0, 0))
        return count if expires > time.monotonic() else 0

    async def reset(self, key: str) -> None:
        self._entries.pop(key, None)

    def _sweep(self, now: float) -> None:
        self._entries = {k: v for k, v in self._entries.items() if v[0] > now}
        if len(self._entries) >= self._max_keys:  # still full of live keys: drop the oldest half
            for k in list(self._entries)[: self._max_keys // 2]:
                del self._entries[k]

    async def aclose(self) -> None:
        return None


_HIT = text(
    "INSERT INTO rate_counter (key, count, expires_at) VALUES (:key, :cost, :expires) "
    "ON CONFLICT (key) DO UPDATE SET "
    "count = CASE WHEN rate_counter.expires_at <= :now THEN :cost ELSE rate_counter.count + :cost END, "
    "expires_at = CASE WHEN rate_counter.expires_at <= :now THEN :expires ELSE rate_counter.expires_at END "
    "RETURNING count"
)
_PEEK = text("SELECT count FROM rate_counter WHERE key = :key AND expires_at > :now")
_RESET = text("DELETE FROM rate_counter WHERE key = :key")
_SWEEP = text("DELETE FROM rate_counter WHERE expires_at <= :now")


class SQLRateLimiter:
    """Counters in the ``rate_counter`` table, each hit its own autocommitted statement."""

    SWEEP_EVERY = 1000

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._hits = 0

    async def hit(self, key: str, window_seconds: int, cost: int = 1) -> int:
        now = _utcnow()
        params: dict[str, Any] = {
            "key": key,
            "cost": cost,
            "now": now,
            "expires": now + datetime.timedelta(seconds=window_seconds),
        }
        async with self._engine.begin() as conn:
            count = (await conn.execute(_HIT, params)).scalar_one()
            self._hits += 1
            if self._hits % self.SWEEP_EVERY == 0:
                await conn.execute(_SWEEP, {"now": now})
        return int(count)

    async def peek(self, key: str) -> int:
        async with self._engine.connect() as conn:
            count = (await conn.execute(_PEEK, {"key": key, "now": _utcnow()})).scalar()
        return int(count or 0)

    async def reset(self, key: str) -> None:
        async with self._engine.begin() as conn:
            await conn.execute(_RESET, {"key": key})

    async def aclose(self) -> None:
        return None


class RedisRateLimiter:
    def __init__(self, url: str, namespace: str = "rathaus:rate") -> None:
        from redis.asyncio import Redis

        self._redis = Redis.from_url(url)
        self._ns = namespace

    async def hit(self, key: str, window_seconds: int, cost: int = 1) -> int:
        name = f"{self._ns}:{key}"
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.incrby(name, cost)
            pipe.expire(name, window_seconds, nx=True)
            count, _ = await pipe.execute()
        return int(count)

    async def peek(self, key: str) -> int:
        value = await self._redis.get(f"{self._ns}:{key}")
        return int(value or 0)

    async def reset(self, key: str) -> None:
        await self._redis.delete(f"{self._ns}:{key}")

    async def aclose(self) -> None:
        await self._redis.aclose()


def make_rate_limiter(redis_url: str | None, engine: AsyncEngine, is_sqlite: bool) -> RateLimiter:
    if redis_url:
        return RedisRateLimiter(redis_url)
    if is_sqlite:
        return MemoryRateLimiter()
    return SQLRateLimiter(engine)


def _utcnow() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)
