"""The inbox list: full-text search, keyset pages for every sort, counts per status, summary and activity."""

from __future__ import annotations

import datetime
import re
import uuid
from typing import Any

import pytest
from litestar import Litestar
from sqlalchemy import update

from backend.cases.models import Case
from backend.inbox import services as inbox_services
from backend.settings import Settings
from tests.conftest import Person
from tests.factories import TenantFixture
from tests.helpers import VALID_ANSWERS, Client, login, post_form, staff_post, submit_from_review
from tests.integration.inbox.test_deadlines import _cases, _references, _run

NEXT = re.compile(r'<a href="(/staff\?[^"]*after=[^"]*)" rel="next">')


async def _submit(client: Client, tenant: TenantFixture, **answers: str) -> None:
    key = f"list-key-{uuid.uuid4().hex}"
    review = await post_form(client, tenant, {**VALID_ANSWERS, **answers}, key=key)
    assert review.status_code == 200, review.text
    assert (await submit_from_review(client, tenant, review.text)).status_code == 303


def _total(html: str) -> int:
    found = re.search(r'<p class="result-count">(\d+)', html)
    assert found is not None
    return int(found.group(1))


def _unescape(url: str) -> str:
    return url.replace("&amp;", "&")


async def test_search_finds_location_answer_message_partial_word_and_reference_of_own_municipality_only(
    person: Person,
    app: Litestar,
    settings: Settings,
    client: Client,
    tenant: TenantFixture,
    other_tenant: TenantFixture,
) -> None:
    await _submit(client, tenant, where__address="Hauptstraße 12", what="Die Laterne flackert.")
    await _submit(client, tenant, where__address="Bahnhofweg 3", what="Ein Schlagloch vor dem Kiosk.")
    async with person(other_tenant.host) as citizen:
        await _submit(citizen, other_tenant, where__address="Hauptstraße 99", what="Laterne am Kiosk dunkel.")
    lamp, hole = await _cases(settings, tenant)
    async with person(tenant.host) as clerk:
        await login(clerk, tenant.clerk_email, tenant.password)
        url = f"/staff/cases/{hole.id}"
        note = {"body": "Rückruf vereinbart mit Frau Özdemir", "visibility": "internal"}
        assert (await staff_post(clerk, url, url + "/messages", note)).status_code == 303

        async def found(q: str) -> list[str]:
            page = await clerk.get("/staff", params={"q": q})
            assert page.status_code == 200
            return _references(page.text)

        assert await found("Hauptstraße") == [lamp.reference], "a street of the location"
        assert await found("Hauptstrasse") == [lamp.reference], "ss finds ß"
        assert await found("hauptstr") == [lamp.reference], "a part of a word"
        assert await found("flackert") == [lamp.reference], "a word of an answer"
        assert await found("Laterne") == [lamp.reference], "never the other municipality's lamp"
        assert await found("Özdemir") == [hole.reference], "a word of a message"
        assert await found("oezdemir") == [hole.reference], "umlauts typed as oe"
        assert await found("Kiosk") == [hole.reference]
        assert await found(hole.reference) == [hole.reference], "the reference typed exactly"
        assert await found("Bahnhof 3") == [hole.reference], "every word must be found"
        assert await found("Bahnhof Laterne") == []
        assert await found("Zebrastreifen") == []
        if settings.database_url.startswith("postgresql"):
            # PostgreSQL also matches German word forms: the plural finds the singular.
            assert await found("Laternen") == [lamp.reference]
        # Saying something is searchable right away: the status change's message too.
        change = {"to_status": "in_review", "message": "Bauhof informiert"}
        assert (await staff_post(clerk, url, url + "/status", change)).status_code == 303
        assert await found("Bauhof") == [hole.reference]


