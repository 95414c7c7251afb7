"""The clerk's queue: the municipality's cases, filtered, searched and paged by keyset."""

from __future__ import annotations

import base64
import binascii
import copy
import datetime
import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from advanced_alchemy.extensions.litestar import SQLAlchemyAsyncConfig
from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    bindparam,
    false,
    func,
    literal_column,
    or_,
    select,
    table,
    text,
    true,
    tuple_,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import load_only

from backend.accounts.models import User
from backend.cases import deadlines, search, tally, workflow
from backend.cases.models import PRIORITIES, Case
from backend.cases.scope import CaseScope
from backend.cases.workflow import OPEN_STATUSES
from backend.catalogue.models import Service
from backend.core.db import read_only, tenant_session
from backend.core.i18n import gettext as _
from backend.core.tenancy import TenantContext

PAGE_SIZE = 50
# Rows an export (CSV) reads at a time.
EXPORT_BATCH = 500
DUE_FILTERS = ("overdue", "soon")
SORTS = ("newest", "oldest", "due", "activity")
# Older links keep working: "new" was the name of "newest".
SORT_ALIASES = {"new": "newest"}
MAX_QUERY = 100
# The clock runs while a case is open and not waiting for the citizen (needs_info pauses it).
RUNNING_STATUSES = tuple(s for s in OPEN_STATUSES if s != "needs_info")


def _uuid_text(value: str) -> str:
    """A case, person or department id as the URL gives it, in its canonical form; "" for anything else."""
    try:
        return str(uuid.UUID(value)) if 32 <= len(value) <= 36 else ""
    except ValueError:
        return ""


def _date(value: str) -> datetime.date | None:
    """A date as a date field sends it (YYYY-MM-DD), of a year requests can have; None for anything else (a day
    of year 1 would not even turn into a moment in the municipality's time zone)."""
    try:
        day = datetime.date.fromisoformat(value) if len(value) == 10 else None
    except ValueError:
        return None
    return day if day is not None and 1900 <= day.year <= 2999 else None


@dataclass(frozen=True)
class InboxFilter:
    """What the clerk asked for; every part lives in the URL (see ``query``)."""

    status: str = ""
    service: str = ""
    q: str = ""
    replied: bool = False  # only cases the citizen has answered since a clerk last opened them
    due: str = ""  # "overdue" or "soon" (within SOON_WORKING_DAYS working days)
    sort: str = "newest"  # newest / oldest (received), due (earliest deadline first, none last), activity
    date_from: datetime.date | None = None  # received on or after this local day
    date_to: datetime.date | None = None  # received on or before this local day
    assignee: str = ""  # "me", "none" (nobody's yet) or a person's id
    department: str = ""  # a department's id
    priority: str = ""  # one of cases.models.PRIORITIES
    after: str = ""  # the keyset cursor of the page before
    errors: dict[str, str] = field(default_factory=dict, compare=False)
    raw: dict[str, str] = field(default_factory=dict, compare=False)  # what was typed, shown again on errors

    @classmethod
    def parse(cls, params: dict[str, str]) -> InboxFilter:
        """The filter from query parameters: unknown values are ignored, badly typed dates get a message."""
        errors: dict[str, str] = {}
        dates: dict[str, datetime.date | None] = {}
        for name in ("from", "to"):
            value = params.get(name, "").strip()
            dates[name] = None
            if value:
                dates[name] = _date(value)
                if dates[name] is None:
                    errors[name] = _("Please enter the date as YYYY-MM-DD, e.g. 2026-03-31.")
        if dates["from"] and dates["to"] and dates["from"] > dates["to"]:
            errors["to"] = _("The end date must not be before the start date.")
            dates["to"] = None
        status, due, sort = params.get("status", ""), params.get("due", ""), params.get("sort", "")
        sort = SORT_ALIASES.get(sort, sort)
        assignee, priority = params.get("assignee", "").strip(), params.get("priority", "")
        return cls(
            status=status if status in workflow.STATUSES else "",
            service=params.get("service", "")[:80],
            q=params.get("q", "").strip()[:MAX_QUERY],
            replied="1" in (params.get("replied"), params.get("citizen_replied")),
            due=due if due in DUE_FILTERS else "",
            sort=sort if sort in SORTS else "newest",
            date_from=dates["from"],
            date_to=dates["to"],
            assignee=assignee if assignee in ("me", "none") else _uuid_text(assignee),
            department=_uuid_text(params.get("department", "").strip()),
            priority=priority if priority in PRIORITIES else "",
            after=params.get("after", "")[:200],
            errors=errors,
            raw={name: params.get(name, "")[:40] for name in ("from", "to")},
        )

    def query(self, **changes: Any) -> str:
        """This filter as a query string (for links), with ``changes`` applied; empty parts are left out."""
        flt = replace(self, **changes)
        pairs = {
            "status": flt.status,
            "service": flt.service,
            "q": flt.q,
            "replied": "1" if flt.replied else "",
            "due": flt.due,
            "from": flt.date_from.isoformat() if flt.date_from else "",
            "to": flt.date_to.isoformat() if flt.date_to else "",
            "assignee": flt.assignee,
            "department": flt.department,
            "priority": flt.priority,
            "sort": flt.sort if flt.sort != "newest" else "",
            "after": flt.after,
        }
        return urlencode({k: v for k, v in pairs.items() if v})


