"""The form builder: admins create services, edit their texts and form fields, preview and publish them.

Every publication is a new form version; cases keep theirs. Only admins of this municipality may.
"""

from __future__ import annotations

import re
from typing import Any

from litestar import Litestar
from litestar.testing import AsyncTestClient

from backend.app import create_app
from backend.cases.services import CaseService
from backend.catalogue.services import CatalogueService
from backend.core.db import alchemy_config, tenant_session
from backend.core.storage import LocalStorage
from backend.settings import Settings
from backend.tenants.services import TenantService, to_context
from tests.conftest import csrf_token
from tests.factories import TenantFixture, make_tenant
from tests.helpers import Client, login, submit_case

BASE = "/staff/admin/services"
EN = {"Accept-Language": "en"}


async def _admin(client: Client, tenant: TenantFixture) -> None:
    assert (await login(client, tenant.admin_email, tenant.password)).status_code == 303


async def _post(client: Client, page: str, url: str, data: dict[str, Any] | list[tuple[str, str]]) -> Any:
    token = csrf_token((await client.get(page, headers=EN)).text)
    pairs = list(data.items()) if isinstance(data, dict) else list(data)
    body: dict[str, list[str]] = {"_csrf_token": [token]}
    for k, v in pairs:
        body.setdefault(k, []).append(v)
    return await client.post(url, data=body, headers=EN, follow_redirects=False)


def _service_id(html: str, name: str) -> str:
    match = re.search(rf'href="{BASE}/([0-9a-f-]{{36}})/form">{re.escape(name)}<', html)
    assert match, html
    return match.group(1)


async def _street_light_id(client: Client) -> str:
    return _service_id((await client.get(BASE, headers=EN)).text, "Broken street light")


NEW_SERVICE = {
    "slug": "bulky-waste",
    "name_de": "Sperrmüll anmelden",
    "name_en": "Bulky waste collection",
    "category_de": "Abfall",
    "category_en": "Waste",
    "summary_de": "Sperrmüll abholen lassen.",
    "summary_en": "Have bulky waste collected.",
    "description_de": "Wir holen Möbel ab.",
    "description_en": "We collect furniture.",
    "processing_days": "5",
    "documents_de": "Ausweis",
    "documents_en": "ID card",
}


async def _new_service(client: Client) -> str:
    answer = await _post(client, f"{BASE}/new", f"{BASE}/new", NEW_SERVICE)
    assert answer.status_code == 303, answer.text
    match = re.fullmatch(rf"{BASE}/([0-9a-f-]{{36}})/form", answer.headers["location"])
    assert match
    return match.group(1)


async def _add(client: Client, sid: str, kind: str, de: str, en: str) -> str:
    answer = await _post(
        client, f"{BASE}/{sid}/form", f"{BASE}/{sid}/form/fields", {"type": kind, "label_de": de, "label_en": en}
    )
    assert answer.status_code == 303, answer.text
    return str(answer.headers["location"]).rsplit("/", 1)[1]


async def _save_field(client: Client, sid: str, name: str, data: dict[str, Any] | list[tuple[str, str]]) -> Any:
    url = f"{BASE}/{sid}/form/fields/{name}"
    return await _post(client, url, url, data)


async def _build_conditional_form(client: Client, sid: str) -> None:
    """A choice "kind" (furniture / electronics), then "devices" asked only for electronics."""
    kind = await _add(client, sid, "choice", "Art", "Kind")
    assert kind == "art"
    saved = await _save_field(
        client,
        sid,
        kind,
        {
            "label_de": "Art",
            "label_en": "Kind",
            "required": "yes",
            "option_value_0": "",
            "option_de_0": "Möbel",
            "option_en_0": "Furniture",
            "option_value_1": "",
            "option_de_1": "Elektrogeräte",
            "option_en_1": "Electronics",
        },
    )
    assert saved.status_code == 303, saved.text
    devices = await _add(client, sid, "textarea", "Welche Geräte?", "Which devices?")
    saved = await _save_field(
        client,
        sid,
        devices,
        {"label_de": "Welche Geräte?", "label_en": "Which devices?", "required": "yes", "show_if": "art=elektrogerate"},
    )
    assert saved.status_code == 303, saved.text


async def test_an_admin_lists_the_services_with_their_status(client: Client, tenant: TenantFixture) -> None:
    await _admin(client, tenant)
    page = await client.get(BASE, headers=EN)
    assert page.status_code == 200 and page.headers["cache-control"] == "no-store"
    assert "Broken street light" in page.text and "Published" in page.text
    assert f'href="{BASE}/new"' in page.text
    assert f'href="{BASE}"' in (await client.get("/staff/admin", headers=EN)).text


