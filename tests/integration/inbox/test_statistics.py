"""The statistics page: open and overdue requests, processing times (median, 90th percentile), deadlines kept,
incoming requests per week and feedback, on a fixed set of cases with known timeline times."""

from __future__ import annotations

import datetime
import re
import secrets
import uuid
from dataclasses import dataclass, field

import pytest
from litestar import Litestar
from sqlalchemy import select

from backend.accounts.services import AccountService
from backend.cases.models import Case, CaseEvent, CaseFeedback
from backend.cases.search import fold
from backend.cases.services import CaseService
from backend.catalogue.models import Service
from backend.catalogue.services import CatalogueService
from backend.core.db import alchemy_config, tenant_session
from backend.core.storage import LocalStorage
from backend.inbox.statistics import Dashboard, StatisticsService, percentile
from backend.settings import Settings
from backend.tenants.models import Tenant
from backend.tenants.services import to_context
from tests.conftest import Person
from tests.factories import PASSWORD, REPORT_FORM, TenantFixture
from tests.helpers import login

UTC = datetime.UTC
# A Wednesday, 12:00 in Berlin: the current week began on Monday 15 June (local).
NOW = datetime.datetime(2026, 6, 17, 10, 0, tzinfo=UTC)
DAY = datetime.timedelta(days=1)
HOUR = datetime.timedelta(hours=1)


@dataclass
class Spec:
    """A case: its service, when it was submitted (``ago`` before now) and its timeline after that."""

    ago: datetime.timedelta
    status: str
    service: str = "street-light"
    # (time after submission, new status) for each status change, in order
    changes: list[tuple[datetime.timedelta, str]] = field(default_factory=list)
    due: datetime.timedelta | None = None  # after submission
    feedback: list[bool] = field(default_factory=list)  # the answers, round by round
    summary: str = ""


# Closed cases of the street light, by days taken: c1..c5 closed 6 days ago, c6 and c7 69 days ago, c8 136 days ago.
CLOSED_AGO = NOW - datetime.datetime(2026, 6, 11, 10, 0, tzinfo=UTC)
SPECS: list[Spec] = [
    Spec(CLOSED_AGO + 1 * DAY, "completed", changes=[(1 * DAY, "completed")], due=2 * DAY, feedback=[True]),
    Spec(CLOSED_AGO + 2 * DAY, "rejected", changes=[(2 * DAY, "rejected")]),
    Spec(CLOSED_AGO + 3 * DAY, "completed", changes=[(3 * DAY, "completed")], feedback=[False]),
    Spec(CLOSED_AGO + 4 * DAY, "completed", changes=[(4 * DAY, "completed")], due=3 * DAY),  # late
    # Reopened by the citizen and closed again: the latest closing counts (10 days); the latest answer too.
    Spec(
        CLOSED_AGO + 10 * DAY,
        "completed",
        changes=[(3 * DAY, "completed"), (4 * DAY, "reopened"), (10 * DAY, "completed")],
        feedback=[False, True],
    ),
    Spec(CLOSED_AGO + 66 * DAY + 20 * DAY, "completed", changes=[(20 * DAY, "completed")], due=25 * DAY),
    Spec(CLOSED_AGO + 66 * DAY + 30 * DAY, "completed", changes=[(30 * DAY, "completed")]),
    Spec(NOW - datetime.datetime(2026, 1, 1, 10, tzinfo=UTC), "completed", changes=[(31 * DAY, "completed")], due=DAY),
    # The other service: 5 days, closed exactly at its deadline (in time).
    Spec(15 * DAY, "completed", service="second", changes=[(5 * DAY, "completed")], due=5 * DAY, feedback=[True]),
    # Open cases. Monday 00:30 in Berlin is still Sunday in UTC: it belongs to this week.
    Spec(2 * DAY + 11 * HOUR + 30 * datetime.timedelta(minutes=1), "submitted", due=2 * DAY),  # overdue
    Spec(2 * DAY + 12 * HOUR + 30 * datetime.timedelta(minutes=1), "submitted"),  # Sunday 23:30: last week
    Spec(DAY + 2 * HOUR, "in_review", changes=[(HOUR, "in_review")], due=4 * DAY),
    Spec(28 * DAY + 2 * HOUR, "needs_info", changes=[(DAY, "in_review"), (2 * DAY, "needs_info")], due=5 * DAY),
    Spec(14 * DAY + 2 * HOUR, "in_progress", changes=[(DAY, "in_progress")], due=14 * DAY + HOUR),  # overdue
    # Reopened and open now: not a closed case, whatever its earlier closing.
    Spec(
        44 * DAY + 2 * HOUR,
        "reopened",
        service="second",
        changes=[(2 * DAY, "completed"), (4 * DAY, "reopened")],
        feedback=[False],
    ),
]


