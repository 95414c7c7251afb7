"""Working-day deadlines: a service's processing days counted in the municipality's calendar.

Working days are Monday to Friday except the public holidays of the municipality's German state (federal
holidays only when the state is unknown). Days are counted in the municipality's time zone: a request
sent at 23:30 on a Friday in Berlin was sent on Friday, whatever the UTC date says. A due date is the end
of its local day, stored as the UTC instant that day ends.
"""

from __future__ import annotations

import datetime
import functools
import time
import uuid
from collections.abc import Iterable
from zoneinfo import ZoneInfo

import holidays
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.tenants.models import Tenant

STATES = frozenset({"BW", "BY", "BE", "BB", "HB", "HH", "HE", "MV", "NI", "NW", "RP", "SL", "SN", "ST", "SH", "TH"})
# "Due soon": the deadline falls within this many working days.
SOON_WORKING_DAYS = 2


@functools.lru_cache(maxsize=64)
def _holidays(state: str | None, year: int) -> frozenset[datetime.date]:
    subdiv = state if state in STATES else None
    return frozenset(holidays.Germany(subdiv=subdiv, years=year).keys())


def is_working_day(day: datetime.date, state: str | None) -> bool:
    return day.weekday() < 5 and day not in _holidays(state, day.year)


def _local_date(instant: datetime.datetime, timezone: str) -> datetime.date:
    return instant.astimezone(ZoneInfo(timezone)).date()


def _end_of(day: datetime.date, timezone: str) -> datetime.datetime:
    """The UTC instant the local ``day`` ends (the next local midnight; DST-safe)."""
    midnight = datetime.datetime.combine(day + datetime.timedelta(days=1), datetime.time(), ZoneInfo(timezone))
    return midnight.astimezone(datetime.UTC)


def _add(day: datetime.date, working_days: int, state: str | None) -> datetime.date:
    while working_days > 0:
        day += datetime.timedelta(days=1)
        if is_working_day(day, state):
            working_days -= 1
    return day


def working_days_between(start: datetime.datetime, end: datetime.datetime, state: str | None, timezone: str) -> int:
    """Working days after ``start``'s local day up to and including ``end``'s (0 when end is not later)."""
    day, last = _local_date(start, timezone), _local_date(end, timezone)
    count = 0
    while day < last:
        day += datetime.timedelta(days=1)
        count += is_working_day(day, state)
    return count


def due_date(
    start: datetime.datetime,
    working_days: int,
    state: str | None,
    timezone: str,
    pauses: Iterable[tuple[datetime.datetime, datetime.datetime]] = (),
) -> datetime.datetime:
    """When a request made at ``start`` is due after ``working_days``, the clock stopped during ``pauses``.

    Each pause (waiting for the citizen, from .. to) moves the deadline by the working days it lasted.
    The day of ``start`` itself does not count, so 1 working day from a Friday is the next Monday.
    """
    days = working_days + sum(working_days_between(a, b, state, timezone) for a, b in pauses)
    return _end_of(_add(_local_date(start, timezone), days, state), timezone)


def extend(due: datetime.datetime, working_days: int, state: str | None, timezone: str) -> datetime.datetime:
    """A stored deadline moved later by ``working_days`` (the time a case waited for the citizen)."""
    # ``due`` is the end of its day, i.e. the next midnight: a moment before it is still the due day.
    day = _local_date(due - datetime.timedelta(microseconds=1), timezone)
    return _end_of(_add(day, working_days, state), timezone)


def local_due_day(due: datetime.datetime, timezone: str) -> datetime.date:
    """The local date a stored deadline falls on (for display)."""
    return _local_date(due - datetime.timedelta(microseconds=1), timezone)


def soon_limit(now: datetime.datetime, state: str | None, timezone: str) -> datetime.datetime:
    """Deadlines up to this instant (and not yet past) are "due soon"."""
    return due_date(now, SOON_WORKING_DAYS, state, timezone)


# The state of a municipality changes rarely (an operator sets it once): a submission should not pay a
# database round trip for it every time.
_STATE_TTL_SECONDS = 60.0
_state_cache: dict[uuid.UUID, tuple[float, str | None]] = {}


async def tenant_state(session: AsyncSession, tenant_id: uuid.UUID) -> str | None:
    """The municipality's German state code (None when not set: federal holidays only)."""
    cached = _state_cache.get(tenant_id)
    if cached is not None and cached[0] > time.monotonic():
        return cached[1]
    state = await session.scalar(select(Tenant.state).where(Tenant.id == tenant_id))
    _state_cache[tenant_id] = (time.monotonic() + _STATE_TTL_SECONDS, state or None)
    return state or None