@dataclass(frozen=True)
class DueNow:
    """Where deadlines stand at this moment, for one municipality."""

    now: datetime.datetime
    soon_until: datetime.datetime
    timezone: str

    def state(self, case: Case) -> str:
        """ "overdue", "soon" or "" for a case (none while it waits for the citizen or is closed)."""
        if case.due_at is None or case.status not in RUNNING_STATUSES:
            return ""
        if case.due_at <= self.now:
            return "overdue"
        return "soon" if case.due_at <= self.soon_until else ""

    def day(self, case: Case) -> datetime.date | None:
        return deadlines.local_due_day(case.due_at, self.timezone) if case.due_at else None


async def due_now(session: AsyncSession, tenant: TenantContext) -> DueNow:
    now = datetime.datetime.now(datetime.UTC)
    state = await deadlines.tenant_state(session, tenant.id)
    return DueNow(now, deadlines.soon_limit(now, state, tenant.timezone), tenant.timezone)


@dataclass
class InboxRow:
    case: Case
    service: Service
    due: str = ""
    due_day: datetime.date | None = None
    assignee: str = ""  # the name of the person working on it


@dataclass
class InboxPage:
    rows: list[InboxRow]
    total: int  # cases matching the filter (all pages)
    counts: dict[str, int]  # per status, for the filter without its status part
    replied: int = 0  # of the matching cases, those with a reply no clerk has seen yet
    next_after: str = ""  # the cursor of the next page ("" on the last page)


# Keyset order per sort: (column, descending). The case id breaks ties, in the same direction.
_ORDER = {
    "newest": (Case.created_at, True),
    "oldest": (Case.created_at, False),
    "due": (Case.due_at, False),
    "activity": (Case.last_activity_at, True),
}


def encode_cursor(sort: str, case: Case) -> str:
    column, _desc = _ORDER[sort]
    key = getattr(case, column.key)
    raw = json.dumps([sort, key.isoformat() if key is not None else None, case.id.hex])
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(sort: str, cursor: str) -> tuple[datetime.datetime | None, uuid.UUID] | None:
    """The (sort key, case id) a cursor holds; None for anything that is not a cursor of this sort."""
    try:
        raw = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        cursor_sort, key, case_id = raw
        if cursor_sort != sort or (key is None and sort != "due"):
            return None
        when = datetime.datetime.fromisoformat(key) if key is not None else None
        if when is not None and when.tzinfo is None:
            return None
        return when, uuid.UUID(hex=case_id)
    except (ValueError, TypeError, AttributeError, binascii.Error):
        return None


