"""The clerk picks the next status; nothing is preselected, and an unchosen status is refused."""

from __future__ import annotations

import re

from litestar import Litestar

from tests.conftest import Person
from tests.factories import TenantFixture
from tests.helpers import Client, login, staff_post, submit_case


async def _case_url(clerk: Client) -> str:
    match = re.search(r'href="(/staff/cases/[0-9a-f-]{36})"', (await clerk.get("/staff")).text)
    assert match
    return match.group(1)


def _status_select(html: str) -> str:
    match = re.search(r'<select id="to_status".*?</select>', html, re.S)
    assert match, html
    return match.group(0)


async def test_status_control_preselects_no_status(
    person: Person, app: Litestar, client: Client, tenant: TenantFixture
) -> None:
    await submit_case(client, tenant, photo=False)
    async with person(tenant.host) as clerk:
        await login(clerk, tenant.clerk_email, tenant.password)
        case_url = await _case_url(clerk)
        await staff_post(clerk, case_url, case_url + "/status", {"to_status": "in_review"})
        await staff_post(clerk, case_url, case_url + "/status", {"to_status": "in_progress", "message": "x"})
        select = _status_select((await clerk.get(case_url)).text)
        options = re.findall(r'<option value="([^"]*)"\s*(selected)?', select)
        assert options[0] == ("", "selected"), options
        assert [value for value, chosen in options if chosen] == [""], "only the placeholder is selected"
        assert {value for value, _ in options[1:]} == {"needs_info", "completed", "rejected"}
        assert " required" in select


async def test_submitting_the_placeholder_is_refused_with_a_clear_error(
    person: Person, app: Litestar, client: Client, tenant: TenantFixture
) -> None:
    tracking = await submit_case(client, tenant, photo=False)
    async with person(tenant.host) as clerk:
        await login(clerk, tenant.clerk_email, tenant.password)
        case_url = await _case_url(clerk)
        response = await staff_post(clerk, case_url, case_url + "/status", {"to_status": "", "message": "Hallo"})
        assert response.status_code == 422
        assert "Bitte wählen Sie den neuen Status" in response.text or "Please choose the new status" in response.text
        assert "Hallo" in response.text, "the message written is kept"
    page = (await client.get(tracking)).text
    assert "Eingegangen" in page or "Received" in page
