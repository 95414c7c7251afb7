"""Reply templates: admins keep standard texts with checked placeholders; the clerk's case page offers those
that fit the request and fills them in the request's language, with or without JavaScript; clerks and other
municipalities cannot touch them."""

from __future__ import annotations

import datetime
import html
import re
from zoneinfo import ZoneInfo

from babel.dates import format_date

from backend.catalogue.services import CatalogueService
from backend.core.db import alchemy_config, tenant_session
from backend.core.i18n import LANGUAGE_COOKIE
from backend.settings import Settings
from backend.tenants.services import TenantService, to_context
from tests.conftest import Person, csrf_token
from tests.factories import TenantFixture
from tests.helpers import Client, login, submit_case

LIST = "/staff/admin/reply-templates"
EN = {"Accept-Language": "en"}
JSON = {"Accept": "application/json"}


def fields(**overrides: str) -> dict[str, str]:
    base = {
        "title": "Reparatur beauftragt",
        "body_de": "Ihr Anliegen {reference} ({service}) vom {submitted_date}: Die Reparatur ist beauftragt.",
        "body_en": "Your request {reference} ({service}) of {submitted_date}: the repair has been ordered.",
        "service_id": "",
        "status": "",
        "position": "",
    }
    return {**base, **overrides}


async def save(client: Client, data: dict[str, str], path: str = LIST) -> object:
    page = await client.get(LIST + "/new", headers=EN)
    assert page.status_code == 200, page.text
    return await client.post(
        path, data={**data, "_csrf_token": csrf_token(page.text)}, headers=EN, follow_redirects=False
    )


async def create(client: Client, **overrides: str) -> str:
    """A template made through the admin's form; returns its id."""
    data = fields(**overrides)
    saved = await save(client, data)
    assert saved.status_code == 303, saved.text  # type: ignore[attr-defined]
    listing = (await client.get(LIST)).text
    found = re.search(
        r'/staff/admin/reply-templates/([0-9a-f-]{36})">' + re.escape(html.escape(data["title"])) + "<", listing
    )
    assert found, listing
    return found.group(1)


async def as_admin(client: Client, tenant: TenantFixture) -> Client:
    assert (await login(client, tenant.admin_email, tenant.password)).status_code == 303
    return client


async def case_of(client: Client) -> str:
    """The newest case in the inbox of the logged-in staff member: /staff/cases/<id>."""
    found = re.search(r'href="(/staff/cases/[0-9a-f-]{36})"', (await client.get("/staff")).text)
    assert found
    return found.group(1)


async def reference_of(citizen: Client, tracking: str) -> str:
    found = re.search(r'data-reference="([^"]+)"', (await citizen.get(tracking)).text)
    assert found
    return found.group(1)


def today(language: str) -> str:
    return format_date(datetime.datetime.now(ZoneInfo("Europe/Berlin")).date(), format="long", locale=language)


def select_of(page: str, select_id: str) -> str:
    found = re.search(rf'<select id="{select_id}".*?</select>', page, re.S)
    return found.group(0) if found else ""


def textarea(page: str, textarea_id: str) -> str:
    found = re.search(rf'<textarea id="{textarea_id}"[^>]*>(.*?)</textarea>', page, re.S)
    assert found, page
    return html.unescape(found.group(1))


async def other_service(settings: Settings, tenant: TenantFixture) -> str:
    db = alchemy_config(settings)
    try:
        async with tenant_session(db, tenant.id) as session:
            ctx = to_context(await TenantService(session).by_slug(tenant.slug))  # type: ignore[arg-type]
            label = {"de": "Sperrmüll", "en": "Bulky waste"}
            service = await CatalogueService(session, ctx).create_service(
                slug="bulky",
                category=label,
                name=label,
                form={"fields": [{"name": "what", "type": "text", "label": label}]},
            )
            return str(service.id)
    finally:
        await db.get_engine().dispose()


