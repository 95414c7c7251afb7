"""Was it solved? A closed case asks once; a "no" in time reopens it, once; staff see the answers and figures."""

from __future__ import annotations

import datetime
import re
from typing import Any

import pytest
from sqlalchemy import func, select, update

from backend.cases.models import Case, CaseEvent, CaseFeedback
from backend.core.db import alchemy_config, unscoped_session
from backend.core.i18n import LANGUAGE_COOKIE
from backend.settings import Settings
from backend.tenants.models import Tenant
from tests.conftest import Person
from tests.factories import TenantFixture
from tests.helpers import Client, login, staff_post, statements_run, submit_case
from tests.integration.inbox.town import make_town

META_CSRF = re.compile(r'name="csrf-token" content="([^"]+)"|name="_csrf_token" value="([^"]+)"')


def page_token(html: str) -> str:
    match = META_CSRF.search(html)
    assert match, "page has no CSRF token"
    return match.group(1) or match.group(2)


def english(client: Client) -> Client:
    """The texts asserted here are the English ones."""
    client.cookies.set(LANGUAGE_COOKIE, "en")
    return client


@pytest.fixture(autouse=True)
def _citizen_reads_english(client: Client) -> None:
    english(client)


async def clerk_closes(person: Person, tenant: TenantFixture, *, final: str = "completed", path: str = "") -> str:
    """A clerk takes the tenant's newest case to ``final``; returns the staff case page's path."""
    async with person(tenant.host) as clerk:
        english(clerk)
        await login(clerk, tenant.clerk_email, tenant.password)
        inbox = await clerk.get("/staff")
        case_url = path or re.search(r'href="(/staff/cases/[0-9a-f-]{36})"', inbox.text).group(1)  # type: ignore[union-attr]
        page = await clerk.get(case_url)
        steps = ["in_review", "in_progress", final] if "status-submitted" in page.text else ["in_progress", final]
        if "status-reopened" in page.text:
            steps = [final]
        for status in steps:
            # A rejection needs a message to the citizen (the default workflow's message_required).
            message = "Die Straße gehört nicht der Gemeinde." if status == "rejected" else ""
            done = await staff_post(clerk, case_url, case_url + "/status", {"to_status": status, "message": message})
            assert done.status_code == 303, done.text
    return case_url


async def answer(client: Client, tracking: str, **fields: str) -> Any:
    page = await client.get(tracking)
    return await client.post(
        tracking + "/feedback", data={"_csrf_token": page_token(page.text), **fields}, follow_redirects=False
    )


async def run(settings: Settings, statement: Any) -> Any:
    db = alchemy_config(settings)
    try:
        async with unscoped_session(db) as session:
            return await session.execute(statement)
    finally:
        await db.get_engine().dispose()


async def case_status(settings: Settings, tracking: str) -> str:
    token = tracking.rsplit("/", 1)[1]
    result = await run(settings, select(Case.status).where(Case.tracking_token == token))
    return str(result.scalar_one())


async def feedback_rows(settings: Settings, tenant: TenantFixture) -> int:
    result = await run(settings, select(func.count(CaseFeedback.id)).where(CaseFeedback.tenant_id == tenant.id))
    return int(result.scalar_one())


async def closed_days_ago(settings: Settings, tracking: str, days: int) -> None:
    """Move the case's closing back in time, as if the citizen answered that many days later."""
    token = tracking.rsplit("/", 1)[1]
    case_id = (await run(settings, select(Case.id).where(Case.tracking_token == token))).scalar_one()
    when = datetime.datetime.now(datetime.UTC) - datetime.timedelta(days=days)
    await run(
        settings,
        update(CaseEvent)
        .where(CaseEvent.case_id == case_id, CaseEvent.kind == "status_changed")
        .values(created_at=when)
        .execution_options(synchronize_session=False),
    )