async def _second_service(settings: Settings, tenant: TenantFixture) -> None:
    db = alchemy_config(settings)
    try:
        async with tenant_session(db, tenant.id) as session:
            ctx = to_context(await session.get_one(Tenant, tenant.id))
            await CatalogueService(session, ctx).create_service(
                slug="second",
                category={"de": "Abfall", "en": "Waste"},
                name={"de": "Sperrmüll", "en": "Bulky waste"},
                form=REPORT_FORM,
                position=1,
            )
    finally:
        await db.get_engine().dispose()


async def make_cases(settings: Settings, tenant: TenantFixture, specs: list[Spec], now: datetime.datetime) -> None:
    """The cases of ``specs`` with their timelines at explicit times (test data, written directly)."""
    db = alchemy_config(settings)
    try:
        async with tenant_session(db, tenant.id) as session:
            services = {s.slug: s for s in await session.scalars(select(Service))}
            for n, spec in enumerate(specs):
                service = services[spec.service]
                submitted = now - spec.ago
                last = submitted + (spec.changes[-1][0] if spec.changes else datetime.timedelta())
                case = Case(
                    id=uuid.uuid4(),
                    tenant_id=tenant.id,
                    service_id=service.id,
                    department_id=service.department_id,  # as a submission routes it
                    form_version_id=service.current_form_id,
                    reference=f"{submitted.year}-{n + 1:05d}",
                    tracking_token=secrets.token_urlsafe(24),
                    idempotency_key=f"stats-{uuid.uuid4().hex}",
                    status=spec.status,
                    answers={},
                    summary=spec.summary or f"Fall {n + 1}",
                    search_text=fold(spec.summary),
                    due_at=submitted + spec.due if spec.due is not None else None,
                    last_activity_at=last,
                    created_at=submitted,
                )
                session.add(case)
                await session.flush()
                session.add(_event(tenant, case, "submitted", None, "submitted", submitted))
                before = "submitted"
                for after, to_status in spec.changes:
                    session.add(_event(tenant, case, "status_changed", before, to_status, submitted + after))
                    before = to_status
                for round_, resolved in enumerate(spec.feedback):
                    session.add(
                        CaseFeedback(
                            tenant_id=tenant.id,
                            case_id=case.id,
                            round=round_,
                            resolved=resolved,
                            about_status="completed",
                            reopened=not resolved and round_ == 0,
                        )
                    )
                await session.flush()
    finally:
        await db.get_engine().dispose()


def _event(
    tenant: TenantFixture, case: Case, kind: str, from_status: str | None, to_status: str, when: datetime.datetime
) -> CaseEvent:
    return CaseEvent(
        tenant_id=tenant.id,
        case_id=case.id,
        kind=kind,
        actor_kind="staff" if kind == "status_changed" else "citizen",
        from_status=from_status,
        to_status=to_status,
        created_at=when,
    )


