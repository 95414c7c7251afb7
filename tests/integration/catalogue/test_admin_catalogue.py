"""The standard catalogue page: an admin adopts services in one click or several at once, adopting twice is
harmless, bad input gets a clear answer, and each municipality sees only its own adoption state."""

from __future__ import annotations

import re

from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import select

from backend.catalogue.models import Service
from backend.core.db import alchemy_config, tenant_session
from backend.settings import Settings
from tests.conftest import csrf_token
from tests.factories import TenantFixture
from tests.helpers import Client, login

PAGE = "/staff/admin/catalogue"
EN = {"Accept-Language": "en"}


async def _token(client: Client) -> str:
    page = await client.get(PAGE, headers=EN)
    assert page.status_code == 200, page.text
    return csrf_token(page.text)


async def _adopt(client: Client, slug: str) -> object:
    return await client.post(
        f"{PAGE}/{slug}/adopt", data={"_csrf_token": await _token(client)}, headers=EN, follow_redirects=False
    )


async def _adopt_many(client: Client, slugs: list[str]) -> object:
    return await client.post(
        f"{PAGE}/adopt",
        data={"_csrf_token": await _token(client), "templates": slugs},
        headers=EN,
        follow_redirects=False,
    )


async def _count(settings: Settings, tenant: TenantFixture, slug: str) -> int:
    db = alchemy_config(settings)
    try:
        async with tenant_session(db, tenant.id) as session:
            return len(list(await session.scalars(select(Service).where(Service.slug == slug))))
    finally:
        await db.get_engine().dispose()


def _card(html: str, slug: str) -> str:
    match = re.search(rf'<li class="panel" id="template-{slug}">(.*?)</li>', html, re.S)
    assert match, f"no card for {slug}"
    return match.group(1)


async def test_the_catalogue_lists_every_template_by_category_with_fees_and_time(
    client: Client, tenant: TenantFixture
) -> None:
    assert (await login(client, tenant.admin_email, tenant.password)).status_code == 303
    page = await client.get(PAGE, headers=EN)
    assert page.status_code == 200 and page.headers["cache-control"] == "no-store"
    assert "<h2" in page.text and "Animals" in page.text
    dog = _card(page.text, "hundeanmeldung")
    assert "Dog registration" in dog and "dog tax bylaw" in dog and "about 2 weeks" in dog
    assert 'action="/staff/admin/catalogue/hundeanmeldung/adopt"' in dog and 'value="hundeanmeldung"' in dog
    assert 'href="/staff/admin/catalogue"' in (await client.get("/staff/admin", headers=EN)).text


async def test_adopting_one_offers_it_to_citizens_at_once(
    client: Client, tenant: TenantFixture, settings: Settings
) -> None:
    assert (await login(client, tenant.admin_email, tenant.password)).status_code == 303
    assert (await client.get("/s/hundeanmeldung")).status_code == 404
    answer = await _adopt(client, "hundeanmeldung")
    assert answer.status_code == 303  # type: ignore[attr-defined]
    page = await client.get(answer.headers["location"], headers=EN)  # type: ignore[attr-defined]
    assert "Adopted. Citizens can use these services now: Dog registration" in page.text
    card = _card(page.text, "hundeanmeldung")
    assert "Adopted" in card and 'href="/s/hundeanmeldung"' in card and "/adopt" not in card
    assert (await client.get("/s/hundeanmeldung")).status_code == 200
    assert "Hundeanmeldung" in (await client.get("/", headers={"Accept-Language": "de"})).text
    assert await _count(settings, tenant, "hundeanmeldung") == 1


async def test_adopting_several_at_once_and_twice_is_harmless(
    client: Client, tenant: TenantFixture, settings: Settings
) -> None:
    assert (await login(client, tenant.admin_email, tenant.password)).status_code == 303
    first = await _adopt_many(client, ["sperrmuell", "fundsache", "graffiti"])
    assert first.status_code == 303  # type: ignore[attr-defined]
    for slug in ("sperrmuell", "fundsache", "graffiti"):
        assert (await client.get(f"/s/{slug}")).status_code == 200
    again = await _adopt_many(client, ["sperrmuell", "schlagloch", "sperrmuell"])
    assert again.status_code == 303  # type: ignore[attr-defined]
    page = await client.get(again.headers["location"], headers=EN)  # type: ignore[attr-defined]
    assert "Already offered by your municipality, nothing changed: Bulky waste" in page.text
    assert "Citizens can use these services now: Report a pothole" in page.text
    twice = await _adopt(client, "graffiti")
    assert twice.status_code == 303  # type: ignore[attr-defined]
    assert "Already offered" in (await client.get(twice.headers["location"], headers=EN)).text  # type: ignore[attr-defined]
    for slug in ("sperrmuell", "graffiti", "schlagloch"):
        assert await _count(settings, tenant, slug) == 1


