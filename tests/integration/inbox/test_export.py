"""GET /staff/inbox.csv: the inbox list of the same filters as a CSV file, streamed in batches, every cell
safe from being run as a formula, only for the municipality's staff."""

from __future__ import annotations

import csv
import datetime
import io
import re

import pytest
from litestar import Litestar
from sqlalchemy import update

from backend.cases.scope import EVERY_CASE
from backend.catalogue.models import Service
from backend.core.db import alchemy_config, tenant_session
from backend.inbox import export
from backend.inbox import services as inbox_services
from backend.inbox.services import InboxFilter, InboxService
from backend.settings import Settings
from backend.tenants.models import Tenant
from backend.tenants.services import to_context
from tests.conftest import Person
from tests.factories import TenantFixture
from tests.helpers import Client, login
from tests.integration.inbox.test_deadlines import _run
from tests.integration.inbox.test_statistics import DAY, HOUR, Spec, _second_service, make_cases

BOM = b"\xef\xbb\xbf"
HEADER_DE = [
    "Vorgangsnummer",
    "Dienstleistung",
    "Status",
    "Kurzbeschreibung",
    "Eingegangen am",
    "Fällig am",
    "Letzte Aktivität",
]
HEADER_EN = ["Reference", "Service", "Status", "Summary", "Submitted", "Due date", "Last activity"]


def _rows(body: bytes) -> list[list[str]]:
    assert body.startswith(BOM), body[:20]
    return list(csv.reader(io.StringIO(body[len(BOM) :].decode("utf-8"), newline=""), delimiter=";"))


async def _staff(person: Person, tenant: TenantFixture, email: str | None = None) -> Client:
    client = person(tenant.host)
    await client.__aenter__()
    assert (await login(client, email or tenant.clerk_email, tenant.password)).status_code == 303
    return client


async def test_export_has_bom_header_in_the_staff_language_and_the_list_columns(
    person: Person, app: Litestar, settings: Settings, tenant: TenantFixture
) -> None:
    now = datetime.datetime.now(datetime.UTC).replace(microsecond=0)
    await make_cases(settings, tenant, [Spec(DAY, "in_review", due=3 * DAY, summary="Hauptstraße 12, Laterne")], now)
    clerk = await _staff(person, tenant)
    try:
        response = await clerk.get("/staff/inbox.csv")
        assert response.status_code == 200
        assert response.headers["content-type"] == "text/csv; charset=utf-8"
        today = datetime.datetime.now(datetime.UTC).date()
        disposition = response.headers["content-disposition"]
        assert re.fullmatch(rf'attachment; filename="rathaus-{tenant.slug}-\d{{4}}-\d{{2}}-\d{{2}}\.csv"', disposition)
        assert abs((datetime.date.fromisoformat(disposition[-15:-5]) - today).days) <= 1
        assert response.headers["cache-control"] == "no-store"
        header, row = _rows(response.content)
        assert header == HEADER_DE
        reference, service, status, summary, submitted, due, activity = row
        assert re.fullmatch(r"\d{4}-\d{5}", reference)
        assert (service, status, summary) == ("Straßenlaterne defekt", "In Prüfung", "Hauptstraße 12, Laterne")
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}", submitted) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", due)
        assert activity == submitted, "nothing happened since the submission"
        english = await clerk.get("/staff/inbox.csv", headers={"accept-language": "en"})
        assert _rows(english.content)[0] == HEADER_EN
        assert _rows(english.content)[1][1:3] == ["Broken street light", "In review"]
    finally:
        await clerk.__aexit__(None, None, None)


async def test_export_applies_the_filters_of_the_list_and_its_order(
    person: Person, app: Litestar, settings: Settings, tenant: TenantFixture, other_tenant: TenantFixture
) -> None:
    await _second_service(settings, tenant)
    now = datetime.datetime.now(datetime.UTC)
    await make_cases(
        settings,
        tenant,
        [
            Spec(3 * DAY, "submitted", summary="Laterne alt"),
            Spec(2 * DAY, "in_review", summary="Laterne neu"),
            Spec(1 * DAY, "submitted", service="second", summary="Sofa am Gehweg"),
            Spec(5 * DAY, "submitted", due=DAY, summary="Laterne überfällig"),
        ],
        now,
    )
    await make_cases(settings, other_tenant, [Spec(HOUR, "submitted", summary="Laterne anderswo")], now)
    # The admin sees every department's cases (the second service has none); clerks' scope: test_handling.py.
    clerk = await _staff(person, tenant, tenant.admin_email)
    try:

        async def summaries(query: str) -> list[str]:
            response = await clerk.get(f"/staff/inbox.csv?{query}")
            assert response.status_code == 200
            return [row[3] for row in _rows(response.content)[1:]]

        everything = ["Sofa am Gehweg", "Laterne neu", "Laterne alt", "Laterne überfällig"]
        assert await summaries("") == everything, "newest first, never another municipality's"
        assert await summaries("sort=oldest") == everything[::-1]
        assert await summaries("status=submitted") == ["Sofa am Gehweg", "Laterne alt", "Laterne überfällig"]
        assert await summaries("service=second") == ["Sofa am Gehweg"]
        assert await summaries("q=Laterne&status=submitted") == ["Laterne alt", "Laterne überfällig"]
        assert await summaries("due=overdue") == ["Laterne überfällig"]
        # The export starts at the first page, whatever page the list was on; bad dates are left out as in the list.
        assert await summaries("after=bm9wZQ&from=gestern") == everything
        inbox = await clerk.get("/staff?status=submitted&service=second&sort=oldest&after=x")
        assert 'href="/staff/inbox.csv?status=submitted&amp;service=second&amp;sort=oldest"' in inbox.text
    finally:
        await clerk.__aexit__(None, None, None)