def _after(sort: str, key: datetime.datetime | None, case_id: uuid.UUID) -> ColumnElement[bool]:
    """Rows after (key, case_id) in the sort's order."""
    column, desc = _ORDER[sort]
    last = (bindparam("after_key", key, type_=column.type), bindparam("after_id", case_id, type_=Case.id.type))
    if sort == "due":  # ascending, cases without a deadline last
        if key is None:
            return and_(Case.due_at.is_(None), Case.id > last[1])
        return or_(tuple_(Case.due_at, Case.id) > tuple_(*last), Case.due_at.is_(None))
    if desc:
        return tuple_(column, Case.id) < tuple_(*last)
    return tuple_(column, Case.id) > tuple_(*last)


def _order(sort: str) -> tuple[Any, ...]:
    column, desc = _ORDER[sort]
    if sort == "due":
        return (Case.due_at.asc().nulls_last(), Case.id.asc())
    return (column.desc(), Case.id.desc()) if desc else (column.asc(), Case.id.asc())


_case_search = table("case_search")
# What a row shows and its cursor needs: never the answers or the (long) search text.
_LISTED = (
    Case.id,
    Case.tenant_id,
    Case.service_id,
    Case.reference,
    Case.status,
    Case.summary,
    Case.due_at,
    Case.citizen_replied_at,
    Case.last_activity_at,
    Case.created_at,
    Case.department_id,
    Case.assignee_id,
    Case.priority,
    Case.version,
)


def _pg_like(word: str) -> str:
    escaped = word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def search_condition(q: str, dialect: str) -> ColumnElement[bool]:
    """Cases whose search text holds every word of ``q`` (also as part of a word), or - PostgreSQL - that
    match it as German full text (word forms: "Laternen" finds "Laterne")."""
    words = search.words(q)
    if not words:
        return true()
    if dialect == "postgresql":
        # Trigram GIN (tenant_id, search_text gin_trgm_ops) answers the LIKEs; LIKE's escape is the backslash.
        parts = and_(*(Case.search_text.like(_pg_like(w)) for w in words))
        if not all(w.isalpha() for w in words):
            # Word forms are for words: "2026_" or "2026%00012" are characters to find as typed.
            return parts
        # case_file.search_vector is to_tsvector('german', search_text), kept by PostgreSQL (migration 0030).
        german = literal_column("'german'::regconfig")
        fts = literal_column("case_file.search_vector").op("@@")(func.plainto_tsquery(german, " ".join(words)))
        return or_(parts, fts)
    # SQLite: the FTS5 trigram index finds words of 3 characters or more; shorter ones are compared directly.
    conditions: list[ColumnElement[bool]] = [Case.search_text.contains(w, autoescape=True) for w in words if len(w) < 3]
    long = [w for w in words if len(w) >= 3]
    if long:
        match = " AND ".join('"' + w.replace('"', '""') + '"' for w in long)
        found = (
            select(literal_column("rowid"))
            .select_from(_case_search)
            .where(text("case_search MATCH :match").bindparams(match=match))
        )
        conditions.append(literal_column("case_file.rowid").in_(found))
    return and_(*conditions)