async def dashboard(settings: Settings, tenant: TenantFixture, now: datetime.datetime = NOW) -> Dashboard:
    db = alchemy_config(settings)
    try:
        async with tenant_session(db, tenant.id) as session:
            ctx = to_context(await session.get_one(Tenant, tenant.id))
            cases = CaseService(session, ctx, LocalStorage(settings.data_dir / "files"))
            return await StatisticsService(cases).dashboard(now)
    finally:
        await db.get_engine().dispose()


async def add_supervisor(settings: Settings, tenant: TenantFixture) -> str:
    email = f"supervisor@{tenant.slug}.example"
    db = alchemy_config(settings)
    try:
        async with tenant_session(db, tenant.id) as session:
            ctx = to_context(await session.get_one(Tenant, tenant.id))
            await AccountService(session, ctx).add_staff(email, PASSWORD, "Sina Supervisor", "supervisor")
    finally:
        await db.get_engine().dispose()
    return email


def test_percentile_interpolates_between_ranks() -> None:
    assert percentile([], 0.5) is None
    assert percentile([5.0], 0.9) == 5.0
    assert percentile([1.0, 2.0, 3.0, 4.0], 0.5) == 2.5
    assert percentile([1.0, 2.0, 3.0, 4.0, 10.0], 0.9) == pytest.approx(7.6)


async def test_figures_of_a_known_set_of_cases(
    settings: Settings, tenant: TenantFixture, other_tenant: TenantFixture
) -> None:
    await _second_service(settings, tenant)
    await make_cases(settings, tenant, SPECS, NOW)
    stats = await dashboard(settings, tenant)

    assert stats.open_by_status == {"submitted": 2, "in_review": 1, "needs_info": 1, "in_progress": 1, "reopened": 1}
    assert stats.open_total == 6
    assert stats.overdue == 2, "waiting for the citizen is never overdue; a deadline still ahead is not"

    times = {t.service.slug: t for t in stats.times}
    assert list(times) == ["street-light", "second"]
    light, second = times["street-light"], times["second"]
    # 30 days: 1, 2, 3, 4 and 10 days (rejected counts; the reopened case with its latest closing).
    assert (light.windows[30].closed, light.windows[30].median) == (5, 3.0)
    assert light.windows[30].p90 == pytest.approx(7.6)
    # 90 days: also 20 and 30 days; the case closed 136 days ago is not counted.
    assert (light.windows[90].closed, light.windows[90].median) == (7, 4.0)
    assert light.windows[90].p90 == pytest.approx(24.0)
    assert (light.with_deadline, light.in_time, light.percent_in_time) == (3, 2, 67)
    assert (second.windows[30].closed, second.windows[30].median, second.windows[30].p90) == (1, 5.0, 5.0)
    assert (second.with_deadline, second.in_time, second.percent_in_time) == (1, 1, 100), "at the deadline is in time"

    weeks = {w.start.isoformat(): w.count for w in stats.weeks}
    assert len(stats.weeks) == 12
    assert stats.weeks[0].start == datetime.date(2026, 3, 30) and stats.weeks[-1].start == datetime.date(2026, 6, 15)
    assert weeks == {
        "2026-03-30": 0,
        "2026-04-06": 0,
        "2026-04-13": 0,
        "2026-04-20": 0,
        "2026-04-27": 0,
        "2026-05-04": 1,
        "2026-05-11": 0,
        "2026-05-18": 1,
        "2026-05-25": 0,
        "2026-06-01": 4,
        "2026-06-08": 4,
        "2026-06-15": 2,
    }

    feedback = {f.service.slug: (f.resolved, f.not_resolved) for f in stats.feedback}
    assert feedback == {"street-light": (2, 1), "second": (1, 1)}, "the latest answer of a case counts"

    # Another municipality's requests never count here, nor do these count there.
    await make_cases(settings, other_tenant, SPECS[:8] + SPECS[9:10], NOW)
    again = await dashboard(settings, tenant)
    assert (again.open_by_status, again.overdue, again.weeks) == (stats.open_by_status, stats.overdue, stats.weeks)
    assert [(t.service.id, t.windows, t.with_deadline, t.in_time) for t in again.times] == [
        (t.service.id, t.windows, t.with_deadline, t.in_time) for t in stats.times
    ]
    other = await dashboard(settings, other_tenant)
    assert other.open_total == 1 and other.overdue == 1
    assert [t.windows[90].closed for t in other.times] == [7]


