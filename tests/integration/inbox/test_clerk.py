"""A clerk logs in, finds the request in the inbox, changes its status with a message; the citizen sees it."""

from __future__ import annotations

import re

from litestar import Litestar

from tests.conftest import Person, csrf_token
from tests.factories import TenantFixture
from tests.helpers import Client, login, staff_post, submit_case


async def _case_url(clerk: Client, reference_filter: str = "") -> str:
    inbox = await clerk.get("/staff" + reference_filter)
    match = re.search(r'href="(/staff/cases/[0-9a-f-]{36})"', inbox.text)
    assert match, inbox.text
    return match.group(1)


async def test_clerk_changes_status_with_message_and_citizen_sees_it(
    person: Person, app: Litestar, client: Client, tenant: TenantFixture
) -> None:
    tracking = await submit_case(client, tenant)
    async with person(tenant.host) as clerk:
        assert (await login(clerk, tenant.clerk_email, tenant.password)).headers["location"] == "/staff"
        case_url = await _case_url(clerk)
        case_page = await clerk.get(case_url)
        assert "Hauptstraße 12" in case_page.text and "anna@example.org" in case_page.text
        assert re.search(r'<img src="/staff/cases/[^"]+/files/', case_page.text)

        done = await staff_post(
            clerk, case_url, case_url + "/status", {"to_status": "in_review", "message": ""}
        )
        assert done.status_code == 303
        done = await staff_post(
            clerk,
            case_url,
            case_url + "/status",
            {"to_status": "in_progress", "message": "Der Bauhof ist beauftragt."},
        )
        assert done.status_code == 303
        note = await staff_post(
            clerk,
            case_url,
            case_url + "/messages",
            {"visibility": "internal", "body": "Leiter Müller informiert"},
        )
        assert note.status_code == 303
        msg = await staff_post(
            clerk, case_url, case_url + "/messages", {"visibility": "public", "body": "Wir melden uns bald."}
        )
        assert msg.status_code == 303
        staff_view = await clerk.get(case_url)
        assert "Leiter Müller informiert" in staff_view.text

    citizen_view = await client.get(tracking)
    assert "Der Bauhof ist beauftragt." in citizen_view.text
    assert "Wir melden uns bald." in citizen_view.text
    assert "Leiter Müller informiert" not in citizen_view.text, "internal notes are never shown to citizens"
    assert (
        'status-label">In Bearbeitung<' in citizen_view.text
        or 'status-label">In progress<' in citizen_view.text
    )


async def test_forbidden_transition_is_refused_and_changes_nothing(
    person: Person, app: Litestar, client: Client, tenant: TenantFixture
) -> None:
    tracking = await submit_case(client, tenant, photo=False)
    async with person(tenant.host) as clerk:
        await login(clerk, tenant.clerk_email, tenant.password)
        case_url = await _case_url(clerk)
        response = await staff_post(
            clerk, case_url, case_url + "/status", {"to_status": "completed", "message": "x"}
        )
        assert response.status_code == 409
        response = await staff_post(
            clerk, case_url, case_url + "/status", {"to_status": "withdrawn", "message": ""}
        )
        assert response.status_code == 409
    assert (
        "Eingegangen" in (await client.get(tracking)).text or "Received" in (await client.get(tracking)).text
    )


async def test_asking_for_information_needs_a_message(
    person: Person, app: Litestar, client: Client, tenant: TenantFixture
) -> None:
    await submit_case(client, tenant, photo=False)
    async with person(tenant.host) as clerk:
        await login(clerk, tenant.clerk_email, tenant.password)
        case_url = await _case_url(clerk)
        await staff_post(clerk, case_url, case_url + "/status", {"to_status": "in_review"})
        response = await staff_post(
            clerk, case_url, case_url + "/status", {"to_status": "needs_info", "message": ""}
        )
        assert response.status_code == 422
        assert 'class="error-summary"' in response.text


async def test_inbox_filters_by_status_service_and_reference(
    person: Person, app: Litestar, client: Client, tenant: TenantFixture
) -> None:
    for key in ("aaaaaaaaaaaaaaaaaaaa", "bbbbbbbbbbbbbbbbbbbb"):
        await submit_case(client, tenant, key=key, photo=False)
    async with person(tenant.host) as clerk:
        await login(clerk, tenant.clerk_email, tenant.password)
        everything = await clerk.get("/staff")
        refs = re.findall(r">(\d{4}-\d{5})</a>", everything.text)
        assert len(refs) == 2 and refs == sorted(refs, reverse=True), "newest first"
        only = await clerk.get(f"/staff?q={refs[1]}")
        assert re.findall(r">(\d{4}-\d{5})</a>", only.text) == [refs[1]]
        assert len(re.findall(r"/staff/cases/", (await clerk.get("/staff?status=submitted")).text)) == 2
        assert "/staff/cases/" not in (await clerk.get("/staff?status=completed")).text
        assert len(re.findall(r"/staff/cases/", (await clerk.get("/staff?service=street-light")).text)) == 2
        assert "/staff/cases/" not in (await clerk.get("/staff?service=other")).text
        partial = await clerk.get(
            "/staff?status=submitted", headers={"HX-Request": "true", "HX-Target": "inbox-results"}
        )
        assert "<html" not in partial.text and "/staff/cases/" in partial.text


async def test_staff_pages_send_anonymous_visitors_to_login(client: Client) -> None:
    response = await client.get("/staff", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/staff/login?next=")


async def test_logout_ends_the_session(client: Client, tenant: TenantFixture) -> None:
    await login(client, tenant.clerk_email, tenant.password)
    assert (await client.get("/staff", follow_redirects=False)).status_code == 200
    page = await client.get("/staff")
    await client.post("/staff/logout", data={"_csrf_token": csrf_token(page.text)})
    assert (await client.get("/staff", follow_redirects=False)).status_code == 303