class InboxService:
    def __init__(self, session: AsyncSession, tenant: TenantContext, *, scope: CaseScope) -> None:
        self.session = session
        self.tenant = tenant
        # Whose cases the person sees (cases.scope): every query of the inbox goes through _filtered.
        self.scope = scope

    async def _service_id(self, flt: InboxFilter) -> uuid.UUID | None:
        """The id of the filter's service (by its address name); None when there is no such service.

        Looked up first, so that the case query compares with a value: the planner then knows how many of the
        town's cases the service has (a subquery or a join hides it, and it sorts a whole town for one page)."""
        if not flt.service:
            return None
        return await self.session.scalar(select(Service.id).where(Service.slug == flt.service))

    def _filtered(
        self, query: Select[Any], flt: InboxFilter, due: DueNow, service_id: uuid.UUID | None = None
    ) -> Select[Any]:
        """The cases the person may see, by every part of the filter but the status and the page
        (``service_id``: the filter's service, from ``_service_id``)."""
        if not self.scope.sees_all:
            query = query.where(self.scope.condition())
        if flt.assignee == "me":
            query = query.where(Case.assignee_id == self.scope.user_id if self.scope.user_id else false())
        elif flt.assignee == "none":
            query = query.where(Case.assignee_id.is_(None))
        elif flt.assignee:
            query = query.where(Case.assignee_id == uuid.UUID(flt.assignee))
        if flt.department:
            query = query.where(Case.department_id == uuid.UUID(flt.department))
        if flt.priority:
            query = query.where(Case.priority == flt.priority)
        if flt.service:
            query = query.where(Case.service_id == service_id if service_id is not None else false())
        if flt.replied:
            query = query.where(Case.citizen_replied_at.is_not(None))
        if flt.due in DUE_FILTERS:
            query = query.where(Case.status.in_(RUNNING_STATUSES), Case.due_at.is_not(None))
            if flt.due == "overdue":
                query = query.where(Case.due_at <= due.now)
            else:
                query = query.where(Case.due_at > due.now, Case.due_at <= due.soon_until)
        zone = ZoneInfo(self.tenant.timezone)
        if flt.date_from:
            start = datetime.datetime.combine(flt.date_from, datetime.time(), zone).astimezone(datetime.UTC)
            query = query.where(Case.created_at >= start)
        if flt.date_to:
            end = datetime.datetime.combine(flt.date_to + datetime.timedelta(days=1), datetime.time(), zone)
            query = query.where(Case.created_at < end.astimezone(datetime.UTC))
        if flt.q:
            dialect = self.session.bind.dialect.name if self.session.bind is not None else "sqlite"
            query = query.where(search_condition(flt.q, dialect))
        return query

    async def list(self, flt: InboxFilter) -> InboxPage:
        due = await due_now(self.session, self.tenant)
        service_id = await self._service_id(flt)
        per_status = await self._counts(flt, due, service_id)
        shown = [per_status.get(flt.status, (0, 0))] if flt.status else list(per_status.values())
        # The page's cases alone, by the keyset index; their services and assignees' names after. (Joined in, the
        # planner misjudges how many of a town's cases a service has and sorts all of them for one page.)
        query = self._filtered(select(Case).options(load_only(*_LISTED)), flt, due, service_id)
        if flt.status:
            query = query.where(Case.status == flt.status)
        cursor = decode_cursor(flt.sort, flt.after) if flt.after else None
        if cursor is not None:
            query = query.where(_after(flt.sort, *cursor))
        found = list(await self.session.scalars(query.order_by(*_order(flt.sort)).limit(PAGE_SIZE + 1)))
        page = found[:PAGE_SIZE]
        services = await self._services_of(page, {})
        names = await self.names_of(page)
        rows = [
            InboxRow(c, services[c.service_id], due.state(c), due.day(c), names.get(c.assignee_id, "")) for c in page
        ]
        return InboxPage(
            rows=rows,
            total=sum(n for n, _r in shown),
            counts={status: n for status, (n, _r) in per_status.items()},
            replied=sum(r for _n, r in shown),
            next_after=encode_cursor(flt.sort, rows[-1].case) if len(found) > PAGE_SIZE else "",
        )

    async def _counts(self, flt: InboxFilter, due: DueNow, service_id: uuid.UUID | None) -> dict[str, tuple[int, int]]:
        """(cases, cases with an unseen reply) per status, for the filter without its status part.

        Filters by department, service and reply alone (and none) are read from the running counts
        (cases/tally.py); so are the overdue cases of these: the running ones with a deadline, less those whose
        deadline is still ahead (a range of the deadline index). Any other part of the filter has them counted,
        by one grouped query."""
        overdue = flt.due == "overdue" and not flt.replied
        if not (flt.assignee or flt.priority or flt.date_from or flt.date_to or flt.q) and (
            overdue or flt.due not in DUE_FILTERS
        ):
            if flt.service and service_id is None:
                return {}
            found = await tally.counts(
                self.session,
                self.tenant.id,
                self.scope,
                department_id=uuid.UUID(flt.department) if flt.department else None,
                service_id=service_id,
                dated=overdue,
            )
            if overdue:
                ahead = self._filtered(
                    select(Case.status, func.count(), func.count(Case.citizen_replied_at))
                    .where(Case.status.in_(RUNNING_STATUSES), Case.due_at > due.now)
                    .group_by(Case.status),
                    replace(flt, due=""),
                    due,
                    service_id,
                )
                later = {status: (n, r) for status, n, r in (await self.session.execute(ahead)).tuples()}
                found = {
                    status: (n - later.get(status, (0, 0))[0], r - later.get(status, (0, 0))[1])
                    for status, (n, r) in found.items()
                    if status in RUNNING_STATUSES
                }
                return {status: (n, r) for status, (n, r) in found.items() if n}
            if flt.replied:
                return {status: (replied, replied) for status, (_n, replied) in found.items() if replied}
            return found
        grouped = self._filtered(
            select(Case.status, func.count(), func.count(Case.citizen_replied_at)).group_by(Case.status),
            flt,
            due,
            service_id,
        )
        return {status: (n, replied) for status, n, replied in (await self.session.execute(grouped)).tuples()}

    async def _services_of(self, cases: list[Case], known: dict[uuid.UUID, Service]) -> dict[uuid.UUID, Service]:
        """The services of ``cases`` (added to ``known``, the ones read before)."""
        wanted = {c.service_id for c in cases} - known.keys()
        if wanted:
            known.update((s.id, s) for s in await self.session.scalars(select(Service).where(Service.id.in_(wanted))))
        return known

    async def names_of(self, cases: list[Case]) -> dict[uuid.UUID | None, str]:
        """The names of the people working on ``cases``, by their ids."""
        people = {c.assignee_id for c in cases if c.assignee_id is not None}
        if not people:
            return {}
        found = await self.session.execute(select(User.id, User.display_name).where(User.id.in_(people)))
        return {user_id: name for user_id, name in found.tuples()}

    async def export(self, flt: InboxFilter, db: SQLAlchemyAsyncConfig, limit: int) -> AsyncIterator[list[InboxRow]]:
        """Every case of the filter (its status included, from the first page on) in the list's order, at most
        ``limit``, in batches of EXPORT_BATCH rows read by keyset: never all of them in memory.

        A streamed answer outlives the request's session (it is closed when the answer starts), so the rows are
        read through a session of their own, without a transaction. The reading is done by a copy of this
        service on that session, so everything that limits what this service shows limits the export too.
        """
        async with tenant_session(db, self.tenant.id) as session:
            await read_only(session)
            reader = copy.copy(self)
            reader.session = session
            due = await due_now(session, self.tenant)
            query = reader._filtered(select(Case).options(load_only(*_LISTED)), flt, due, await reader._service_id(flt))
            services: dict[uuid.UUID, Service] = {}
            if flt.status:
                query = query.where(Case.status == flt.status)
            column = _ORDER[flt.sort][0]
            last: tuple[datetime.datetime | None, uuid.UUID] | None = None
            sent = 0
            while sent < limit:
                size = min(EXPORT_BATCH, limit - sent)
                batch = query if last is None else query.where(_after(flt.sort, *last))
                found = list(await session.scalars(batch.order_by(*_order(flt.sort)).limit(size)))
                if not found:
                    return
                await reader._services_of(found, services)
                yield [InboxRow(c, services[c.service_id], due.state(c), due.day(c)) for c in found]
                sent += len(found)
                if len(found) < size:
                    return
                tail = found[-1]
                last = (getattr(tail, column.key), tail.id)
                session.expunge_all()  # what was sent is not kept
