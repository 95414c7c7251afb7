"""Rate counters count atomically: parallel hits never read the same old count."""

from __future__ import annotations

import asyncio
import uuid

from backend.core.db import alchemy_config
from backend.core.ratelimit import MemoryRateLimiter, make_rate_limiter
from backend.settings import Settings


async def test_parallel_hits_are_each_counted_once(settings: Settings) -> None:
    db = alchemy_config(settings)
    limiter = make_rate_limiter(None, db.get_engine(), settings.is_sqlite)
    key = f"test:{uuid.uuid4()}"
    try:
        counts = await asyncio.gather(*(limiter.hit(key, 60) for _ in range(40)))
        assert sorted(counts) == list(range(1, 41))
        assert await limiter.peek(key) == 40
        await limiter.reset(key)
        assert await limiter.peek(key) == 0
        assert await limiter.hit(key, 60, cost=3) == 3
    finally:
        await db.get_engine().dispose()


async def test_a_count_starts_again_after_its_window() -> None:
    limiter = MemoryRateLimiter()
    assert await limiter.hit("k", 0) == 1  # a window of 0 s has passed at once
    assert await limiter.hit("k", 60) == 1
    assert await limiter.hit("k", 60) == 2