async def test_an_admin_builds_a_conditional_form_previews_and_publishes_it(
    client: Client, tenant: TenantFixture
) -> None:
    await _admin(client, tenant)
    sid = await _new_service(client)
    # Not offered before it is published.
    assert (await client.get("/s/bulky-waste")).status_code == 404
    assert (await client.get("/s/bulky-waste/form")).status_code == 404
    await _build_conditional_form(client, sid)
    preview = await client.get(f"{BASE}/{sid}/preview", headers=EN)
    assert preview.status_code == 200 and preview.headers["cache-control"] == "no-store"
    assert "Which devices?" in preview.text and 'data-show-if="art"' in preview.text
    assert "disabled" in preview.text and 'action="/s/bulky-waste/form"' not in preview.text
    published = await _post(client, f"{BASE}/{sid}/form", f"{BASE}/{sid}/publish", {})
    assert published.status_code == 303
    form = await client.get("/s/bulky-waste/form", headers=EN)
    assert form.status_code == 200
    assert 'data-show-if="art"' in form.text and "Only if you chose “Electronics” for “Kind”." in form.text
    assert "/static/js/conditions.js" in form.text
    listing = (await client.get(BASE, headers=EN)).text
    assert "Bulky waste collection" in listing
    # The service's texts reach the citizen's service page.
    page = (await client.get("/s/bulky-waste", headers=EN)).text
    assert "We collect furniture." in page


async def test_a_hidden_field_is_not_required_and_its_posted_answer_is_dropped(
    client: Client, tenant: TenantFixture
) -> None:
    await _admin(client, tenant)
    sid = await _new_service(client)
    await _build_conditional_form(client, sid)
    assert (await _post(client, f"{BASE}/{sid}/form", f"{BASE}/{sid}/publish", {})).status_code == 303
    token = csrf_token((await client.get("/s/bulky-waste/form")).text)
    key = "conditional-key-0123456789"
    # Furniture: the devices field is not asked; a value posted for it anyway is dropped.
    review = await client.post(
        "/s/bulky-waste/form",
        data={"_csrf_token": token, "idempotency_key": key, "art": "mobel", "welche_gerate": "sneaky"},
        headers=EN,
    )
    assert review.status_code == 200 and "Check your request" in review.text, review.text
    assert "sneaky" not in review.text
    sent = await client.post(
        "/s/bulky-waste/submit",
        data={"_csrf_token": token, "idempotency_key": key, "art": "mobel", "welche_gerate": "sneaky"},
        follow_redirects=False,
    )
    assert sent.status_code == 303
    tracking = (await client.get(sent.headers["location"], headers=EN)).text
    assert "Furniture" in tracking and "sneaky" not in tracking
    # Electronics: now it is asked and required.
    again = await client.post(
        "/s/bulky-waste/form",
        data={"_csrf_token": token, "idempotency_key": "conditional-key-2-0123456789", "art": "elektrogerate"},
        headers=EN,
    )
    assert "Please fill in this field." in again.text
    # A value outside the choices is refused, as before.
    wrong = await client.post(
        "/s/bulky-waste/form",
        data={"_csrf_token": token, "idempotency_key": "conditional-key-3-0123456789", "art": "cars"},
        headers=EN,
    )
    assert "Please choose from the options shown." in wrong.text


async def test_bad_service_settings_are_refused_with_the_values_kept(client: Client, tenant: TenantFixture) -> None:
    await _admin(client, tenant)
    bad = {**NEW_SERVICE, "slug": "Bulky Waste!", "name_en": "", "processing_days": "many"}
    answer = await _post(client, f"{BASE}/new", f"{BASE}/new", bad)
    assert answer.status_code == 422
    assert "lower-case letters, digits and hyphens" in answer.text
    assert "Please enter the name of the service." in answer.text
    assert "working days from 1 to 365" in answer.text
    assert 'value="Bulky Waste!"' in answer.text and 'value="Sperrmüll anmelden"' in answer.text
    assert 'aria-describedby="slug-hint slug-error"' in answer.text
    taken = await _post(client, f"{BASE}/new", f"{BASE}/new", {**NEW_SERVICE, "slug": "street-light"})
    assert taken.status_code == 422 and "already has this address" in taken.text
    sid = await _street_light_id(client)
    emptied = await _post(client, f"{BASE}/{sid}", f"{BASE}/{sid}", {"name_de": "Laterne", "processing_days": "0"})
    assert emptied.status_code == 422 and 'value="Laterne"' in emptied.text
    saved = await _post(client, f"{BASE}/{sid}", f"{BASE}/{sid}", {**NEW_SERVICE, "slug": "ignored"})
    assert saved.status_code == 303
    page = (await client.get(f"{BASE}/{sid}", headers=EN)).text
    assert 'value="Bulky waste collection"' in page and 'value="5"' in page
    # The address of a service stays as it was.
    assert (await client.get("/s/street-light", headers=EN)).status_code == 200