async def test_only_a_closed_case_asks_whether_it_was_resolved(
    client: Client, person: Person, tenant: TenantFixture
) -> None:
    tracking = await submit_case(client, tenant, photo=False)
    assert "Was your request resolved?" not in (await client.get(tracking)).text
    early = await answer(client, tracking, resolved="yes")
    assert early.status_code == 409, "an open case cannot be rated yet"

    await clerk_closes(person, tenant)
    page = await client.get(tracking)
    assert "Was your request resolved?" in page.text
    assert f'action="{tracking}/feedback"' in page.text
    assert 'name="resolved" value="no"' in page.text and 'name="rating" value="5"' in page.text


async def test_feedback_is_stored_once_per_case(
    client: Client, person: Person, tenant: TenantFixture, settings: Settings
) -> None:
    tracking = await submit_case(client, tenant, photo=False)
    await clerk_closes(person, tenant)
    first = await answer(client, tracking, resolved="yes", rating="4", comment="Danke!")
    assert first.status_code == 303
    assert first.headers["location"] == f"{tracking}?feedback=thanks#feedback"
    page = await client.get(first.headers["location"])
    assert "Thank you for your feedback." in page.text and "You told us that your request was resolved." in page.text
    assert 'name="resolved"' not in page.text, "the question is not asked a second time"

    again = await answer(client, tracking, resolved="no", comment="doch nicht")
    assert again.status_code == 409
    assert "You have already told us whether your request was resolved." in again.text
    assert await feedback_rows(settings, tenant) == 1
    assert await case_status(settings, tracking) == "completed", "a later 'no' does not reopen an answered case"


async def test_not_resolved_within_the_period_reopens_the_case_for_the_clerk(
    client: Client, person: Person, tenant: TenantFixture, settings: Settings
) -> None:
    tracking = await submit_case(client, tenant, photo=False)
    case_url = await clerk_closes(person, tenant, final="rejected")
    await closed_days_ago(settings, tracking, 13)
    done = await answer(client, tracking, resolved="no", rating="1", comment="Die Laterne ist immer noch dunkel.")
    assert done.status_code == 303
    assert await case_status(settings, tracking) == "reopened"

    page = await client.get(tracking)
    assert "Reopened" in page.text
    assert "Die Laterne ist immer noch dunkel." in page.text, "the comment is a public message in the timeline"
    async with person(tenant.host) as clerk:
        english(clerk)
        await login(clerk, tenant.clerk_email, tenant.password)
        inbox = await clerk.get("/staff?status=reopened")
        assert "Reopened by citizen" in inbox.text
        staff_page = await clerk.get(case_url)
        assert "Feedback from the citizen" in staff_page.text
        assert "1 of 5" in staff_page.text and "reopened the case" in staff_page.text
        assert 'value="in_progress"' in staff_page.text, "the clerk can take the case up again"


async def test_not_resolved_after_the_period_keeps_the_case_closed(
    client: Client, person: Person, tenant: TenantFixture, settings: Settings
) -> None:
    tracking = await submit_case(client, tenant, photo=False)
    await clerk_closes(person, tenant)
    await closed_days_ago(settings, tracking, 15)
    page = await client.get(tracking)
    assert "within 14 days" not in page.text, "no promise of a reopen once the period is over"
    done = await answer(client, tracking, resolved="no", comment="zu spät")
    assert done.status_code == 303
    assert await case_status(settings, tracking) == "completed"
    assert await feedback_rows(settings, tenant) == 1


async def test_each_municipality_sets_its_own_reopen_period(
    client: Client, person: Person, tenant: TenantFixture, settings: Settings
) -> None:
    await run(settings, update(Tenant).where(Tenant.id == tenant.id).values(feedback_reopen_days=30))
    tracking = await submit_case(client, tenant, photo=False)
    await clerk_closes(person, tenant)
    await closed_days_ago(settings, tracking, 20)
    assert "within 30 days" in (await client.get(tracking)).text
    assert (await answer(client, tracking, resolved="no")).status_code == 303
    assert await case_status(settings, tracking) == "reopened"


