"""An admin fills in the contact details, edits the imprint and words a home page text their own way; a
citizen on a phone sees both and finds the legal pages in the footer. axe checks every page on the way."""

from __future__ import annotations

import re
from typing import Any

from playwright.sync_api import expect

from tests.e2e.conftest import DESKTOP, PHONE, LiveServer, Problems, check_a11y
from tests.factories import TenantFixture

ENGLISH = {"locale": "en-GB"}


def test_admin_edits_imprint_and_home_text_and_citizen_sees_both(
    live_server: LiveServer, e2e_tenant: TenantFixture, open_context: Any, problems: Problems
) -> None:
    _, desk = open_context("admin", **{**DESKTOP, **ENGLISH})
    desk.goto(live_server.url(e2e_tenant, "/staff/login"))
    desk.locator("#email").fill(e2e_tenant.admin_email)
    desk.locator("#password").fill(e2e_tenant.password)
    desk.locator("form[action='/staff/login'] button[type=submit]").click()
    expect(desk).to_have_url(re.compile(r"/staff/?$"))
    desk.goto(live_server.url(e2e_tenant, "/staff/admin"))

    desk.click("a[href='/staff/admin/contact']")
    check_a11y(desk, "contact details")
    desk.fill("#address", "Marktplatz 1\n12345 Neuhafen")
    desk.fill("#email", "no address")
    # The browser would refuse it first; the server's answer is what is checked here.
    desk.evaluate("() => { document.querySelector('main form[method=post]').noValidate = true; }")
    desk.click("main button[type=submit]")
    expect(desk.locator(".error-summary")).to_contain_text("valid e-mail address")
    check_a11y(desk, "contact details with an error")
    problems.items.remove("admin: POST /staff/admin/contact answered 422")
    desk.fill("#email", "rathaus@neuhafen.example")
    desk.fill("#opening_hours_en", "Mon–Fri 8 am – 12 noon")
    desk.click("main button[type=submit]")
    expect(desk.locator(".notice")).to_be_visible()

    desk.goto(live_server.url(e2e_tenant, "/staff/admin"))
    desk.click("a[href='/staff/admin/legal']")
    check_a11y(desk, "legal pages")
    desk.click("a[href='/staff/admin/legal/imprint']")
    expect(desk.locator("#body_en")).to_have_value(re.compile("Information according to § 5 DDG"))
    check_a11y(desk, "imprint form")
    desk.fill("#body_en", "## Publisher\n\nThe town of Neuhafen by the sea.\nMore at https://neuhafen.example/.")
    desk.click("main button[type=submit]")
    expect(desk.locator(".notice")).to_be_visible()
    check_a11y(desk, "imprint saved")

    desk.goto(live_server.url(e2e_tenant, "/staff/admin"))
    desk.click("a[href='/staff/admin/texts']")
    check_a11y(desk, "wording")
    desk.fill("#q", "can we do")
    desk.locator("form[role=search] button[type=submit]").click()
    row = desk.locator("form.override-row", has=desk.locator("input[name=msgid][value='What can we do for you?']"))
    row.locator("input[name=override_en]").fill("Hello %(name)s")
    row.locator("button[type=submit]").click()
    expect(desk.locator(".error-summary")).to_contain_text("placeholders")
    check_a11y(desk, "wording with an error")
    problems.items.remove("admin: POST /staff/admin/texts answered 422")
    row = desk.locator("form.override-row", has=desk.locator("input[name=msgid][value='What can we do for you?']"))
    row.locator("input[name=override_en]").fill("How can the town hall help you today?")
    row.locator("button[type=submit]").click()
    expect(desk.locator(".notice")).to_be_visible()
    expect(desk.locator("input[name=override_en][value='How can the town hall help you today?']")).to_have_count(1)
    check_a11y(desk, "wording saved")

    _, phone = open_context("citizen", **{**PHONE, **ENGLISH})
    phone.goto(live_server.url(e2e_tenant, "/"))
    expect(phone.locator("h1")).to_have_text("How can the town hall help you today?")
    check_a11y(phone, "citizen home with own wording")
    phone.locator("footer a[href='/imprint']").click()
    expect(phone.locator("main h2").first).to_have_text("Publisher")
    expect(phone.locator("main")).to_contain_text("The town of Neuhafen by the sea.")
    expect(phone.locator("main a[href='https://neuhafen.example/']")).to_be_visible()
    check_a11y(phone, "imprint")
    phone.locator("footer a[href='/contact']").click()
    expect(phone.locator("main")).to_contain_text("Mon–Fri 8 am – 12 noon")
    check_a11y(phone, "contact")
    for path in ("/privacy", "/accessibility"):
        phone.locator(f"footer a[href='{path}']").click()
        expect(phone).to_have_url(re.compile(re.escape(path) + "$"))
        check_a11y(phone, path)
    # Another language keeps the shared wording.
    phone.goto(live_server.url(e2e_tenant, "/language/de?next=/"))
    expect(phone.locator("h1")).to_have_text("Was können wir für Sie tun?")
