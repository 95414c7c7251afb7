"""A clerk sets up two-step login in the browser (QR code and key on the page), logs out, and logs in again with
the password and a code from the app; a recovery code also works once. axe checks every page of it."""

from __future__ import annotations

import datetime
import re
from typing import Any

import pyotp
import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import DESKTOP, LiveServer, Problems, check_a11y
from tests.factories import TenantFixture

pytestmark = pytest.mark.browser


def _code(secret: str, steps_ahead: int) -> str:
    return pyotp.TOTP(secret).at(datetime.datetime.now(datetime.UTC) + datetime.timedelta(seconds=30 * steps_ahead))


def _password(page: Page, server: LiveServer, tenant: TenantFixture) -> None:
    page.goto(server.url(tenant, "/staff/login"))
    page.fill("#email", tenant.clerk_email)
    page.fill("#password", tenant.password)
    page.keyboard.press("Enter")


def test_a_clerk_sets_up_two_step_login_and_logs_in_with_a_code(
    live_server: LiveServer, e2e_tenant: TenantFixture, open_context: Any, problems: Problems
) -> None:
    _, page = open_context("clerk", **{**DESKTOP, "locale": "de-DE"})
    _password(page, live_server, e2e_tenant)
    expect(page).to_have_url(re.compile(r"/staff$"))
    page.get_by_role("link", name="Sitzungen").click()
    expect(page.locator("table.sessions")).to_contain_text("dieser Browser")
    check_a11y(page, "sessions")
    page.locator("main").get_by_role("link", name="Zweistufige Anmeldung").click()
    expect(page.locator(".qr svg")).to_be_visible()
    check_a11y(page, "two-step login set-up")
    secret = page.locator("[data-secret]").inner_text().replace(" ", "")

    page.fill("#code", "000000" if _code(secret, 0) != "000000" else "111111")
    page.keyboard.press("Enter")
    expect(page.locator(".error-summary")).to_be_visible()
    check_a11y(page, "set-up with a wrong code")
    problems.items.remove("clerk: POST /staff/account/two-factor answered 422")
    page.fill("#code", _code(secret, 0))
    page.keyboard.press("Enter")
    expect(page.locator("ul.codes code")).to_have_count(10)
    codes = page.locator("ul.codes code").all_inner_texts()
    check_a11y(page, "recovery codes")
    page.locator("form[action='/staff/logout'] button").click()

    _password(page, live_server, e2e_tenant)
    expect(page).to_have_url(re.compile(r"/staff/login/code$"))
    check_a11y(page, "code step")
    page.fill("#code", _code(secret, 1))
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/staff$"))
    page.locator("form[action='/staff/logout'] button").click()

    _password(page, live_server, e2e_tenant)
    page.fill("#code", codes[0])
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/staff$"))
    page.goto(live_server.url(e2e_tenant, "/staff/account/two-factor"))
    expect(page.locator("main")).to_contain_text("Noch 9 Wiederherstellungscodes")
    check_a11y(page, "two-step login is on")
