"""An admin builds a form with the keyboard only: a choice field, a field asked only for one of its answers, a
field moved up; previews and publishes it. A citizen on a phone sees the conditional field come and go.
axe checks every builder page."""

from __future__ import annotations

import re
from typing import Any

from playwright.sync_api import Page, expect

from tests.e2e.conftest import DESKTOP, PHONE, LiveServer, Problems, check_a11y
from tests.factories import TenantFixture


def _type_into(page: Page, selector: str, text: str) -> None:
    page.locator(selector).focus()
    page.keyboard.type(text)


def _press_on(page: Page, locator: Any, key: str = "Enter") -> None:
    locator.focus()
    page.keyboard.press(key)


def _add_field(page: Page, kind_steps: int, de: str, en: str) -> None:
    """The kind is chosen with the arrow keys from the closed list (``kind_steps`` below "Please choose")."""
    page.locator("#new-type").focus()
    for _ in range(kind_steps):
        page.keyboard.press("ArrowDown")
    _type_into(page, "#new-label_de", de)
    _type_into(page, "#new-label_en", en)
    page.keyboard.press("Enter")
    expect(page.locator("h1")).to_contain_text("Edit field")


def test_an_admin_builds_a_conditional_form_with_the_keyboard_and_a_citizen_sees_it(
    live_server: LiveServer, e2e_tenant: TenantFixture, open_context: Any, problems: Problems
) -> None:
    _, page = open_context("admin", **{**DESKTOP, "locale": "en-GB"})
    page.goto(live_server.url(e2e_tenant, "/staff/login"))
    _type_into(page, "#email", e2e_tenant.admin_email)
    _type_into(page, "#password", e2e_tenant.password)
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/staff$"))
    page.goto(live_server.url(e2e_tenant, "/staff/admin/services"))
    check_a11y(page, "services")

    _press_on(page, page.get_by_role("link", name="New service"))
    expect(page.locator("h1")).to_have_text("New service")
    check_a11y(page, "new service")
    for selector, text in {
        "#slug": "bulky-waste",
        "#name_de": "Sperrmüll",
        "#category_de": "Abfall",
        "#name_en": "Bulky waste",
        "#category_en": "Waste",
    }.items():
        _type_into(page, selector, text)
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/staff/admin/services/[0-9a-f-]{36}/form$"))
    check_a11y(page, "form builder")

    # A single choice (the 7th kind) with two options, required.
    _add_field(page, 7, "Art", "Kind")
    check_a11y(page, "field editor")
    for selector, text in {
        "#option_de_0": "Möbel",
        "#option_en_0": "Furniture",
        "#option_de_1": "Elektrogeräte",
        "#option_en_1": "Electronics",
    }.items():
        _type_into(page, selector, text)
    _press_on(page, page.locator("#required"), "Space")
    _press_on(page, page.get_by_role("button", name="Save field"))
    expect(page.locator("#field-art")).to_contain_text("Single choice, required")

    # A short text (the 1st kind), then a long text (2nd) asked only for electronics.
    _add_field(page, 1, "Name", "Name")
    _press_on(page, page.get_by_role("link", name="Back to the form"))
    _add_field(page, 2, "Welche Geräte?", "Which devices?")
    _press_on(page, page.get_by_label("“Kind” is answered with “Electronics”"), "Space")
    _press_on(page, page.get_by_role("button", name="Save field"))
    expect(page.locator("#field-welche_gerate")).to_contain_text("only if “Kind” is “Electronics”")

    # Moved up above the name, with the keyboard.
    _press_on(page, page.locator("#field-welche_gerate button[value=up]"))
    expect(page.locator("p.notice")).to_contain_text("moved")
    order = page.locator("ol.builder-fields > li").evaluate_all("items => items.map(i => i.id)")
    assert order == ["field-art", "field-welche_gerate", "field-name"]
    check_a11y(page, "form builder after a move")

    _press_on(page, page.get_by_role("link", name="Preview the form as citizens see it"))
    expect(page.locator(".preview-notice")).to_be_visible()
    expect(page.locator("#welche_gerate")).to_be_hidden()
    expect(page.get_by_role("button", name="Continue to review")).to_be_disabled()
    check_a11y(page, "preview")
    _press_on(page, page.get_by_role("link", name="Back to the form builder"))
    _press_on(page, page.get_by_role("button", name="Publish this form"))
    expect(page.locator("p.notice")).to_contain_text("Published")

    _, phone = open_context("citizen", **PHONE)
    phone.goto(live_server.url(e2e_tenant, "/s/bulky-waste/form"))
    devices = phone.locator("#welche_gerate")
    expect(devices).to_be_hidden()
    expect(phone.locator("[data-condition-hint]")).to_be_hidden()
    phone.get_by_label("Elektrogeräte").check()
    expect(devices).to_be_visible()
    check_a11y(phone, "citizen form with the conditional field")
    devices.fill("Kühlschrank")
    phone.get_by_label("Möbel").check()
    expect(devices).to_be_hidden()
    expect(devices).to_be_disabled()
    # Sent with the field hidden: the review shows no answer to it, although text was typed.
    phone.locator("#name").fill("Anna")
    phone.get_by_role("button", name=re.compile("review|Überprüfung|Weiter", re.I)).click()
    expect(phone.locator("dl.answers")).to_contain_text("Möbel")
    expect(phone.locator("dl.answers")).not_to_contain_text("Kühlschrank")