async def test_bad_field_settings_are_refused_with_the_values_kept(client: Client, tenant: TenantFixture) -> None:
    await _admin(client, tenant)
    sid = await _street_light_id(client)
    added = await _post(client, f"{BASE}/{sid}/form", f"{BASE}/{sid}/form/fields", {"type": "rocket", "label_de": "X"})
    assert added.status_code == 422
    assert "Please choose the kind of field." in added.text and 'value="X"' in added.text
    assert "Please enter the question or label of the field." in added.text
    place = await _post(
        client,
        f"{BASE}/{sid}/form",
        f"{BASE}/{sid}/form/fields",
        {"type": "location", "label_de": "O", "label_en": "P"},
    )
    assert place.status_code == 422 and "only one place field" in place.text
    # The "what" field (textarea): limits the wrong way round.
    limits = await _save_field(
        client, sid, "what", {"label_de": "Was?", "label_en": "What?", "min_length": "50", "max_length": "10"}
    )
    assert limits.status_code == 422 and "must not be larger than the maximum" in limits.text
    assert 'value="50"' in limits.text and 'value="Was?"' in limits.text
    nonsense = await _save_field(client, sid, "what", {"label_de": "", "label_en": "What?", "max_length": "lots"})
    assert nonsense.status_code == 422 and "whole number from 1 to 10000" in nonsense.text
    # The "kind" choice: an option in one language only, no options at all, a condition on a later field.
    half = await _save_field(
        client,
        sid,
        "kind",
        {"label_de": "Art", "label_en": "Kind", "option_value_0": "dark", "option_de_0": "Dunkel", "option_en_0": ""},
    )
    assert half.status_code == 422 and "in every language" in half.text and 'value="Dunkel"' in half.text
    empty = await _save_field(client, sid, "kind", {"label_de": "Art", "label_en": "Kind"})
    assert empty.status_code == 422 and "at least one option" in empty.text
    later = await _save_field(client, sid, "what", {"label_de": "Was", "label_en": "What", "show_if": "kind=dark"})
    assert later.status_code == 422 and "answers of earlier fields" in later.text
    assert (await client.get(f"{BASE}/{sid}/form/fields/no_such_field")).status_code == 404
    # Nothing of it reached the form.
    assert "unpublished changes" not in (await client.get(f"{BASE}/{sid}/form", headers=EN)).text.lower()


async def test_fields_move_and_go_and_their_names_are_never_reused(client: Client, tenant: TenantFixture) -> None:
    await _admin(client, tenant)
    sid = await _street_light_id(client)
    editor = f"{BASE}/{sid}/form"
    moved = await _post(client, editor, f"{editor}/fields/kind/move", {"direction": "up"})
    assert moved.status_code == 303
    order = re.findall(r'<li id="field-(\w+)"', (await client.get(editor, headers=EN)).text)
    assert order == ["where", "what", "kind", "photos", "email"]
    await _post(client, editor, f"{editor}/fields/where/move", {"direction": "down"})
    await _post(client, editor, f"{editor}/fields/email/move", {"direction": "down"})  # already last: stays
    order = re.findall(r'<li id="field-(\w+)"', (await client.get(editor, headers=EN)).text)
    assert order == ["what", "where", "kind", "photos", "email"]
    assert (await _post(client, editor, f"{editor}/fields/kind/remove", {})).status_code == 303
    assert (await _post(client, editor, f"{BASE}/{sid}/publish", {})).status_code == 303
    form = (await client.get("/s/street-light/form", headers=EN)).text
    assert form.index('id="what"') < form.index('id="where__address"') and 'name="kind"' not in form
    # A new field labelled like the removed one gets a new name: old answers under "kind" keep their meaning.
    assert await _add(client, sid, "choice", "Art", "Kind") == "art"
    assert await _add(client, sid, "text", "Kind", "Kind") == "kind_2"


