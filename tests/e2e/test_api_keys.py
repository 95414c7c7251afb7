"""An admin makes an API key in the browser (shown once), sees the list, and revokes the key; every state of the
page passes axe."""

from __future__ import annotations

import re
from typing import Any

from playwright.sync_api import expect

from tests.e2e.conftest import DESKTOP, LiveServer, Problems, check_a11y
from tests.factories import TenantFixture


def test_admin_creates_and_revokes_an_api_key(
    live_server: LiveServer, e2e_tenant: TenantFixture, open_context: Any, problems: Problems
) -> None:
    _, page = open_context("admin", **{**DESKTOP, "locale": "de-DE"})
    page.goto(live_server.url(e2e_tenant, "/staff/login"))
    page.fill("#email", e2e_tenant.admin_email)
    page.fill("#password", e2e_tenant.password)
    page.click("form[action='/staff/login'] button[type=submit]")
    expect(page).to_have_url(re.compile(r"/staff$"))
    page.goto(live_server.url(e2e_tenant, "/staff/admin"))
    page.click("a[href='/staff/admin/api-keys']")
    expect(page.locator("h1")).to_have_text("API-Schlüssel")
    check_a11y(page, "api keys")

    page.uncheck("#scope-read")
    page.click("form[action='/staff/admin/api-keys'] button[type=submit]")
    expect(page.locator(".error-summary")).to_be_visible()
    check_a11y(page, "api keys with errors")
    problems.items.remove("admin: POST /staff/admin/api-keys answered 422")

    page.fill("#name", "Bauhof-Software")
    page.check("#scope-read")
    page.check("#scope-write")
    page.click("form[action='/staff/admin/api-keys'] button[type=submit]")
    secret = page.locator("code.api-key").inner_text()
    assert re.fullmatch(r"rk_[A-Za-z0-9_-]{43}", secret)
    check_a11y(page, "api keys with the new key")

    # The page leads to the API's documentation, and the key works there at once.
    page.click("a[href='/api']")
    expect(page.locator("h1")).to_have_text("Schnittstelle für andere Systeme")
    check_a11y(page, "api documentation")
    status, body = page.evaluate(
        """async (key) => {
            const answer = await fetch("/api/v1/services", {headers: {Authorization: "Bearer " + key}});
            return [answer.status, await answer.text()];
        }""",
        secret,
    )
    assert status == 200 and e2e_tenant.service_slug in body
    paths = page.evaluate('async () => Object.keys((await (await fetch("/schema/openapi.json")).json()).paths)')
    assert "/api/v1/cases/{reference}/status" in paths

    page.goto(live_server.url(e2e_tenant, "/staff/admin/api-keys"))
    expect(page.locator("main")).not_to_contain_text(secret)
    page.get_by_role("button", name="Den Schlüssel Bauhof-Software widerrufen").click()
    expect(page.locator(".notice")).to_contain_text("widerrufen")
    check_a11y(page, "api keys after revoking")
