"""An admin makes a department and invites a clerk into it; the clerk opens the link from the e-mail, sets a
password and logs in. A forgotten password is reset through the e-mailed link. axe checks every new page."""

from __future__ import annotations

import re
from typing import Any

from playwright.sync_api import Page, expect

from backend.settings import Settings
from tests.e2e.conftest import DESKTOP, LiveServer, Problems, check_a11y, run_async
from tests.factories import TenantFixture
from tests.integration.accounts.conftest import LINK, Mailbox
from tests.integration.accounts.conftest import mailbox as mailbox  # the test SMTP server, as a fixture here too

CLERK_PASSWORD = "meadow-compass-tulip-58"
NEW_PASSWORD = "harbour-pebble-quartz-73"


def _delivered(settings: Settings, mailbox: tuple[Mailbox, int], address: str) -> str:
    """Run the outbox worker once against the test SMTP server; the path of the link mailed to ``address``."""
    from dataclasses import replace

    from backend.core.db import alchemy_config
    from backend.notifications.delivery import Deliverer

    box, port = mailbox
    mailing = replace(settings, smtp_host="127.0.0.1", smtp_port=port, smtp_security="none")

    async def run() -> None:
        worker = Deliverer(alchemy_config(mailing), mailing)
        try:
            await worker.run_once()
        finally:
            await worker.aclose()
            await worker.db.get_engine().dispose()

    run_async(run())
    [mail] = box.to(address)
    found = LINK.search(mail.get_content())  # type: ignore[attr-defined]
    assert found
    return found.group(1)


def _log_in(page: Page, server: LiveServer, tenant: TenantFixture, address: str, password: str) -> None:
    page.goto(server.url(tenant, "/staff/login"))
    page.fill("#email", address)
    page.fill("#password", password)
    page.locator("form[action='/staff/login'] button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/staff$"))


def test_admin_invites_a_clerk_into_a_department_and_the_clerk_logs_in(
    live_server: LiveServer,
    e2e_tenant: TenantFixture,
    open_context: Any,
    settings: Settings,
    problems: Problems,
    mailbox: tuple[Mailbox, int],
) -> None:
    _, admin = open_context("admin", **{**DESKTOP, "locale": "en-GB"})
    _log_in(admin, live_server, e2e_tenant, e2e_tenant.admin_email, e2e_tenant.password)
    admin.click("nav.staff-nav >> text=Administration")
    admin.click("a[href='/staff/admin/departments']")
    check_a11y(admin, "departments")
    admin.click("form[action='/staff/admin/departments'] button[type=submit]")  # no name
    expect(admin.locator(".error-summary")).to_be_visible()
    check_a11y(admin, "departments with an error")
    problems.items.remove("admin: POST /staff/admin/departments answered 422")
    admin.fill("#name", "Bauhof")
    admin.click("form[action='/staff/admin/departments'] button[type=submit]")
    expect(admin.locator("h1")).to_have_text("Bauhof")
    check_a11y(admin, "department")

    admin.goto(live_server.url(e2e_tenant, "/staff/admin/staff"))
    check_a11y(admin, "staff")
    address = f"new.clerk@{e2e_tenant.slug}.example"
    admin.fill("#email", address)
    admin.select_option("#role", "clerk")
    admin.get_by_label("Bauhof").check()
    admin.click("form[action='/staff/admin/staff/invite'] button[type=submit]")
    expect(admin.locator(".invite-link")).to_contain_text("/staff/invite/")
    check_a11y(admin, "staff with the invitation link")
    admin.locator("table a", has_text="new.clerk").click()
    check_a11y(admin, "person")

    path = _delivered(settings, mailbox, address)
    _, clerk = open_context("clerk", **{**DESKTOP, "locale": "en-GB"})
    clerk.goto(live_server.url(e2e_tenant, path))
    clerk.fill("#password", CLERK_PASSWORD)
    clerk.fill("#password_repeat", CLERK_PASSWORD)
    clerk.click("main button[type=submit]")
    expect(clerk).to_have_url(re.compile(r"/staff$"))
    clerk.locator("form[action='/staff/logout'] button").click()
    _log_in(clerk, live_server, e2e_tenant, address, CLERK_PASSWORD)

    # The clerk forgets the password and sets a new one through the e-mailed link.
    clerk.locator("form[action='/staff/logout'] button").click()
    clerk.click("a[href='/staff/password/forgot']")
    check_a11y(clerk, "forgotten password")
    clerk.fill("#email", address)
    clerk.click("main button[type=submit]")
    expect(clerk.locator(".notice")).to_be_visible()
    check_a11y(clerk, "forgotten password sent")
    mailbox[0].messages.clear()
    clerk.goto(live_server.url(e2e_tenant, _delivered(settings, mailbox, address)))
    check_a11y(clerk, "new password")
    clerk.fill("#password", NEW_PASSWORD)
    clerk.fill("#password_confirm", NEW_PASSWORD)
    clerk.click("main button[type=submit]")
    expect(clerk).to_have_url(re.compile(r"/staff$"))
