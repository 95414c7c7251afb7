"""Host names: an admin adds and removes the municipality's own domains; the platform address stays; the host
lookup forgets at once what it knew; names of other municipalities or of the platform are refused."""

from __future__ import annotations

import pytest

from tests.conftest import Person, csrf_token
from tests.factories import TenantFixture
from tests.helpers import Client, login

PAGE = "/staff/admin/hosts"


async def _post(client: Client, action: str, host: str):  # type: ignore[no-untyped-def]
    page = await client.get(PAGE, headers={"Accept-Language": "en"})
    assert page.status_code == 200 and page.headers["cache-control"] == "no-store"
    return await client.post(
        action,
        data={"_csrf_token": csrf_token(page.text), "host": host},
        headers={"Accept-Language": "en"},
        follow_redirects=False,
    )


async def test_an_added_domain_serves_the_town_hall_at_once_and_a_removed_one_stops(
    client: Client, tenant: TenantFixture
) -> None:
    # The visitor is served by the same app (one instance, one host cache) as the admin.
    visitor = {"Host": f"rathaus.{tenant.slug}.example"}
    assert (await client.get("/", headers=visitor)).status_code == 404  # looked up (and remembered as unknown)
    assert (await login(client, tenant.admin_email, tenant.password)).status_code == 303
    added = await _post(client, PAGE, f"Rathaus.{tenant.slug}.Example.")
    assert added.status_code == 303, added.text
    page = (await client.get(PAGE, headers={"Accept-Language": "en"})).text
    assert f"<strong>rathaus.{tenant.slug}.example</strong>" in page  # lower case, no trailing dot
    assert f"<strong>{tenant.host}</strong>" in page
    assert page.count('action="/staff/admin/hosts/remove"') == 1  # the platform address has no remove
    home = await client.get("/", headers=visitor)
    assert home.status_code == 200 and tenant.name in home.text

    removed = await _post(client, f"{PAGE}/remove", f"rathaus.{tenant.slug}.example")
    assert removed.status_code == 303
    assert (await client.get("/", headers=visitor)).status_code == 404
    assert f"rathaus.{tenant.slug}.example" not in (await client.get(PAGE)).text


async def test_an_international_domain_is_stored_in_its_idna_form(client: Client, tenant: TenantFixture) -> None:
    assert (await login(client, tenant.admin_email, tenant.password)).status_code == 303
    assert (await _post(client, PAGE, f"Bürgeramt-{tenant.slug}.example")).status_code == 303
    page = (await client.get(PAGE)).text
    assert f"<strong>xn--brgeramt-{tenant.slug}-" in page


@pytest.mark.parametrize(
    "host",
    ["", "https://rathaus.example.de/", "rathaus example.de", "nodot", "a..b.de", "10.0.0.1", "-x.de", "x" * 300],
)
async def test_what_is_no_host_name_is_refused_and_kept_in_the_field(
    client: Client, tenant: TenantFixture, host: str
) -> None:
    assert (await login(client, tenant.admin_email, tenant.password)).status_code == 303
    answer = await _post(client, PAGE, host)
    assert answer.status_code == 422
    assert "Please enter a host name such as rathaus.musterstadt.de" in answer.text
    assert 'aria-describedby="host-hint host-error"' in answer.text
    if host and len(host) < 200:
        assert f'value="{host}"' in answer.text


async def test_a_platform_address_is_refused(
    client: Client, tenant: TenantFixture, other_tenant: TenantFixture
) -> None:
    assert (await login(client, tenant.admin_email, tenant.password)).status_code == 303
    for host in (other_tenant.host, tenant.host, "new-town.localhost"):
        answer = await _post(client, PAGE, host)
        assert answer.status_code == 422 and "address of the platform itself" in answer.text, host


async def test_a_domain_of_another_municipality_is_refused(
    person: Person, client: Client, tenant: TenantFixture, other_tenant: TenantFixture
) -> None:
    async with person(other_tenant.host) as theirs:
        assert (await login(theirs, other_tenant.admin_email, other_tenant.password)).status_code == 303
        assert (await _post(theirs, PAGE, f"www.{other_tenant.slug}.example")).status_code == 303
    assert (await login(client, tenant.admin_email, tenant.password)).status_code == 303
    answer = await _post(client, PAGE, f"WWW.{other_tenant.slug}.example")
    assert answer.status_code == 422 and "already in use by a municipality" in answer.text
    # Removing it from here does nothing to the other municipality.
    gone = await _post(client, f"{PAGE}/remove", f"www.{other_tenant.slug}.example")
    assert gone.status_code == 422 and "has no host name" in gone.text
    async with person(f"www.{other_tenant.slug}.example") as visitor:
        home = await visitor.get("/")
        assert home.status_code == 200 and other_tenant.name in home.text


async def test_a_clerk_cannot_see_or_change_the_host_names(
    client: Client, person: Person, tenant: TenantFixture
) -> None:
    assert (await login(client, tenant.clerk_email, tenant.password)).status_code == 303
    assert (await client.get(PAGE, follow_redirects=False)).status_code == 403
    token = csrf_token((await client.get("/staff")).text)
    answer = await client.post(
        PAGE, data={"_csrf_token": token, "host": f"clerk.{tenant.slug}.example"}, follow_redirects=False
    )
    assert answer.status_code == 403
    async with person(f"clerk.{tenant.slug}.example") as visitor:
        assert (await visitor.get("/")).status_code == 404


async def test_an_admin_of_another_municipality_cannot_add_or_remove_hosts_here(
    person: Person, client: Client, tenant: TenantFixture, other_tenant: TenantFixture
) -> None:
    assert (await login(client, tenant.admin_email, tenant.password)).status_code == 303
    assert (await _post(client, PAGE, f"mine.{tenant.slug}.example")).status_code == 303
    async with person(other_tenant.host) as theirs:
        assert (await login(theirs, other_tenant.admin_email, other_tenant.password)).status_code == 303
        token = csrf_token((await theirs.get(PAGE)).text)
        cookie = theirs.cookies.get("rathaus_session")
    async with person(tenant.host) as stranger:
        stranger.cookies.set("rathaus_session", cookie or "")
        for action, host in ((f"{PAGE}/remove", f"mine.{tenant.slug}.example"), (PAGE, f"evil.{tenant.slug}.example")):
            answer = await stranger.post(action, data={"_csrf_token": token, "host": host}, follow_redirects=False)
            assert answer.status_code in (302, 303, 401, 403)
            assert "location" not in answer.headers or "/staff/login" in answer.headers["location"]
    page = (await client.get(PAGE)).text
    assert f"mine.{tenant.slug}.example" in page and f"evil.{tenant.slug}.example" not in page