async def test_an_admin_creates_edits_and_deletes_a_template_after_confirming(
    client: Client, tenant: TenantFixture
) -> None:
    await as_admin(client, tenant)
    index = await client.get("/staff/admin", headers=EN)
    assert f'href="{LIST}"' in index.text
    template_id = await create(client, position="3")
    listing = await client.get(LIST, headers=EN)
    assert "Reparatur beauftragt" in listing.text and "All services" in listing.text and "Any status" in listing.text
    assert listing.headers["cache-control"] == "no-store"

    edit = await client.get(f"{LIST}/{template_id}", headers=EN)
    assert edit.status_code == 200
    assert "{reference}" in edit.text and "{{" in edit.text, "the form explains placeholders and literal braces"
    assert textarea(edit.text, "rt-body_en").startswith("Your request {reference}")
    saved = await client.post(
        f"{LIST}/{template_id}",
        data={**fields(title="Reparatur erledigt", status="completed"), "_csrf_token": csrf_token(edit.text)},
        follow_redirects=False,
    )
    assert saved.status_code == 303
    listing = await client.get(LIST, headers=EN)
    assert "Reparatur erledigt" in listing.text and "Completed" in listing.text
    assert "Reparatur beauftragt" not in listing.text

    confirm = await client.get(f"{LIST}/{template_id}/delete", headers=EN)
    assert confirm.status_code == 200 and "Reparatur erledigt" in confirm.text
    token = csrf_token(confirm.text)
    # A bare POST (no confirmation) deletes nothing: it leads back to the question.
    unconfirmed = await client.post(f"{LIST}/{template_id}/delete", data={"_csrf_token": token}, follow_redirects=False)
    assert unconfirmed.status_code == 303 and unconfirmed.headers["location"].endswith("/delete")
    assert (await client.get(f"{LIST}/{template_id}")).status_code == 200
    deleted = await client.post(
        f"{LIST}/{template_id}/delete", data={"_csrf_token": token, "confirm": "yes"}, follow_redirects=False
    )
    assert deleted.status_code == 303
    assert (await client.get(f"{LIST}/{template_id}")).status_code == 404
    assert "Reparatur erledigt" not in (await client.get(LIST)).text


async def test_unknown_placeholders_are_refused_by_name_and_the_text_is_kept(
    client: Client, tenant: TenantFixture
) -> None:
    await as_admin(client, tenant)
    typed = "Ihr Anliegen {referenz} ist {reference:>9} seit {today!r}; {{reference}} bleibt so."
    refused = await save(client, fields(body_de=typed))
    assert refused.status_code == 422  # type: ignore[attr-defined]
    page = refused.text  # type: ignore[attr-defined]
    assert "error-summary" in page and 'href="#rt-body_de"' in page
    message = html.unescape(re.search(r'id="rt-body_de-error">(.*?)</p>', page, re.S).group(1))  # type: ignore[union-attr]
    assert "{referenz}" in message and "{reference:>9}" in message and "{today!r}" in message
    assert "{{reference}}" not in message, "a doubled brace is text, not a placeholder"
    assert textarea(page, "rt-body_de") == typed
    assert 'aria-describedby="rt-placeholders rt-body_de-error"' in page

    lone = await save(client, fields(body_en="Costs: {amount"))
    assert lone.status_code == 422  # type: ignore[attr-defined]
    assert "{{" in html.unescape(lone.text) and "written twice" in lone.text  # type: ignore[attr-defined]

    missing = await save(client, fields(body_de="", title=""))
    assert missing.status_code == 422  # type: ignore[attr-defined]
    assert "Please enter a title." in missing.text and "main language" in missing.text  # type: ignore[attr-defined]
    assert "There are no reply templates yet." in (await client.get(LIST, headers=EN)).text