async def test_rows_show_summary_and_last_activity_which_moves_with_each_change(
    person: Person, app: Litestar, settings: Settings, client: Client, tenant: TenantFixture
) -> None:
    await _submit(client, tenant, where__address="Marktplatz 1", what="Laterne aus.")
    (case,) = await _cases(settings, tenant)
    assert case.summary == "Marktplatz 1"
    assert case.last_activity_at is not None
    submitted_activity = case.last_activity_at
    async with person(tenant.host) as clerk:
        await login(clerk, tenant.clerk_email, tenant.password)
        page = await clerk.get("/staff")
        assert re.search(r"<td[^>]*class=\"summary\">Marktplatz 1</td>", page.text)
        url = f"/staff/cases/{case.id}"
        assert (await staff_post(clerk, url, url + "/status", {"to_status": "in_review"})).status_code == 303
    (case,) = await _cases(settings, tenant)
    assert case.last_activity_at > submitted_activity


async def test_summary_is_the_first_text_answer_without_a_location(
    person: Person, app: Litestar, settings: Settings, client: Client, tenant: TenantFixture
) -> None:
    await _submit(
        client,
        tenant,
        where__address="",
        where__description="",
        where__lat="52.52",
        where__lon="13.40",
        what="Die Laterne   flackert\nnachts.",
    )
    (case,) = await _cases(settings, tenant)
    assert case.location == {"lat": 52.52, "lon": 13.4}
    assert case.summary == "Die Laterne flackert nachts."