@pytest.mark.parametrize("start", ["=", "+", "-", "@", "\t", "\r"])
async def test_every_cell_starting_with_a_formula_character_is_quoted(
    start: str, person: Person, app: Litestar, settings: Settings, tenant: TenantFixture
) -> None:
    payload = f'{start}HYPERLINK("https://evil.example";"x")'
    now = datetime.datetime.now(datetime.UTC)
    await make_cases(settings, tenant, [Spec(DAY, "submitted", summary=payload)], now)
    await _run(settings, update(Service).where(Service.tenant_id == tenant.id).values(name={"de": payload}))
    clerk = await _staff(person, tenant)
    try:
        body = (await clerk.get("/staff/inbox.csv")).content
    finally:
        await clerk.__aexit__(None, None, None)
    (row,) = _rows(body)[1:]
    assert row[3] == "'" + payload, "the summary the citizen wrote"
    assert row[1] == "'" + payload, "the service's name"
    assert all(not cell.startswith(export.FORMULA_STARTS) for cell in row)


def test_safe_cell_leaves_ordinary_text_alone() -> None:
    assert export.safe_cell("2026-00012") == "2026-00012"
    assert export.safe_cell("Hauptstraße = Ecke") == "Hauptstraße = Ecke"
    assert export.safe_cell("") == ""
    assert export.safe_cell("-5") == "'-5"


async def test_export_streams_more_rows_than_one_batch_each_once_in_order(
    person: Person, app: Litestar, settings: Settings, tenant: TenantFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(inbox_services, "EXPORT_BATCH", 3)
    now = datetime.datetime.now(datetime.UTC)
    # Equal times in pairs: the keyset must break ties by id without losing or repeating a case.
    await make_cases(settings, tenant, [Spec((n // 2) * HOUR, "submitted", summary=f"Fall {n}") for n in range(8)], now)

    db = alchemy_config(settings)
    try:
        async with tenant_session(db, tenant.id) as session:
            ctx = to_context(await session.get_one(Tenant, tenant.id))
            batches = [
                [row.case.summary for row in batch]
                async for batch in InboxService(session, ctx, scope=EVERY_CASE).export(
                    InboxFilter(sort="oldest"), db, 100
                )
            ]
    finally:
        await db.get_engine().dispose()
    assert [len(b) for b in batches] == [3, 3, 2], "read batch by batch"

    clerk = await _staff(person, tenant)
    try:
        for sort in ("newest", "oldest", "due", "activity"):
            rows = _rows((await clerk.get(f"/staff/inbox.csv?sort={sort}")).content)[1:]
            assert sorted(row[3] for row in rows) == sorted(f"Fall {n}" for n in range(8)), sort
        newest = [row[3] for row in _rows((await clerk.get("/staff/inbox.csv")).content)[1:]]
        assert [int(s.split()[1]) // 2 for s in newest] == [0, 0, 1, 1, 2, 2, 3, 3]
        # Past the cap, the file ends with a row that says it was cut.
        monkeypatch.setattr(export, "MAX_ROWS", 5)
        capped = _rows((await clerk.get("/staff/inbox.csv")).content)
        assert len(capped) == 1 + 5 + 1
        assert "5" in capped[-1][0] and len(capped[-1]) == 1
        monkeypatch.setattr(export, "MAX_ROWS", 8)
        assert len(_rows((await clerk.get("/staff/inbox.csv")).content)) == 1 + 8, "an exact fit is not cut"
    finally:
        await clerk.__aexit__(None, None, None)


async def test_export_is_for_logged_in_staff_of_this_municipality_only(
    person: Person, app: Litestar, settings: Settings, tenant: TenantFixture, other_tenant: TenantFixture
) -> None:
    now = datetime.datetime.now(datetime.UTC)
    await make_cases(settings, tenant, [Spec(DAY, "submitted", summary="Nur hier")], now)
    async with person(tenant.host) as stranger:
        response = await stranger.get("/staff/inbox.csv", follow_redirects=False)
        assert response.status_code == 303 and response.headers["location"].startswith("/staff/login")
        assert "Nur hier" not in response.text
    other = await _staff(person, other_tenant, other_tenant.admin_email)
    try:
        rows = _rows((await other.get("/staff/inbox.csv")).content)
        assert rows == [HEADER_DE], "the other municipality's admin gets only their own (no) requests"
        cookie = other.cookies.get("rathaus_session")
    finally:
        await other.__aexit__(None, None, None)
    async with person(tenant.host) as borrowed:
        borrowed.cookies.set("rathaus_session", cookie or "", domain=tenant.host)
        response = await borrowed.get("/staff/inbox.csv", follow_redirects=False)
        assert response.status_code == 303 and "Nur hier" not in response.text
