"""The host name decides the municipality; the bare domain is the platform page; unknown hosts learn nothing."""

from __future__ import annotations

from litestar import Litestar
from litestar.testing import AsyncTestClient

from backend.core.db import alchemy_config, unscoped_session
from backend.settings import Settings
from backend.tenants.models import TenantHost
from tests.conftest import Person
from tests.factories import TenantFixture


async def test_municipality_home_shows_its_name_and_services(
    person: Person, app: Litestar, tenant: TenantFixture
) -> None:
    async with person(tenant.host) as c:
        page = await c.get("/")
    assert page.status_code == 200
    assert tenant.name in page.text and "/s/street-light" in page.text
    assert '<html lang="de">' in page.text


async def test_platform_page_lists_municipalities(app: Litestar, tenant: TenantFixture) -> None:
    async with AsyncTestClient(app, base_url="http://localhost.") as c:
        page = await c.get("/", headers={"Host": "localhost:8000"})
    assert page.status_code == 200
    assert tenant.name in page.text and f"//{tenant.slug}.localhost:8000/" in page.text


async def test_unknown_host_gets_a_plain_404_naming_no_municipality(
    app: Litestar, tenant: TenantFixture
) -> None:
    async with AsyncTestClient(app, base_url="http://nowhere.localhost") as c:
        page = await c.get("/")
        service = await c.get("/s/street-light")
    assert page.status_code == service.status_code == 404
    assert tenant.name not in page.text and tenant.slug not in page.text


async def test_custom_host_name_serves_the_municipality(
    app: Litestar, settings: Settings, tenant: TenantFixture
) -> None:
    db = alchemy_config(settings)
    async with unscoped_session(db) as session:
        session.add(TenantHost(tenant_id=tenant.id, host=f"rathaus.{tenant.slug}.example"))
    await db.get_engine().dispose()
    async with AsyncTestClient(app, base_url=f"http://rathaus.{tenant.slug}.example") as c:
        page = await c.get("/")
    assert page.status_code == 200 and tenant.name in page.text


async def test_search_works_as_plain_get_and_as_htmx_fragment(
    person: Person, app: Litestar, tenant: TenantFixture
) -> None:
    async with person(tenant.host) as c:
        hit = await c.get("/?q=laterne")
        miss = await c.get("/?q=sperrmuell")
        fragment = await c.get("/?q=LATERNE", headers={"HX-Request": "true", "HX-Target": "service-list"})
    assert "/s/street-light" in hit.text
    assert "/s/street-light" not in miss.text
    assert "/s/street-light" in fragment.text and "<html" not in fragment.text


async def test_language_follows_accept_language_and_the_switch(
    person: Person, app: Litestar, tenant: TenantFixture
) -> None:
    async with person(tenant.host) as c:
        english = await c.get("/", headers={"Accept-Language": "en-GB,en;q=0.9"})
        assert '<html lang="en">' in english.text and "Broken street light" in english.text
        switched = await c.get("/language/de?next=/s/street-light", follow_redirects=False)
        assert switched.status_code == 303 and switched.headers["location"] == "/s/street-light"
        german = await c.get("/", headers={"Accept-Language": "en"})
        assert '<html lang="de">' in german.text and "Straßenlaterne defekt" in german.text
        evil = await c.get("/language/en?next=//evil.example/", follow_redirects=False)
        assert evil.headers["location"] == "/"


async def test_theme_css_carries_the_municipality_colours(
    person: Person, app: Litestar, tenant: TenantFixture
) -> None:
    async with person(tenant.host) as c:
        css = await c.get("/theme.css")
    assert css.status_code == 200 and "--brand:#1d4f91" in css.text


async def test_health_answers_on_any_host(app: Litestar) -> None:
    async with AsyncTestClient(app, base_url="http://whatever.example") as c:
        response = await c.get("/health")
    assert response.status_code == 200 and response.text == "ok"