async def test_unknown_templates_and_empty_choices_get_a_clear_answer(
    client: Client, tenant: TenantFixture, settings: Settings
) -> None:
    assert (await login(client, tenant.admin_email, tenant.password)).status_code == 303
    assert (await _adopt(client, "no-such-service")).status_code == 404  # type: ignore[attr-defined]
    assert (await client.get(f"{PAGE}/no-such-service/update")).status_code == 404
    # Adopted nowhere yet: nothing to update.
    assert (await client.get(f"{PAGE}/hundeanmeldung/update")).status_code == 404
    empty = await _adopt_many(client, [])
    assert empty.status_code == 422  # type: ignore[attr-defined]
    assert "Please choose at least one service" in empty.text and 'id="templates-error"' in empty.text  # type: ignore[attr-defined]
    unknown = await _adopt_many(client, ["sperrmuell", "nope"])
    assert unknown.status_code == 422 and "nope" in unknown.text  # type: ignore[attr-defined]
    assert 'value="sperrmuell" form="adopt-many" checked' in unknown.text  # type: ignore[attr-defined]
    assert await _count(settings, tenant, "sperrmuell") == 0


async def test_a_template_whose_address_the_municipality_uses_itself_is_refused(
    client: Client, tenant: TenantFixture, settings: Settings
) -> None:
    from backend.catalogue.services import CatalogueService
    from backend.tenants.services import TenantService, to_context

    db = alchemy_config(settings)
    try:
        async with tenant_session(db, tenant.id) as session:
            ctx = to_context(await TenantService(session).by_slug(tenant.slug))  # type: ignore[arg-type]
            await CatalogueService(session, ctx).create_service(
                slug="fundsache",
                category={"de": "Eigenes", "en": "Own"},
                name={"de": "Unser Fundbüro", "en": "Our lost property office"},
                form={"fields": [{"name": "what", "type": "text", "label": {"de": "Was", "en": "What"}}]},
            )
    finally:
        await db.get_engine().dispose()
    assert (await login(client, tenant.admin_email, tenant.password)).status_code == 303
    page = await client.get(PAGE, headers=EN)
    assert "has its own service at this address" in _card(page.text, "fundsache")
    refused = await _adopt(client, "fundsache")
    assert refused.status_code == 422 and "already has its own service" in refused.text  # type: ignore[attr-defined]
    several = await _adopt_many(client, ["sperrmuell", "fundsache"])
    assert several.status_code == 422  # type: ignore[attr-defined]
    assert await _count(settings, tenant, "sperrmuell") == 0 and await _count(settings, tenant, "fundsache") == 1


async def test_the_search_filters_the_catalogue_without_javascript(client: Client, tenant: TenantFixture) -> None:
    assert (await login(client, tenant.admin_email, tenant.password)).status_code == 303
    found = await client.get(PAGE, params={"q": "hund"}, headers=EN)
    assert found.status_code == 200
    assert 'id="template-hundeanmeldung"' in found.text and 'id="template-sperrmuell"' not in found.text
    assert 'value="hund"' in found.text
    nothing = await client.get(PAGE, params={"q": "zzzzqqq"}, headers=EN)
    assert "No standard service matches your search." in nothing.text


async def test_a_clerk_cannot_open_the_catalogue_or_adopt(
    client: Client, tenant: TenantFixture, settings: Settings
) -> None:
    assert (await login(client, tenant.clerk_email, tenant.password)).status_code == 303
    assert (await client.get(PAGE, follow_redirects=False)).status_code == 403
    token = csrf_token((await client.get("/staff")).text)
    for path, data in (
        (f"{PAGE}/sperrmuell/adopt", {}),
        (f"{PAGE}/adopt", {"templates": ["sperrmuell"]}),
        (f"{PAGE}/sperrmuell/update", {"decision": "accept"}),
    ):
        answer = await client.post(path, data={"_csrf_token": token, **data}, follow_redirects=False)
        assert answer.status_code == 403, path
    assert await _count(settings, tenant, "sperrmuell") == 0


async def test_each_municipality_sees_only_its_own_adoptions(
    app: Litestar, tenant: TenantFixture, other_tenant: TenantFixture
) -> None:
    async with AsyncTestClient(app, base_url=f"http://{tenant.host}") as mine:
        assert (await login(mine, tenant.admin_email, tenant.password)).status_code == 303
        assert (await _adopt(mine, "hundeanmeldung")).status_code == 303  # type: ignore[attr-defined]
    async with AsyncTestClient(app, base_url=f"http://{other_tenant.host}") as theirs:
        assert (await login(theirs, other_tenant.admin_email, other_tenant.password)).status_code == 303
        card = _card((await theirs.get(PAGE, headers=EN)).text, "hundeanmeldung")
        assert "/hundeanmeldung/adopt" in card and "Adopted" not in card
        assert (await theirs.get(f"{PAGE}/hundeanmeldung/update")).status_code == 404
        assert (await theirs.get("/s/hundeanmeldung")).status_code == 404