async def test_page_shows_the_figures_in_tables_and_charts(
    person: Person, app: Litestar, settings: Settings, tenant: TenantFixture, other_tenant: TenantFixture
) -> None:
    await _second_service(settings, tenant)
    now = datetime.datetime.now(UTC)
    await make_cases(settings, tenant, SPECS, now)
    await make_cases(settings, other_tenant, SPECS[9:11], now)
    email = await add_supervisor(settings, tenant)
    async with person(tenant.host) as supervisor:
        await login(supervisor, email, PASSWORD)
        page = await supervisor.get("/staff/statistics", headers={"accept-language": "en"})
        assert page.status_code == 200
        html = page.text
    assert 'href="/staff/statistics"' in html, "the navigation links the page"
    assert html.count('role="img"') == 5
    assert html.count('<caption id="table-') == 5
    assert len(re.findall(r"<svg[^>]*aria-labelledby=\"(chart-[a-z]+)-title \1-desc\"", html)) == 5
    assert "6 open requests" in html and "2 overdue now" in html, "never the other municipality's"
    row = re.search(r'<th scope="row">Broken street light</th>((?:\s*<td>[^<]*</td>){6})', html)
    assert row is not None, html
    assert re.findall(r"<td>([^<]*)</td>", row.group(1)) == ["5", "3", "7.6", "7", "4", "24"]
    assert re.search(r'<th scope="row">Broken street light</th><td>3</td><td>2</td><td>67 %</td>', html)
    assert re.search(r'<th scope="row">Bulky waste</th><td>1</td><td>1</td></tr>', html), "feedback"
    # Bars are drawn for the numbers: the longest open status bar is the "submitted" one.
    assert 'class="chart-bar"' in html


async def test_page_renders_without_any_case(
    person: Person, app: Litestar, settings: Settings, tenant: TenantFixture
) -> None:
    async with person(tenant.host) as admin:
        await login(admin, tenant.admin_email, tenant.password)
        page = await admin.get("/staff/statistics")
        assert page.status_code == 200
        assert page.headers["cache-control"] == "no-store"
        html = page.text
    assert 'class="chart-bar' not in html, "no bars without cases"
    assert html.count('role="img"') == 2, "open requests and weeks; the rest say there is nothing yet"
    assert "Noch keine Rückmeldungen." in html


async def test_clerks_cannot_open_the_statistics(
    person: Person, app: Litestar, settings: Settings, tenant: TenantFixture
) -> None:
    async with person(tenant.host) as clerk:
        await login(clerk, tenant.clerk_email, tenant.password)
        assert (await clerk.get("/staff/statistics")).status_code == 403
        assert 'href="/staff/statistics"' not in (await clerk.get("/staff")).text
    async with person(tenant.host) as stranger:
        response = await stranger.get("/staff/statistics", follow_redirects=False)
        assert response.status_code in (302, 303) and "/staff/login" in response.headers["location"]


async def test_statistics_of_one_municipality_need_a_login_there(
    person: Person, app: Litestar, settings: Settings, tenant: TenantFixture, other_tenant: TenantFixture
) -> None:
    async with person(tenant.host) as admin:
        await login(admin, tenant.admin_email, tenant.password)
        cookie = admin.cookies.get("rathaus_session")
    async with person(other_tenant.host) as stranger:
        stranger.cookies.set("rathaus_session", cookie or "", domain=other_tenant.host)
        assert (await stranger.get("/staff/statistics", follow_redirects=False)).status_code == 303
