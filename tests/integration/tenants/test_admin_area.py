"""The administration area: admins of this municipality only; clerks are refused, strangers sent to log in."""

from __future__ import annotations

from litestar import Litestar
from litestar.testing import AsyncTestClient

from tests.factories import TenantFixture
from tests.helpers import Client, login


async def test_an_admin_opens_the_administration_from_the_staff_navigation(
    client: Client, tenant: TenantFixture
) -> None:
    assert (await login(client, tenant.admin_email, tenant.password)).status_code == 303
    inbox = await client.get("/staff", headers={"Accept-Language": "en"})
    assert 'href="/staff/admin"' in inbox.text
    home = await client.get("/staff/admin", headers={"Accept-Language": "en"})
    assert home.status_code == 200 and 'href="/staff/admin/branding"' in home.text
    assert home.headers["cache-control"] == "no-store"


async def test_a_clerk_is_refused_and_sees_no_administration_link(client: Client, tenant: TenantFixture) -> None:
    assert (await login(client, tenant.clerk_email, tenant.password)).status_code == 303
    assert 'href="/staff/admin"' not in (await client.get("/staff")).text
    assert (await client.get("/staff/admin", follow_redirects=False)).status_code == 403


async def test_without_login_the_administration_sends_to_the_login(client: Client) -> None:
    answer = await client.get("/staff/admin", follow_redirects=False)
    assert answer.status_code in (302, 303) and answer.headers["location"].startswith("/staff/login")


async def test_an_admin_of_one_municipality_gets_nothing_of_another(
    app: Litestar, tenant: TenantFixture, other_tenant: TenantFixture
) -> None:
    async with AsyncTestClient(app, base_url=f"http://{tenant.host}") as mine:
        assert (await login(mine, tenant.admin_email, tenant.password)).status_code == 303
        session_cookie = mine.cookies.get("rathaus_session")
    async with AsyncTestClient(app, base_url=f"http://{other_tenant.host}") as theirs:
        theirs.cookies.set("rathaus_session", session_cookie or "")
        answer = await theirs.get("/staff/admin", follow_redirects=False)
        assert answer.status_code in (302, 303, 401, 403, 404)
        assert "/staff/admin/branding" not in answer.text
