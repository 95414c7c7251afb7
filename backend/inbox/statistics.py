"""The municipality's figures for supervisors: open and overdue requests, processing times, deadlines kept,
incoming requests per week and the citizens' feedback, per service.

Counts and sums are computed by the database (PostgreSQL and SQLite alike). Processing times are taken from
the timeline: from the "submitted" event to the latest "completed" or "rejected" status change of a case that
is closed now. Their median and 90th percentile are computed here over the durations of the window (the last
90 days of one municipality, at most MAX_DURATIONS cases), as SQLite has no percentile function; the
percentile interpolates linearly, as PostgreSQL's ``percentile_cont`` and spreadsheets' PERCENTILE.INC do.
"""

from __future__ import annotations

import datetime
import math
import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Select, and_, case, func, select
from sqlalchemy.orm import load_only

from backend.cases.feedback import FeedbackService
from backend.cases.models import Case, CaseEvent
from backend.cases.services import CaseService
from backend.cases.workflow import OPEN_STATUSES
from backend.catalogue.models import Service
from backend.inbox.services import RUNNING_STATUSES

CLOSED_STATUSES = ("completed", "rejected")
WINDOWS = (30, 90)  # days back from now: processing times of the cases closed in that time
WEEKS = 12
# The durations the percentiles are computed from: the window's most recent closings, never more than this.
MAX_DURATIONS = 100_000
SECONDS_PER_DAY = 86_400


def percentile(values: Sequence[float], fraction: float) -> float | None:
    """The ``fraction`` (0..1) percentile of sorted ``values``, interpolated linearly; None for no values."""
    if not values:
        return None
    rank = (len(values) - 1) * fraction
    low = math.floor(rank)
    high = min(low + 1, len(values) - 1)
    return values[low] + (values[high] - values[low]) * (rank - low)


@dataclass(frozen=True)
class Window:
    """Processing times of the cases of one service closed within the last ``days`` days (in days)."""

    days: int
    closed: int = 0
    median: float | None = None
    p90: float | None = None


@dataclass(frozen=True)
class ServiceTimes:
    service: Service
    windows: dict[int, Window]
    with_deadline: int  # of the cases closed within the longest window, those that had a deadline
    in_time: int  # ... and were closed by it

    @property
    def percent_in_time(self) -> int | None:
        return round(100 * self.in_time / self.with_deadline) if self.with_deadline else None


@dataclass(frozen=True)
class Week:
    start: datetime.date  # the Monday (local) the week begins
    count: int


@dataclass(frozen=True)
class ServiceFeedback:
    service: Service
    resolved: int
    not_resolved: int


@dataclass(frozen=True)
class Dashboard:
    now: datetime.datetime
    open_by_status: dict[str, int]
    overdue: int
    times: list[ServiceTimes]
    weeks: list[Week]
    feedback: list[ServiceFeedback]
    windows: tuple[int, ...] = WINDOWS
    longest: int = max(WINDOWS)
    open_total: int = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "open_total", sum(self.open_by_status.values()))


