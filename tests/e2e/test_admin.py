"""An invited admin sets a password from the link, then the municipality's name and colours; a citizen on a
phone sees them at once. axe checks every administration page the admin sees."""

from __future__ import annotations

import re
from typing import Any

from playwright.sync_api import expect

from backend.settings import Settings
from tests.e2e.conftest import DESKTOP, PHONE, LiveServer, Problems, check_a11y, run_async
from tests.factories import TenantFixture
from tests.integration.accounts.test_invitation import _invite

PASSWORD = "harbour-lantern-violet-42"


def test_invited_admin_sets_password_and_branding_and_citizens_see_it(
    live_server: LiveServer, e2e_tenant: TenantFixture, open_context: Any, settings: Settings, problems: Problems
) -> None:
    link = run_async(_invite(settings, e2e_tenant, f"chief@{e2e_tenant.slug}.example"))
    _, page = open_context("invited admin", **{**DESKTOP, "locale": "en-GB"})
    page.goto(live_server.url(e2e_tenant, link))
    expect(page.locator("h1")).to_contain_text(e2e_tenant.name)
    check_a11y(page, "invitation")
    page.fill("#password", "short")
    page.fill("#password_repeat", "short")
    page.evaluate("() => document.querySelectorAll('input').forEach(i => i.removeAttribute('minlength'))")
    page.click("main button[type=submit]")
    expect(page.locator(".error-summary")).to_contain_text("12")
    check_a11y(page, "invitation with an error")
    page.fill("#password", PASSWORD)
    page.fill("#password_repeat", PASSWORD)
    page.click("main button[type=submit]")
    expect(page).to_have_url(re.compile(r"/staff$"))

    page.click("nav.staff-nav >> text=Administration")
    expect(page).to_have_url(re.compile(r"/staff/admin$"))
    check_a11y(page, "administration")
    page.click("a[href='/staff/admin/branding']")
    check_a11y(page, "branding")
    page.fill("#primary_color_text", "#ffff00")
    page.click("main button[type=submit]")
    expect(page.locator(".error-summary")).to_contain_text("4.5:1")
    check_a11y(page, "branding with an error")
    # The refusal answers 422 on purpose; any other failed request is still a problem.
    problems.items.remove("invited admin: POST /staff/admin/branding answered 422")
    page.fill("#name_text", "Stadt Neuhafen")
    page.fill("#primary_color_text", "#0b6e4f")
    page.click("main button[type=submit]")
    expect(page.locator(".notice")).to_be_visible()
    check_a11y(page, "branding saved")

    _, phone = open_context("citizen", **PHONE)
    phone.goto(live_server.url(e2e_tenant, "/"))
    expect(phone).to_have_title(re.compile("Stadt Neuhafen"))
    brand = phone.evaluate("() => getComputedStyle(document.documentElement).getPropertyValue('--brand').trim()")
    assert brand == "#0b6e4f"
    check_a11y(phone, "citizen home with the new branding")


def admin_pages(settings: Settings) -> list[str]:
    """Every administration page without a path parameter, from the route table (a page added later is checked
    by itself); the pages of one service, person or department are checked by the journeys that reach them."""
    from backend.app import create_app

    paths = {
        route.path
        for route in create_app(settings).routes
        if route.path.startswith("/staff/admin")
        and "{" not in route.path
        and "GET" in route.methods
        and not route.path.endswith(".csv")  # a download, not a page
    }
    return sorted(paths)


def test_every_administration_page_passes_axe(
    live_server: LiveServer, e2e_tenant: TenantFixture, open_context: Any, settings: Settings
) -> None:
    _, page = open_context("admin", **{**DESKTOP, "locale": "de-DE"})
    page.goto(live_server.url(e2e_tenant, "/staff/login"))
    page.fill("#email", e2e_tenant.admin_email)
    page.fill("#password", e2e_tenant.password)
    page.click("form[action='/staff/login'] button[type=submit]")
    expect(page).to_have_url(re.compile(r"/staff$"))
    pages = admin_pages(settings)
    assert len(pages) >= 12, pages
    for path in pages:
        response = page.goto(live_server.url(e2e_tenant, path))
        assert response is not None and response.status == 200, path
        check_a11y(page, path)