async def test_a_case_reopens_only_once_but_takes_a_second_answer(
    client: Client, person: Person, tenant: TenantFixture, settings: Settings
) -> None:
    tracking = await submit_case(client, tenant, photo=False)
    case_url = await clerk_closes(person, tenant)
    assert (await answer(client, tracking, resolved="no", comment="erstes Nein")).status_code == 303
    assert await case_status(settings, tracking) == "reopened"

    await clerk_closes(person, tenant, path=case_url)
    assert await case_status(settings, tracking) == "completed"
    page = await client.get(tracking)
    assert 'name="resolved"' in page.text, "the closed-again case asks again"
    assert "takes your request up again" not in page.text
    second = await answer(client, tracking, resolved="no", comment="zweites Nein")
    assert second.status_code == 303
    assert await case_status(settings, tracking) == "completed", "no second reopen"
    assert await feedback_rows(settings, tenant) == 2
    assert (await answer(client, tracking, resolved="no")).status_code == 409
    assert await feedback_rows(settings, tenant) == 2


async def test_a_closed_case_page_reads_the_answers_with_the_case_in_one_statement(
    client: Client, person: Person, tenant: TenantFixture
) -> None:
    """The page a citizen opens from the notification that the case was closed: its feedback answers come with the
    case and its timeline, not from a statement of their own (a round trip more for every such page)."""
    tracking = await submit_case(client, tenant, photo=False)
    await clerk_closes(person, tenant)
    assert (await answer(client, tracking, resolved="yes", rating="5")).status_code == 303
    with statements_run() as statements:
        page = await client.get(tracking)
    assert "You told us that your request was resolved." in page.text
    reading_answers = [s for s in statements if "case_feedback" in s]
    assert len(reading_answers) == 1, reading_answers
    assert "case_event" in reading_answers[0] and "case_file" in reading_answers[0]


async def test_bad_feedback_answers_get_a_clear_400(client: Client, person: Person, tenant: TenantFixture) -> None:
    tracking = await submit_case(client, tenant, photo=False)
    await clerk_closes(person, tenant)
    for fields in ({"resolved": "maybe"}, {}, {"resolved": "yes", "rating": "9"}, {"resolved": "yes", "rating": "x"}):
        response = await answer(client, tracking, **fields)
        assert response.status_code == 400, fields
    too_long = await answer(client, tracking, resolved="yes", comment="x" * 2001)
    assert too_long.status_code == 400
    assert "at most 2000 characters" in too_long.text
    page = await client.get(tracking)
    unknown = await client.post(
        "/r/" + "x" * 32 + "/feedback", data={"_csrf_token": page_token(page.text), "resolved": "yes"}
    )
    assert unknown.status_code == 404


async def test_staff_see_share_resolved_and_mean_rating_per_service_of_their_municipality(
    client: Client, person: Person, tenant: TenantFixture, other_tenant: TenantFixture, settings: Settings
) -> None:
    one = await submit_case(client, tenant, key="device-key-feedback-000001", photo=False)
    await clerk_closes(person, tenant)
    two = await submit_case(client, tenant, key="device-key-feedback-000002", photo=False)
    await clerk_closes(person, tenant)
    await answer(client, one, resolved="yes", rating="5")
    await answer(client, two, resolved="no", rating="2")

    async with person(tenant.host) as clerk:
        english(clerk)
        await login(clerk, tenant.clerk_email, tenant.password)
        page = await clerk.get("/staff/feedback")
        assert page.status_code == 200
        row = re.search(r"<tr>\s*<th scope=\"row\">Broken street light</th>(.*?)</tr>", page.text, re.S)
        assert row, page.text
        cells = re.findall(r"<td>([^<]*)</td>", row.group(1))
        assert cells == ["2", "50 %", "3,5 of 5"] or cells == ["2", "50 %", "3.5 of 5"], cells
    async with person(other_tenant.host) as stranger:
        english(stranger)
        await login(stranger, other_tenant.clerk_email, other_tenant.password)
        page = await stranger.get("/staff/feedback")
        assert "No feedback yet." in page.text, "figures never cross municipalities"
    town = await make_town(settings, tenant)
    async with person(tenant.host) as bernd:
        english(bernd)
        await login(bernd, town.bernd_email, tenant.password)
        page = await bernd.get("/staff/feedback")
        assert "No feedback yet." in page.text, "a clerk sees the figures of their departments' cases"
    async with person(tenant.host) as nobody:
        assert (await nobody.get("/staff/feedback", follow_redirects=False)).status_code == 303
