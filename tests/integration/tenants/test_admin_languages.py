"""Languages: an admin chooses which languages citizens get and the default; the citizen pages honour them."""

from __future__ import annotations

from litestar import Litestar
from litestar.testing import AsyncTestClient

from tests.conftest import Person, csrf_token
from tests.factories import TenantFixture
from tests.helpers import Client, login

PAGE = "/staff/admin/languages"


async def _save(client: Client, languages: list[str], default: str | None):  # type: ignore[no-untyped-def]
    page = await client.get(PAGE, headers={"Accept-Language": "en"})
    assert page.status_code == 200 and page.headers["cache-control"] == "no-store"
    data: list[tuple[str, str]] = [("_csrf_token", csrf_token(page.text))]
    data += [("languages", code) for code in languages]
    if default is not None:
        data.append(("default_language", default))
    return await client.post(
        PAGE,
        content="&".join(f"{k}={v}" for k, v in data).encode(),
        headers={"Accept-Language": "en", "Content-Type": "application/x-www-form-urlencoded"},
        follow_redirects=False,
    )


async def test_only_german_hides_the_switch_and_ignores_an_english_browser(
    client: Client, person: Person, tenant: TenantFixture
) -> None:
    assert (await login(client, tenant.admin_email, tenant.password)).status_code == 303
    assert (await _save(client, ["de"], "de")).status_code == 303
    async with person(tenant.host) as citizen:
        home = await citizen.get("/", headers={"Accept-Language": "en"})
        assert '<html lang="de">' in home.text and "lang-switch" not in home.text
        switched = await citizen.get("/language/en?next=/", follow_redirects=False)
        assert switched.status_code == 303 and "rathaus_lang" not in switched.headers.get("set-cookie", "")
        assert '<html lang="de">' in (await citizen.get("/")).text


async def test_the_default_is_used_when_the_browser_asks_for_no_enabled_language(
    client: Client, person: Person, tenant: TenantFixture
) -> None:
    assert (await login(client, tenant.admin_email, tenant.password)).status_code == 303
    assert (await _save(client, ["de", "en"], "en")).status_code == 303
    async with person(tenant.host) as citizen:
        assert '<html lang="en">' in (await citizen.get("/", headers={"Accept-Language": "fr"})).text
        assert '<html lang="de">' in (await citizen.get("/", headers={"Accept-Language": "de"})).text
        home = (await citizen.get("/", headers={"Accept-Language": "fr"})).text
        assert 'hreflang="de"' in home
    manifest = (await client.get("/manifest.webmanifest")).json()
    assert manifest["lang"] == "en"
    page = (await client.get(PAGE)).text
    assert 'id="default-en" name="default_language" value="en" checked' in page


async def test_no_language_is_refused(client: Client, tenant: TenantFixture) -> None:
    assert (await login(client, tenant.admin_email, tenant.password)).status_code == 303
    answer = await _save(client, [], "de")
    assert answer.status_code == 422 and "at least one" in answer.text
    assert 'aria-describedby="languages-error"' in answer.text


async def test_a_default_that_is_not_enabled_is_refused_and_the_choice_is_kept(
    client: Client, tenant: TenantFixture
) -> None:
    assert (await login(client, tenant.admin_email, tenant.password)).status_code == 303
    answer = await _save(client, ["en"], "de")
    assert answer.status_code == 422 and "must be one of the enabled languages" in answer.text
    assert 'id="language-en" name="languages" value="en" checked' in answer.text
    assert 'id="language-de" name="languages" value="de">' in answer.text  # not checked: as sent
    assert 'id="default-de" name="default_language" value="de" checked' in answer.text
    # Nothing was saved: both languages are still offered.
    assert 'hreflang="en"' in (await client.get("/", headers={"Accept-Language": "de"})).text


async def test_unknown_languages_and_a_missing_default_are_refused(client: Client, tenant: TenantFixture) -> None:
    assert (await login(client, tenant.admin_email, tenant.password)).status_code == 303
    unknown = await _save(client, ["de", "xx%3Cscript%3E"], "de")
    assert unknown.status_code == 422 and "<script>" not in unknown.text
    missing = await _save(client, ["de"], None)
    assert missing.status_code == 422 and "default language" in missing.text
    bogus = await _save(client, ["de"], "fr")
    assert bogus.status_code == 422


async def test_a_clerk_cannot_change_the_languages(client: Client, tenant: TenantFixture) -> None:
    assert (await login(client, tenant.clerk_email, tenant.password)).status_code == 303
    assert (await client.get(PAGE, follow_redirects=False)).status_code == 403
    token = csrf_token((await client.get("/staff")).text)
    answer = await client.post(
        PAGE, data={"_csrf_token": token, "languages": "en", "default_language": "en"}, follow_redirects=False
    )
    assert answer.status_code == 403
    assert 'hreflang="en"' in (await client.get("/", headers={"Accept-Language": "de"})).text


async def test_an_admin_of_another_municipality_cannot_change_these_languages(
    app: Litestar, tenant: TenantFixture, other_tenant: TenantFixture
) -> None:
    async with AsyncTestClient(app, base_url=f"http://{other_tenant.host}") as theirs:
        assert (await login(theirs, other_tenant.admin_email, other_tenant.password)).status_code == 303
        token = csrf_token((await theirs.get(PAGE)).text)
        cookie = theirs.cookies.get("rathaus_session")
    async with AsyncTestClient(app, base_url=f"http://{tenant.host}") as mine:
        mine.cookies.set("rathaus_session", cookie or "")
        answer = await mine.post(
            PAGE, data={"_csrf_token": token, "languages": "en", "default_language": "en"}, follow_redirects=False
        )
        assert answer.status_code in (302, 303, 401, 403)
        assert "location" not in answer.headers or "/staff/login" in answer.headers["location"]
        home = await mine.get("/", headers={"Accept-Language": "de"})
        assert '<html lang="de">' in home.text and 'hreflang="en"' in home.text
