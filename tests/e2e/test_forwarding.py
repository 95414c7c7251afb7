"""Reply templates and forwarding, in the browser: an admin writes a template (a wrong placeholder is refused
first); the clerk fills a message from it and edits it with the keyboard, then forwards the case to the building
yard; the building yard opens the e-mailed link on a phone and answers; the clerk sees the answer. axe-core
checks every page on the way."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Page, expect

from backend.settings import Settings
from tests.e2e.conftest import DESKTOP, PHONE, LiveServer, Problems, check_a11y
from tests.e2e.test_citizen_followup import staff_login, submit_request, wait_for_mail
from tests.factories import TenantFixture

pytestmark = pytest.mark.browser

LINK = re.compile(r"https?://[^/\s]+(/x/[A-Za-z0-9_-]+)")
TEMPLATE_TEXT = "Guten Tag, Ihr Anliegen {reference} ({service}) ist bei uns in Arbeit."
ANSWER = "Die Laterne wird am Donnerstag getauscht."


def _admin_login(page: Page, server: LiveServer, tenant: TenantFixture) -> None:
    page.goto(server.url(tenant, "/staff/login"))
    page.locator("#email").fill(tenant.admin_email)
    page.locator("#password").fill(tenant.password)
    page.locator("form[action='/staff/login'] button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/staff/?$"))


def _forward_link(settings: Settings, address: str) -> str:
    """Deliver the outbox (into the mail folder) until the forward e-mail to ``address`` is out; its link's path."""
    mail = wait_for_mail(settings, lambda m: m["To"] == address)
    found = LINK.search(mail.get_content())
    assert found, mail.get_content()
    return found.group(1)


def test_a_clerk_replies_from_a_template_and_forwards_the_case_to_the_building_yard(
    live_server: LiveServer, e2e_tenant: TenantFixture, open_context: Any, settings: Settings, problems: Problems
) -> None:
    # The admin writes a template; a misspelt placeholder is refused first, by name.
    _, admin = open_context("admin", **DESKTOP)
    _admin_login(admin, live_server, e2e_tenant)
    admin.goto(live_server.url(e2e_tenant, "/staff/admin"))
    admin.locator("a[href='/staff/admin/reply-templates']").click()
    check_a11y(admin, "reply templates (empty)")
    admin.locator("a[href='/staff/admin/reply-templates/new']").click()
    check_a11y(admin, "new reply template")
    admin.locator("#rt-title").fill("In Arbeit")
    admin.locator("#rt-body_de").fill(TEMPLATE_TEXT.replace("{service}", "{dienst}"))
    admin.locator("main form button[type=submit]").click()
    expect(admin.locator(".error-summary")).to_contain_text("{dienst}")
    check_a11y(admin, "reply template with an error")
    problems.items.remove("admin: POST /staff/admin/reply-templates answered 422")
    admin.locator(".error-summary a").first.click()
    expect(admin.locator("#rt-body_de")).to_be_focused()
    admin.locator("#rt-body_de").fill(TEMPLATE_TEXT)
    admin.locator("#rt-body_en").fill("Hello, your request {reference} ({service}) is being worked on.")
    admin.locator("main form button[type=submit]").click()
    expect(admin.locator(".notice")).to_be_visible()
    check_a11y(admin, "reply templates (saved)")
    admin.locator("table a", has_text="In Arbeit").click()
    check_a11y(admin, "edit reply template")
    admin.locator("a[href$='/delete']").click()
    check_a11y(admin, "delete reply template?")
    admin.locator("a.button", has_text=re.compile("Abbrechen|Cancel")).click()
    expect(admin.locator("#rt-title")).to_have_value("In Arbeit")

    # A citizen reports a broken light.
    _, phone = open_context("citizen", **PHONE)
    reference, _ = submit_request(phone, live_server, e2e_tenant)

    # The clerk takes the template into the message, by keyboard, and adds a line before sending.
    _, desk = open_context("clerk", **DESKTOP)
    staff_login(desk, live_server, e2e_tenant)
    desk.locator("table.inbox a", has_text=reference).click()
    case_url = desk.url
    check_a11y(desk, "case page with templates and the forward form")
    picker = desk.locator("#template-message")
    picker.focus()
    desk.keyboard.press("Home")  # the first (and only) template
    desk.keyboard.press("Tab")
    expect(desk.locator("form[data-target='body'] button[type=submit]")).to_be_focused()
    desk.keyboard.press("Enter")
    body = desk.locator("#body")
    expect(body).to_be_focused()
    expected = f"Guten Tag, Ihr Anliegen {reference} (Straßenlaterne defekt) ist bei uns in Arbeit."
    expect(body).to_have_value(expected)
    expect(desk.locator("form[data-target='body'] [data-role=status]")).to_contain_text("prüfen")
    desk.keyboard.press("End")
    desk.keyboard.type(" Wir melden uns in dieser Woche.")
    desk.locator("#vis-public").focus()
    desk.keyboard.press("Space")
    expect(desk.locator("#vis-public")).to_be_checked()
    desk.locator("form[action$='/messages'] button[type=submit]").focus()
    desk.keyboard.press("Enter")
    expect(desk.locator(".notice")).to_be_visible()
    expect(desk.locator(".timeline")).to_contain_text(expected + " Wir melden uns in dieser Woche.")

    # The clerk forwards the case to the building yard, without the citizen's contact.
    address = f"bauhof-nord@{e2e_tenant.slug}.example"
    desk.locator("#forward-email").fill(address)
    desk.locator("#forward-name").fill("Bauhof Nord")
    desk.locator("#forward-message").fill("Bitte tauschen Sie die Laterne und melden Sie den Termin.")
    expect(desk.locator("#forward-include_contact")).not_to_be_checked()
    desk.locator("form[action$='/forward'] button[type=submit]").click()
    expect(desk.locator("#forward .notice")).to_be_visible()
    expect(desk.locator(".forwards")).to_contain_text("Bauhof Nord")
    check_a11y(desk, "case page after forwarding")

    # The building yard opens the link from the e-mail on a phone and answers.
    path = _forward_link(settings, address)
    _, yard = open_context("building yard", **PHONE)
    yard.goto(live_server.url(e2e_tenant, path))
    expect(yard.locator("h1")).to_contain_text(reference)
    expect(yard.locator("main")).to_contain_text("Bitte tauschen Sie die Laterne")
    expect(yard.locator("main")).to_contain_text("Hauptstraße 12")
    expect(yard.locator("main")).not_to_contain_text("@example.org")
    check_a11y(yard, "external page")
    yard.locator("#answer-message").fill(ANSWER)
    yard.locator("form[action$='/answer'] button[type=submit]").click()
    expect(yard.locator(".notice")).to_be_visible()
    assert urlsplit(yard.url).path == path
    check_a11y(yard, "external page after answering")

    # The clerk sees the answer in the history, as an internal entry.
    desk.goto(case_url)
    entry = desk.locator(".timeline li.internal", has_text="Bauhof Nord").first
    expect(entry).to_contain_text(ANSWER)
    expect(desk.locator(".forwards .badge")).to_contain_text(re.compile("Beantwortet|Answered"))