async def test_a_draft_with_problems_cannot_be_published(client: Client, tenant: TenantFixture) -> None:
    await _admin(client, tenant)
    sid = await _new_service(client)
    editor = f"{BASE}/{sid}/form"
    empty = await _post(client, editor, f"{BASE}/{sid}/publish", {})
    assert empty.status_code == 422 and "no fields yet" in empty.text
    await _build_conditional_form(client, sid)
    # The field a condition depends on moves below it: publishing is refused, with the reason.
    await _post(client, editor, f"{editor}/fields/art/move", {"direction": "down"})
    refused = await _post(client, editor, f"{BASE}/{sid}/publish", {})
    assert refused.status_code == 422 and "not before it" in refused.text
    assert (await client.get("/s/bulky-waste/form")).status_code == 404
    await _post(client, editor, f"{editor}/fields/art/move", {"direction": "up"})
    await _add(client, sid, "multichoice", "Extras", "Extras")
    no_options = await _post(client, editor, f"{BASE}/{sid}/publish", {})
    assert no_options.status_code == 422 and "needs at least one option" in no_options.text
    await _post(client, editor, f"{editor}/fields/extras/remove", {})
    assert (await _post(client, editor, f"{BASE}/{sid}/publish", {})).status_code == 303


async def test_a_case_on_form_version_1_still_renders_after_version_2_is_published(
    client: Client, tenant: TenantFixture
) -> None:
    tracking = await submit_case(client, tenant, key="version-one-key-0123456789")
    await _admin(client, tenant)
    sid = await _street_light_id(client)
    editor = f"{BASE}/{sid}/form"
    # Version 2: "kind" gone, "what" asked differently, a new field.
    await _post(client, editor, f"{editor}/fields/kind/remove", {})
    await _save_field(client, sid, "what", {"label_de": "Beschreibung", "label_en": "Description", "required": "yes"})
    await _add(client, sid, "phone", "Telefon", "Phone")
    assert (await _post(client, editor, f"{BASE}/{sid}/publish", {})).status_code == 303
    assert "2 form versions published so far." in (await client.get(editor, headers=EN)).text
    page = await client.get(tracking, headers=EN)
    assert page.status_code == 200
    assert "What is broken?" in page.text and "Not lit" in page.text and "Description" not in page.text
    inbox = (await client.get("/staff", headers=EN)).text
    case_url = re.search(r'href="(/staff/cases/[0-9a-f-]{36})"', inbox)
    assert case_url
    staff_view = await client.get(case_url.group(1), headers=EN)
    assert staff_view.status_code == 200 and "Not lit" in staff_view.text
    # New requests get version 2.
    form = (await client.get("/s/street-light/form", headers=EN)).text
    assert "Description" in form and 'name="kind"' not in form and 'type="tel"' in form


async def test_an_unpublished_service_disappears_for_citizens_and_its_cases_stay(
    client: Client, tenant: TenantFixture
) -> None:
    tracking = await submit_case(client, tenant, key="unpublish-key-0123456789")
    await _admin(client, tenant)
    sid = await _street_light_id(client)
    editor = f"{BASE}/{sid}/form"
    assert (await _post(client, editor, f"{BASE}/{sid}/unpublish", {})).status_code == 303
    assert "Not published" in (await client.get(BASE, headers=EN)).text
    assert (await client.get("/s/street-light")).status_code == 404
    assert (await client.get("/s/street-light/form")).status_code == 404
    assert "Broken street light" not in (await client.get("/", headers=EN)).text
    assert (await client.get(tracking, headers=EN)).status_code == 200
    # Offered again, with the same form version (no new version without changes).
    assert (await _post(client, editor, f"{BASE}/{sid}/publish", {})).status_code == 303
    assert (await client.get("/s/street-light/form")).status_code == 200
    assert "1 form version published so far." in (await client.get(editor, headers=EN)).text


async def test_a_clerk_is_refused_every_builder_page(client: Client, tenant: TenantFixture) -> None:
    await _admin(client, tenant)
    sid = await _street_light_id(client)
    token = csrf_token((await client.get(BASE)).text)
    await client.post("/staff/logout", data={"_csrf_token": token})
    assert (await login(client, tenant.clerk_email, tenant.password)).status_code == 303
    token = csrf_token((await client.get("/staff")).text)
    for path in (BASE, f"{BASE}/new", f"{BASE}/{sid}", f"{BASE}/{sid}/form", f"{BASE}/{sid}/preview"):
        assert (await client.get(path, follow_redirects=False)).status_code == 403, path
    for path in (f"{BASE}/{sid}/publish", f"{BASE}/{sid}/unpublish", f"{BASE}/{sid}/form/fields/kind/remove"):
        assert (await client.post(path, data={"_csrf_token": token}, follow_redirects=False)).status_code == 403