class StatisticsService:
    """The figures of one municipality: every query is limited to it (the session's scope and explicitly)."""

    def __init__(self, cases: CaseService) -> None:
        self.cases = cases
        self.session = cases.session
        self.tenant = cases.tenant

    async def dashboard(self, now: datetime.datetime | None = None) -> Dashboard:
        now = now or datetime.datetime.now(datetime.UTC)
        open_by_status, overdue = await self._open(now)
        return Dashboard(
            now=now,
            open_by_status=open_by_status,
            overdue=overdue,
            times=await self._times(now),
            weeks=await self._weeks(now),
            feedback=await self._feedback(),
        )

    @property
    def _tenant_id(self) -> uuid.UUID:
        return self.tenant.id

    async def _open(self, now: datetime.datetime) -> tuple[dict[str, int], int]:
        """Open cases per status, and how many of them are overdue (as the inbox's "overdue" filter counts)."""
        overdue = case((and_(Case.status.in_(RUNNING_STATUSES), Case.due_at <= now), 1), else_=0)
        rows = await self.session.execute(
            select(Case.status, func.count(), func.sum(overdue))
            .where(Case.tenant_id == self._tenant_id, Case.status.in_(OPEN_STATUSES))
            .group_by(Case.status)
        )
        counts = dict.fromkeys(OPEN_STATUSES, 0)
        late = 0
        for status, count, late_here in rows.tuples():
            counts[status] = int(count)
            late += int(late_here or 0)
        return counts, late

    def _closed_cases(self, since: datetime.datetime) -> Select[Any]:
        """One row per case closed now whose latest closing lies after ``since``: its service, deadline,
        submission and closing time, from its timeline."""
        tenant_id = self._tenant_id
        closing = case(
            (and_(CaseEvent.kind == "status_changed", CaseEvent.to_status.in_(CLOSED_STATUSES)), CaseEvent.created_at)
        )
        submitted = case((CaseEvent.kind == "submitted", CaseEvent.created_at))
        closed_at = func.max(closing)
        return (
            select(
                Case.service_id.label("service_id"),
                Case.due_at.label("due_at"),
                func.coalesce(func.min(submitted), Case.created_at).label("submitted_at"),
                closed_at.label("closed_at"),
            )
            .join(CaseEvent, CaseEvent.case_id == Case.id)
            # A case closed since then was last active since then: the activity index narrows the search.
            .where(
                Case.tenant_id == tenant_id,
                CaseEvent.tenant_id == tenant_id,
                Case.status.in_(CLOSED_STATUSES),
                Case.last_activity_at >= since,
            )
            .group_by(Case.id, Case.service_id, Case.due_at, Case.created_at)
            .having(closed_at >= since)
        )

    async def _times(self, now: datetime.datetime) -> list[ServiceTimes]:
        since = {days: now - datetime.timedelta(days=days) for days in WINDOWS}
        longest = max(WINDOWS)
        closed = self._closed_cases(since[longest]).subquery()
        # Deadlines kept, per service, counted by the database.
        kept = await self.session.execute(
            select(
                closed.c.service_id,
                func.count(closed.c.due_at),
                func.sum(case((closed.c.closed_at <= closed.c.due_at, 1), else_=0)),
            ).group_by(closed.c.service_id)
        )
        deadlines = {service_id: (int(n), int(in_time or 0)) for service_id, n, in_time in kept.tuples()}
        # The durations, for the percentiles.
        rows = await self.session.execute(
            select(closed.c.service_id, closed.c.submitted_at, closed.c.closed_at)
            .order_by(closed.c.closed_at.desc())
            .limit(MAX_DURATIONS)
        )
        durations: dict[uuid.UUID, dict[int, list[float]]] = defaultdict(lambda: {days: [] for days in WINDOWS})
        for service_id, submitted_at, closed_at in rows.tuples():
            days_taken = max((_utc(closed_at) - _utc(submitted_at)).total_seconds(), 0) / SECONDS_PER_DAY
            for days in WINDOWS:
                if _utc(closed_at) >= since[days]:
                    durations[service_id][days].append(days_taken)
        services = await self._services(set(durations) | set(deadlines))
        figures = []
        for service in services:
            per_window = durations.get(service.id, {days: [] for days in WINDOWS})
            windows = {}
            for days, values in per_window.items():
                values.sort()
                windows[days] = Window(days, len(values), percentile(values, 0.5), percentile(values, 0.9))
            with_deadline, in_time = deadlines.get(service.id, (0, 0))
            figures.append(ServiceTimes(service, windows, with_deadline, in_time))
        return figures

    async def _services(self, ids: set[uuid.UUID]) -> list[Service]:
        if not ids:
            return []
        rows = await self.session.scalars(
            select(Service)
            .options(load_only(Service.id, Service.slug, Service.name, Service.position))
            .where(Service.tenant_id == self._tenant_id, Service.id.in_(ids))
            .order_by(Service.position, Service.slug)
        )
        return list(rows)

    def week_starts(self, now: datetime.datetime) -> list[datetime.date]:
        """The Mondays (in the municipality's time zone) of the last WEEKS weeks, this week's last."""
        today = now.astimezone(ZoneInfo(self.tenant.timezone)).date()
        monday = today - datetime.timedelta(days=today.weekday())
        return [monday - datetime.timedelta(weeks=n) for n in range(WEEKS - 1, -1, -1)]

    async def _weeks(self, now: datetime.datetime) -> list[Week]:
        """Requests received per local week (Monday to Sunday), in one statement over the 12 weeks' range."""
        zone = ZoneInfo(self.tenant.timezone)
        starts = self.week_starts(now)
        edges = [
            datetime.datetime.combine(day, datetime.time(), zone).astimezone(datetime.UTC)
            for day in [*starts, starts[-1] + datetime.timedelta(weeks=1)]
        ]
        counts = [
            func.sum(case((and_(Case.created_at >= edges[n], Case.created_at < edges[n + 1]), 1), else_=0))
            for n in range(WEEKS)
        ]
        row = (
            await self.session.execute(
                select(*counts).where(
                    Case.tenant_id == self._tenant_id, Case.created_at >= edges[0], Case.created_at < edges[-1]
                )
            )
        ).one()
        return [Week(start, int(count or 0)) for start, count in zip(starts, row, strict=True)]

    async def _feedback(self) -> list[ServiceFeedback]:
        """The citizens' answers to "Was your request resolved?", per service (latest answer per case)."""
        figures = await FeedbackService(self.cases).figures()
        return [ServiceFeedback(f.service, f.resolved, f.answers - f.resolved) for f in figures]


def _utc(value: datetime.datetime) -> datetime.datetime:
    return value if value.tzinfo else value.replace(tzinfo=datetime.UTC)  # SQLite may hand back naive UTC