async def test_placeholders_are_filled_in_the_language_and_date_format_of_the_case(
    person: Person, tenant: TenantFixture
) -> None:
    async with person(tenant.host) as admin:
        await as_admin(admin, tenant)
        template_id = await create(admin, body_de=fields()["body_de"] + " {today}, {municipality}, [{due_date}] {{ok}}")
    async with person(tenant.host) as citizen:
        citizen.cookies.set(LANGUAGE_COOKIE, "en")
        tracking = await submit_case(citizen, tenant, key="english-case-0123456789ab", photo=False)
        reference_en = await reference_of(citizen, tracking)
    async with person(tenant.host) as citizen:
        tracking = await submit_case(citizen, tenant, key="german-case-0123456789abc", photo=False)
        reference_de = await reference_of(citizen, tracking)
    async with person(tenant.host) as clerk:
        await login(clerk, tenant.clerk_email, tenant.password)
        cases = re.findall(r'href="(/staff/cases/[0-9a-f-]{36})"', (await clerk.get("/staff")).text)
        filled = {}
        for case in dict.fromkeys(cases):
            answer = await clerk.get(f"{case}/reply-templates/{template_id}", headers=JSON)
            assert answer.status_code == 200 and answer.headers["cache-control"] == "no-store"
            filled[case] = answer.json()
    texts = {item["text"] for item in filled.values()}
    assert f"Your request {reference_en} (Broken street light) of {today('en')}: the repair has been ordered." in texts
    german = next(t for t in texts if reference_de in t)
    assert german == (
        f"Ihr Anliegen {reference_de} (Straßenlaterne defekt) vom {today('de')}: Die Reparatur ist beauftragt."
        f" {today('de')}, {tenant.name}, [] {{ok}}"
    )
    assert all(item["title"] == "Reparatur beauftragt" and item["status"] is None for item in filled.values())


async def test_the_case_page_offers_the_templates_of_its_service_and_status(
    client: Client, tenant: TenantFixture, settings: Settings
) -> None:
    bulky = await other_service(settings, tenant)
    await as_admin(client, tenant)
    everywhere = await create(client, title="Eingangsbestätigung")
    review = await create(client, title="Wird geprüft", status="in_review")
    completed = await create(client, title="Erledigt", status="completed")
    elsewhere = await create(client, title="Sperrmüll-Termin", service_id=bulky)
    same_service = await create(client, title="Laterne bestellt", service_id=await _service_id(client))
    await submit_case(client, tenant, photo=False)
    page = (await client.get(await case_of(client))).text
    for_status, for_message = select_of(page, "template-status"), select_of(page, "template-message")
    # A new case can go to "in review": the status form offers that template too; the message form only those
    # for the current status (or any).
    for template_id in (everywhere, review, same_service):
        assert template_id in for_status
    for template_id in (everywhere, same_service):
        assert template_id in for_message
    assert review not in for_message
    for template_id in (completed, elsewhere):
        assert template_id not in page
    assert '<script src="/static/js/reply_templates.js" defer></script>' in page
    assert page.count("reply_templates.js") == 1


async def _service_id(client: Client) -> str:
    found = re.search(
        r'<option value="([0-9a-f-]{36})"[^>]*>Straßenlaterne defekt', (await client.get(LIST + "/new")).text
    )
    assert found
    return found.group(1)


async def test_without_javascript_a_get_fills_the_textarea_and_sends_nothing(
    client: Client, tenant: TenantFixture
) -> None:
    await as_admin(client, tenant)
    greeting = await create(client, title="Danke", body_de="Danke für {reference}.")
    review = await create(client, title="Prüfung", body_de="Wir prüfen {reference}.", status="in_review")
    tracking = await submit_case(client, tenant, photo=False)
    reference = await reference_of(client, tracking)
    case = await case_of(client)
    before = (await client.get(case)).text
    assert 'action="' + case + '#body"' in before and 'name="template"' in before and 'name="into"' in before

    into_message = await client.get(f"{case}?template={greeting}&into=message", headers=EN)
    assert into_message.status_code == 200
    assert textarea(into_message.text, "body") == f"Danke für {reference}."
    assert 'id="vis-public" name="visibility" value="public" checked' in into_message.text
    assert "Please check and edit it before sending." in into_message.text
    assert textarea(into_message.text, "status-message") == ""

    # A template for a status the case can move to goes into the status form, with that status chosen.
    into_status = await client.get(f"{case}?template={review}", headers=EN)
    assert textarea(into_status.text, "status-message") == f"Wir prüfen {reference}."
    assert '<option value="in_review" selected>' in into_status.text

    unknown = await client.get(f"{case}?template=not-a-template", headers=EN)
    assert unknown.status_code == 422 and "not available for this request" in unknown.text
    after = await client.get(case)
    assert after.text.count("<li") == before.count("<li"), "nothing was sent or noted"


