"""Runs CPU-heavy work (password hashing, image decoding) off the event loop, a bounded number at a time.

Without this one large photo or a burst of logins stalls every other request of the process, the
health check included. The bound keeps a burst from starting more threads (and more decoded images in
memory) than the machine has cores for; further calls wait their turn without blocking the loop.
"""

from __future__ import annotations

import asyncio
import functools
import os
import weakref
from collections.abc import Callable
from typing import ParamSpec, TypeVar

import anyio.to_thread
from anyio import CapacityLimiter

P = ParamSpec("P")
T = TypeVar("T")

CPU_SLOTS = max(2, os.cpu_count() or 2)

# One limiter per event loop: a limiter belongs to the loop it was made in (tests run several loops).
_limiters: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, CapacityLimiter] = weakref.WeakKeyDictionary()


def _limiter() -> CapacityLimiter:
    loop = asyncio.get_running_loop()
    limiter = _limiters.get(loop)
    if limiter is None:
        limiter = _limiters[loop] = CapacityLimiter(CPU_SLOTS)
    return limiter


async def run_cpu(fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
    """``fn(*args, **kwargs)`` in a worker thread, at most ``CPU_SLOTS`` at once per process."""
    return await anyio.to_thread.run_sync(functools.partial(fn, *args, **kwargs), limiter=_limiter())
