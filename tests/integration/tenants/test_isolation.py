"""No municipality sees or changes another's data, whatever URL is tried on which host."""

from __future__ import annotations

import re

from litestar import Litestar

from tests.conftest import Person
from tests.factories import TenantFixture
from tests.helpers import login, staff_post, submit_case


async def test_clerk_of_one_municipality_gets_404_for_every_case_url_of_another(
    person: Person, app: Litestar, tenant: TenantFixture, other_tenant: TenantFixture
) -> None:
    async with person(other_tenant.host) as citizen:
        await submit_case(citizen, other_tenant)
    async with person(other_tenant.host) as other_clerk:
        await login(other_clerk, other_tenant.clerk_email, other_tenant.password)
        page = await other_clerk.get("/staff")
        case_url = re.search(r'href="(/staff/cases/[0-9a-f-]{36})"', page.text).group(1)  # type: ignore[union-attr]
        file_url = re.search(
            r'src="(/staff/cases/[^"]+/files/[^"]+)"', (await other_clerk.get(case_url)).text
        ).group(1)  # type: ignore[union-attr]

    async with person(tenant.host) as clerk:
        await login(clerk, tenant.clerk_email, tenant.password)
        assert (await clerk.get(case_url)).status_code == 404
        assert (await clerk.get(file_url)).status_code == 404
        inbox = await clerk.get("/staff")
        assert "/staff/cases/" not in inbox.text
        assert 'class="result-count">0 ' in inbox.text, "counts are scoped too"
        assert "(1)</option>" not in inbox.text, "status counts are scoped too"
        for action, data in (
            (case_url + "/status", {"to_status": "in_review"}),
            (case_url + "/messages", {"visibility": "internal", "body": "x"}),
        ):
            assert (await staff_post(clerk, "/staff", action, data)).status_code == 404


async def test_tracking_link_of_one_municipality_is_404_on_another_host(
    person: Person, app: Litestar, tenant: TenantFixture, other_tenant: TenantFixture
) -> None:
    async with person(tenant.host) as citizen:
        tracking = await submit_case(citizen, tenant)
        photo = re.search(r'src="(/r/[^"]+/files/[^"]+)"', (await citizen.get(tracking)).text).group(1)  # type: ignore[union-attr]
    async with person(other_tenant.host) as stranger:
        assert (await stranger.get(tracking)).status_code == 404
        assert (await stranger.get(photo)).status_code == 404


async def test_staff_of_one_municipality_cannot_log_in_to_another(
    person: Person, app: Litestar, tenant: TenantFixture, other_tenant: TenantFixture
) -> None:
    async with person(other_tenant.host) as c:
        response = await login(c, tenant.clerk_email, tenant.password)
        assert response.status_code == 200 and "error-summary" in response.text
        assert (await c.get("/staff", follow_redirects=False)).status_code == 303


async def test_session_cookie_of_one_host_gives_nothing_on_another(
    person: Person, app: Litestar, tenant: TenantFixture, other_tenant: TenantFixture
) -> None:
    async with person(tenant.host) as c:
        await login(c, tenant.clerk_email, tenant.password)
        session = c.cookies.get("rathaus_session")
    async with person(other_tenant.host) as c2:
        c2.cookies.set("rathaus_session", session or "", domain=other_tenant.host)
        assert (await c2.get("/staff", follow_redirects=False)).status_code == 303