@pytest.mark.parametrize("sort", ["newest", "oldest", "due", "activity"])
async def test_keyset_pages_cover_every_case_exactly_once_with_ties(
    sort: str,
    person: Person,
    app: Litestar,
    settings: Settings,
    client: Client,
    tenant: TenantFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(inbox_services, "PAGE_SIZE", 3)
    for n in range(8):
        await _submit(client, tenant, what=f"Laterne Nummer {n}")
    cases = await _cases(settings, tenant)
    same = datetime.datetime(2026, 3, 2, 9, 0, tzinfo=datetime.UTC)
    statements: list[Any] = []
    for n, case in enumerate(cases):
        # Three groups of equal timestamps; every third case has no deadline.
        when = same + datetime.timedelta(hours=n % 3)
        due = None if n % 3 == 0 else when
        statements.append(
            update(Case).where(Case.id == case.id).values(created_at=when, last_activity_at=when, due_at=due)
        )
    await _run(settings, *statements)
    async with person(tenant.host) as clerk:
        await login(clerk, tenant.clerk_email, tenant.password)
        seen: list[str] = []
        url = f"/staff?sort={sort}"
        pages = 0
        while url:
            page = await clerk.get(url)
            assert page.status_code == 200
            refs = _references(page.text)
            assert 0 < len(refs) <= 3
            seen += refs
            pages += 1
            following = NEXT.search(page.text)
            url = _unescape(following.group(1)) if following else ""
            assert pages <= 4
        assert sorted(seen) == sorted(c.reference for c in cases), "every case exactly once"
        assert pages == 3
        first = NEXT.search((await clerk.get(f"/staff?sort={sort}")).text)
        assert first is not None
        assert sort == "newest" or f"sort={sort}" in first.group(1), "the next page keeps the sort"
        by_ref = {c.reference: c for c in await _cases(settings, tenant)}
        keys = [by_ref[r] for r in seen]
        if sort in ("newest", "activity"):
            stamps = [c.created_at for c in keys]
            assert stamps == sorted(stamps, reverse=True)
        elif sort == "oldest":
            stamps = [c.created_at for c in keys]
            assert stamps == sorted(stamps)
        else:
            dated = [c.due_at for c in keys if c.due_at is not None]
            assert dated == sorted(dated)
            assert all(c.due_at is None for c in keys[len(dated) :]), "cases without a deadline come last"


async def test_counts_per_status_follow_the_filter(
    person: Person, app: Litestar, settings: Settings, client: Client, tenant: TenantFixture
) -> None:
    for what in ("Laterne eins", "Laterne zwei", "Bank kaputt"):
        await _submit(client, tenant, what=what)
    first, _second, third = await _cases(settings, tenant)
    await _run(settings, update(Case).where(Case.id.in_([first.id, third.id])).values(status="in_review"))
    async with person(tenant.host) as clerk:
        await login(clerk, tenant.clerk_email, tenant.password)

        def counts(html: str) -> dict[str, int]:
            return {s: int(n) for s, n in re.findall(r'data-status="(\w+)">(\d+)<', html)}

        page = await clerk.get("/staff")
        assert counts(page.text) == {"submitted": 1, "in_review": 2}
        assert _total(page.text) == 3
        page = await clerk.get("/staff?q=Laterne")
        assert counts(page.text) == {"submitted": 1, "in_review": 1}
        page = await clerk.get("/staff?status=in_review")
        assert counts(page.text) == {"submitted": 1, "in_review": 2}, "counts ignore the status chosen"
        assert sorted(_references(page.text)) == sorted([first.reference, third.reference])
        assert _total(page.text) == 2


async def test_date_range_and_replied_filters(
    person: Person, app: Litestar, settings: Settings, client: Client, tenant: TenantFixture
) -> None:
    for n in range(3):
        await _submit(client, tenant, what=f"Laterne {n}")
    march, april, may = await _cases(settings, tenant)

    def at(*parts: int) -> datetime.datetime:
        return datetime.datetime(*parts, tzinfo=datetime.UTC)

    await _run(
        settings,
        update(Case).where(Case.id == march.id).values(created_at=at(2026, 3, 31, 22, 30)),
        update(Case).where(Case.id == april.id).values(created_at=at(2026, 4, 15, 8)),
        update(Case).where(Case.id == may.id).values(created_at=at(2026, 5, 2, 8), citizen_replied_at=at(2026, 5, 3)),
    )
    async with person(tenant.host) as clerk:
        await login(clerk, tenant.clerk_email, tenant.password)
        # 22:30 UTC on 31 March is 1 April in Berlin (summer time): the municipality's day counts.
        page = await clerk.get("/staff?from=2026-04-01&to=2026-04-30")
        assert sorted(_references(page.text)) == sorted([march.reference, april.reference])
        page = await clerk.get("/staff?to=2026-03-31")
        assert _references(page.text) == []
        page = await clerk.get("/staff?from=2026-05-01")
        assert _references(page.text) == [may.reference]
        assert _references((await clerk.get("/staff?replied=1")).text) == [may.reference]
        assert _references((await clerk.get("/staff?citizen_replied=1")).text) == [may.reference], "older links"


GARBAGE = (
    "from=31.12.2026",
    "to=2026-02-30",
    "from=2026-05-01&to=2026-04-01",
    "from=99999-01-01",
    "from=0001-01-01",
    "to=9999-12-31",
    "after=not-a-cursor",
    "after=WyJuZXdlc3QiLCAiYmFkIiwgIngiXQ",
    "sort=due&after=WyJkdWUiLG51bGwsIjEyIl0",
    "sort=due&after=WyJkdWUiLCIyMDI2LTAxLTAxVDAwOjAwOjAwKzAwOjAwIiwxMl0",
    "after=%FF%FE",
    "sort=bogus&due=bogus&status=bogus&replied=yes",
    "page=abc",
    "q=%25%25%25",
    "q=" + "x" * 500,
    "q=\"'();--",
    "q=a+OR+b+NEAR+*",
    "status=submitted&status=in_review",
    "from=",
)


async def test_garbage_parameters_never_fail(
    person: Person, app: Litestar, client: Client, tenant: TenantFixture
) -> None:
    await _submit(client, tenant)
    async with person(tenant.host) as clerk:
        await login(clerk, tenant.clerk_email, tenant.password)
        for query in GARBAGE:
            page = await clerk.get("/staff?" + query)
            assert page.status_code == 200, (query, page.text)
            if query.startswith(("from=3", "to=", "from=2026", "from=9", "from=0")):
                assert 'class="field-error"' in page.text and "aria-invalid" in page.text, query
                assert len(_references(page.text)) == 1, "the other filters still apply"
            partial = await clerk.get("/staff?" + query, headers={"HX-Request": "true", "HX-Target": "inbox-results"})
            assert partial.status_code == 200, query