async def test_the_json_fill_refuses_templates_that_do_not_fit_the_case(
    client: Client, tenant: TenantFixture, settings: Settings
) -> None:
    bulky = await other_service(settings, tenant)
    await as_admin(client, tenant)
    fits = await create(client, title="Passt", body_de="Passt: {reference}", status="in_review")
    other = await create(client, title="Anderer Dienst", service_id=bulky)
    await submit_case(client, tenant, photo=False)
    case = await case_of(client)
    answer = await client.get(f"{case}/reply-templates/{fits}", headers=JSON)
    assert answer.status_code == 200
    assert answer.json()["status"] == "in_review" and answer.json()["text"].startswith("Passt: ")
    refused = await client.get(f"{case}/reply-templates/{other}", headers=JSON)
    assert refused.status_code == 404 and refused.headers["content-type"].startswith("application/problem+json")


async def test_a_clerk_can_use_templates_but_not_open_or_change_the_admin_pages(
    person: Person, tenant: TenantFixture
) -> None:
    async with person(tenant.host) as admin:
        await as_admin(admin, tenant)
        template_id = await create(admin, title="Nur für Admins")
    async with person(tenant.host) as clerk:
        await login(clerk, tenant.clerk_email, tenant.password)
        for path in (LIST, LIST + "/new", f"{LIST}/{template_id}", f"{LIST}/{template_id}/delete"):
            assert (await clerk.get(path, follow_redirects=False)).status_code == 403, path
        token = csrf_token((await clerk.get("/staff")).text)
        for path, data in (
            (LIST, fields(title="Vom Sachbearbeiter")),
            (f"{LIST}/{template_id}", fields(title="Geändert")),
            (f"{LIST}/{template_id}/delete", {"confirm": "yes"}),
        ):
            response = await clerk.post(path, data={**data, "_csrf_token": token}, follow_redirects=False)
            assert response.status_code == 403, path
        await submit_case(clerk, tenant, photo=False)
        case = await case_of(clerk)
        assert template_id in (await clerk.get(case)).text, "clerks are offered the templates"
    async with person(tenant.host) as admin:
        await as_admin(admin, tenant)
        listing = (await admin.get(LIST)).text
        assert "Nur für Admins" in listing and "Vom Sachbearbeiter" not in listing and "Geändert" not in listing


async def test_templates_of_one_municipality_are_invisible_to_another(
    person: Person, tenant: TenantFixture, other_tenant: TenantFixture
) -> None:
    async with person(tenant.host) as admin:
        await as_admin(admin, tenant)
        template_id = await create(admin, title="Nur hier")
    async with person(other_tenant.host) as stranger:
        await as_admin(stranger, other_tenant)
        assert "Nur hier" not in (await stranger.get(LIST)).text
        for path in (f"{LIST}/{template_id}", f"{LIST}/{template_id}/delete"):
            assert (await stranger.get(path)).status_code == 404
        token = csrf_token((await stranger.get(LIST + "/new")).text)
        changed = await stranger.post(
            f"{LIST}/{template_id}", data={**fields(title="Übernommen"), "_csrf_token": token}, follow_redirects=False
        )
        assert changed.status_code == 404
        await submit_case(stranger, other_tenant, photo=False)
        case = await case_of(stranger)
        assert template_id not in (await stranger.get(case)).text
        assert (await stranger.get(f"{case}/reply-templates/{template_id}", headers=JSON)).status_code == 404
        assert (await stranger.get(f"{case}?template={template_id}")).status_code == 422
    async with person(tenant.host) as admin:
        await as_admin(admin, tenant)
        assert "Nur hier" in (await admin.get(LIST)).text
