"""Concurrent duplicates of one submission (the same idempotency key) wait for the first one's outcome.

A phone on a flaky connection may send the same request dozens of times at once. Without this each
copy would take a database connection and queue for the one writer (SQLite) or the unique index
(PostgreSQL), until the pool ran dry for every municipality. Within a process the copies now take turns
per key, and once one has an answer the others reuse it without touching the database. Across processes
the unique constraint on the key still decides (see CaseService.submit).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Hashable
from contextlib import asynccontextmanager
from typing import Any


class _Flight:
    __slots__ = ("lock", "users", "outcome")

    def __init__(self) -> None:
        self.lock = asyncio.Lock()
        self.users = 0
        self.outcome: str | None = None


class SingleFlight:
    def __init__(self) -> None:
        self._flights: dict[Hashable, _Flight] = {}

    @asynccontextmanager
    async def turn(self, key: Hashable) -> AsyncIterator[_Flight]:
        """One holder per key at a time; ``outcome`` set by one holder is seen by those after it."""
        flight = self._flights.get(key)
        if flight is None:
            flight = self._flights[key] = _Flight()
        flight.users += 1
        try:
            async with flight.lock:
                yield flight
        finally:
            flight.users -= 1
            if flight.users == 0:  # the last one out forgets the key: the map holds only keys in flight
                del self._flights[key]


def submissions_of(app: Any) -> SingleFlight:
    """The app's (a process serves one app; tests build several, each like its own process)."""
    flights: SingleFlight | None = app.state.get("submission_flights")
    if flights is None:
        flights = app.state["submission_flights"] = SingleFlight()
    return flights