async def test_an_admin_cannot_reach_the_services_of_another_municipality(
    app: Litestar, tenant: TenantFixture, other_tenant: TenantFixture
) -> None:
    async with AsyncTestClient(app, base_url=f"http://{other_tenant.host}") as theirs:
        await _admin(theirs, other_tenant)
        their_id = await _street_light_id(theirs)
    async with AsyncTestClient(app, base_url=f"http://{tenant.host}") as mine:
        await _admin(mine, tenant)
        assert await _street_light_id(mine) != their_id
        for path in (f"{BASE}/{their_id}", f"{BASE}/{their_id}/form", f"{BASE}/{their_id}/preview"):
            assert (await mine.get(path)).status_code == 404, path
        token = csrf_token((await mine.get(BASE)).text)
        for path in (
            f"{BASE}/{their_id}",
            f"{BASE}/{their_id}/publish",
            f"{BASE}/{their_id}/unpublish",
            f"{BASE}/{their_id}/form/fields",
            f"{BASE}/{their_id}/form/fields/kind/remove",
        ):
            answer = await mine.post(path, data={"_csrf_token": token, "name_de": "Gekapert"}, follow_redirects=False)
            assert answer.status_code == 404, path
    async with AsyncTestClient(app, base_url=f"http://{other_tenant.host}") as theirs:
        assert (await theirs.get("/s/street-light/form")).status_code == 200
        assert "Gekapert" not in (await theirs.get("/s/street-light")).text


async def test_a_new_option_never_takes_the_value_of_an_earlier_one(client: Client, tenant: TenantFixture) -> None:
    tracking = await submit_case(client, tenant, key="option-values-key-0123456789")  # answered "dark"
    await _admin(client, tenant)
    sid = await _street_light_id(client)
    # "Not lit" (dark) removed, a new option whose label would make "dark" again added.
    saved = await _save_field(
        client,
        sid,
        "kind",
        {
            "label_de": "Art des Schadens",
            "label_en": "Kind of damage",
            "option_value_0": "dark",
            "option_value_1": "flicker",
            "option_de_1": "Flackert",
            "option_en_1": "Flickers",
            "option_de_2": "Dark",
            "option_en_2": "Dark",
        },
    )
    assert saved.status_code == 303, saved.text
    assert (await _post(client, f"{BASE}/{sid}/form", f"{BASE}/{sid}/publish", {})).status_code == 303
    form = (await client.get("/s/street-light/form", headers=EN)).text
    assert 'value="dark_2"' in form and 'value="dark"' not in form
    assert "Not lit" in (await client.get(tracking, headers=EN)).text


CONDITIONAL_FORM: dict[str, Any] = {
    "fields": [
        {
            "name": "kind",
            "type": "choice",
            "required": True,
            "label": {"de": "Art", "en": "Kind"},
            "options": [
                {"value": "furniture", "label": {"de": "Möbel", "en": "Furniture"}},
                {"value": "electronics", "label": {"de": "Elektrogeräte", "en": "Electronics"}},
            ],
        },
        {
            "name": "devices",
            "type": "text",
            "label": {"de": "Geräte", "en": "Devices"},
            "show_if": {"field": "kind", "equals": "electronics"},
        },
    ]
}


async def test_an_answer_the_condition_excludes_is_never_shown_even_if_stored(settings: Settings) -> None:
    tenant = await make_tenant(settings, form=CONDITIONAL_FORM)
    db = alchemy_config(settings)
    try:
        async with tenant_session(db, tenant.id) as session:
            ctx = to_context(await TenantService(session).by_slug(tenant.slug))  # type: ignore[arg-type]
            catalogue = CatalogueService(session, ctx)
            service = await catalogue.by_slug(tenant.service_slug)
            version, definition = await catalogue.current_form(service)
            # As a case stored before conditions were enforced (or by a bug) would hold it.
            case, _created = await CaseService(session, ctx, LocalStorage(settings.uploads_dir)).submit(
                service, version, {"kind": "furniture", "devices": "a fridge"}, "stored-hidden-0123456789", "en"
            )
            token = case.tracking_token
    finally:
        await db.get_engine().dispose()
    app = create_app(settings)
    async with AsyncTestClient(app, base_url=f"http://{tenant.host}") as client:
        tracking = await client.get(f"/r/{token}", headers=EN)
        assert "Furniture" in tracking.text and "a fridge" not in tracking.text
        await _admin(client, tenant)
        inbox = (await client.get("/staff", headers=EN)).text
        case_url = re.search(r'href="(/staff/cases/[0-9a-f-]{36})"', inbox)
        assert case_url
        staff_view = (await client.get(case_url.group(1), headers=EN)).text
        assert "Furniture" in staff_view and "a fridge" not in staff_view
