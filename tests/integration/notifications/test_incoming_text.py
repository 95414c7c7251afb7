"""Text from citizens and staff is stored clean (PostgreSQL refuses NUL outright), and a bad address is refused."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from backend.cases.models import Case, CaseEvent
from backend.core.db import alchemy_config, unscoped_session
from backend.settings import Settings
from tests.conftest import Person, csrf_token
from tests.factories import TenantFixture
from tests.helpers import VALID_ANSWERS, Client, login, post_form, submit_case, submit_from_review

DIRTY = [
    pytest.param("\x00", id="nul"),
    pytest.param("\x1b[2J", id="escape"),
    pytest.param("\u202e", id="bidi-override"),
]
# What is left of each: the escape character goes, the harmless text after it stays.
LEFT = {"\x00": "", "\x1b[2J": "[2J", "\u202e": ""}


async def stored(settings: Settings, tenant: TenantFixture) -> tuple[list[Case], list[CaseEvent]]:
    db = alchemy_config(settings)
    try:
        async with unscoped_session(db) as session:
            cases = list(await session.scalars(select(Case).where(Case.tenant_id == tenant.id)))
            events = list(await session.scalars(select(CaseEvent).where(CaseEvent.tenant_id == tenant.id)))
            return cases, events
    finally:
        await db.get_engine().dispose()


def assert_clean(value: Any) -> None:
    text = repr(value) if not isinstance(value, str) else value
    for bad in ("\x00", "\x1b", "\u202e", "\\x00", "\\x1b", "\\u202e"):
        assert bad not in text, value


@pytest.mark.parametrize("dirt", DIRTY)
async def test_answers_with_control_characters_are_stored_clean(
    client: Client, tenant: TenantFixture, settings: Settings, dirt: str
) -> None:
    answers = {
        **VALID_ANSWERS,
        "what": f"Die Laterne{dirt} ist dunkel.",
        "where__description": f"vor{dirt} der Bäckerei",
    }
    review = await post_form(client, tenant, answers)
    assert review.status_code == 200
    done = await submit_from_review(client, tenant, review.text)
    assert done.status_code == 303
    [case], _ = await stored(settings, tenant)
    assert case.answers["what"] == f"Die Laterne{LEFT[dirt]} ist dunkel."
    assert_clean(case.answers)
    assert_clean(case.location)


async def test_a_script_as_email_address_is_refused_and_never_stored(
    client: Client, tenant: TenantFixture, settings: Settings
) -> None:
    answers = {**VALID_ANSWERS, "email": '"><script>alert(1)</script>@x.example'}
    page = await post_form(client, tenant, answers)
    assert page.status_code in (200, 422)
    assert "name@example.org" in page.text, "the field explains what an address looks like"
    assert "<script>alert(1)</script>" not in page.text
    cases, _ = await stored(settings, tenant)
    assert cases == []


@pytest.mark.parametrize("dirt", DIRTY)
async def test_staff_messages_notes_and_status_texts_are_stored_clean(
    client: Client, tenant: TenantFixture, settings: Settings, clerk_of, dirt: str
) -> None:
    await submit_case(client, tenant, photo=False)
    clerk = await clerk_of(tenant)
    assert (await clerk.set_status("in_review", f"Wir{dirt} prüfen.")).status_code == 303
    assert (await clerk.message(f"Danke{dirt}!")).status_code == 303
    note = await clerk.client.post(
        clerk.case_url + "/messages",
        data={
            "_csrf_token": csrf_token((await clerk.client.get(clerk.case_url)).text),
            "visibility": "internal",
            "body": f"Intern{dirt}",
        },
        follow_redirects=False,
    )
    assert note.status_code == 303
    _, events = await stored(settings, tenant)
    bodies = sorted(e.body for e in events if e.body)
    assert any(b.startswith("Wir") for b in bodies) and any(b.startswith("Intern") for b in bodies)
    assert_clean(bodies)


@pytest.mark.parametrize("dirt", DIRTY)
async def test_withdraw_reason_is_stored_clean(
    client: Client, tenant: TenantFixture, settings: Settings, dirt: str
) -> None:
    tracking = await submit_case(client, tenant, photo=False)
    page = await client.get(tracking)
    response = await client.post(
        tracking + "/withdraw",
        data={"_csrf_token": csrf_token(page.text), "reason": f"Hat sich{dirt} erledigt"},
        follow_redirects=False,
    )
    assert response.status_code == 303
    _, events = await stored(settings, tenant)
    [reason] = [e.body for e in events if e.to_status == "withdrawn"]
    assert reason.startswith("Hat sich") and reason.endswith("erledigt")
    assert_clean(reason)


@pytest.mark.parametrize("dirt", DIRTY)
async def test_login_with_control_characters_in_the_address_is_an_ordinary_failure(
    client: Client, tenant: TenantFixture, dirt: str
) -> None:
    response = await login(client, f"{tenant.clerk_email}{dirt}x", tenant.password)
    assert response.status_code == 200, "the login page again, with its message"
    assert_clean(response.text.split("<form", 1)[-1].split("</form>", 1)[0])


@pytest.mark.parametrize(
    "url",
    ["/r/abc%00def", "/s/street-light%00/form", "/?q=a%00b", "/r/abc%1bdef", "/s/street-light/form?x=%7f"],
)
async def test_urls_with_control_characters_get_a_400_not_a_database_error(
    client: Client, tenant: TenantFixture, url: str
) -> None:
    response = await client.get(url)
    assert response.status_code == 400
    assert "text/html" in response.headers["content-type"]


async def test_staff_search_with_a_nul_gets_a_400(tenant: TenantFixture, person: Person) -> None:
    async with person(tenant.host) as staff:
        await login(staff, tenant.clerk_email, tenant.password)
        assert (await staff.get("/staff?q=a%00b")).status_code == 400
        assert (await staff.get("/staff?q=Laterne")).status_code == 200


async def test_unfollowing_with_a_nul_in_the_token_is_refused(client: Client, tenant: TenantFixture) -> None:
    tracking = await submit_case(client, tenant, photo=False)
    csrf = csrf_token((await client.get(tracking)).text)
    response = await client.request(
        "DELETE",
        "/push/subscriptions",
        json={"endpoint": "http://127.0.0.1:9/push/x", "token": "abc\u0000defghijkl"},
        headers={"X-CSRFToken": csrf},
    )
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("application/problem+json")
