"""An admin registers a webhook in the browser (a mistake first), sees its secret and delivery log, sends a
delivery again and deletes the webhook; every state of the pages passes axe."""

from __future__ import annotations

import re
from typing import Any

import pytest
from litestar.testing import AsyncTestClient
from playwright.sync_api import expect

from backend.app import create_app
from backend.core.db import alchemy_config
from backend.notifications.delivery import Deliverer, RetryPolicy
from backend.settings import Settings
from tests.e2e.conftest import DESKTOP, LiveServer, Problems, check_a11y, run_async
from tests.factories import TenantFixture
from tests.helpers import submit_case

pytestmark = pytest.mark.browser


async def _a_case_and_one_delivery_round(settings: Settings, tenant: TenantFixture) -> None:
    async with AsyncTestClient(create_app(settings), base_url=f"http://{tenant.host}") as citizen:
        await submit_case(citizen, tenant, key="e2e-webhook-case-0123456789", photo=False)
    worker = Deliverer(alchemy_config(settings), settings, policy=RetryPolicy(base_delay=3600))
    try:
        await worker.run_once()
    finally:
        await worker.aclose()
        await worker.db.get_engine().dispose()


def test_admin_registers_redelivers_and_deletes_a_webhook(
    live_server: LiveServer, e2e_tenant: TenantFixture, open_context: Any, problems: Problems, settings: Settings
) -> None:
    _, page = open_context("admin", **{**DESKTOP, "locale": "de-DE"})
    page.goto(live_server.url(e2e_tenant, "/staff/login"))
    page.fill("#email", e2e_tenant.admin_email)
    page.fill("#password", e2e_tenant.password)
    page.click("form[action='/staff/login'] button[type=submit]")
    expect(page).to_have_url(re.compile(r"/staff$"))
    page.goto(live_server.url(e2e_tenant, "/staff/admin"))
    page.click("a[href='/staff/admin/webhooks']")
    expect(page.locator("h1")).to_have_text("Webhooks")
    check_a11y(page, "webhooks")

    page.fill("#url", "ftp://bauhof.example/ereignisse")
    page.click("form[action='/staff/admin/webhooks'] button[type=submit]")
    expect(page.locator(".error-summary")).to_contain_text("vollständige Webadresse")
    expect(page.locator("#url")).to_have_value("ftp://bauhof.example/ereignisse")
    check_a11y(page, "webhooks with an error")
    problems.items.remove("admin: POST /staff/admin/webhooks answered 422")

    # Port 9 (discard) on loopback: nothing answers, so the log shows a failed attempt.
    page.fill("#url", "http://127.0.0.1:9/ereignisse")
    page.click("form[action='/staff/admin/webhooks'] button[type=submit]")
    expect(page.locator(".notice")).to_contain_text("angelegt")
    assert re.fullmatch(r"whsec_[A-Za-z0-9+/]{32}", page.locator("code.api-key").inner_text())
    check_a11y(page, "a new webhook")

    run_async(_a_case_and_one_delivery_round(settings, e2e_tenant))
    page.reload()
    expect(page.locator("table")).to_contain_text("Keine Antwort")
    check_a11y(page, "a webhook with its delivery log")
    page.locator("table button").first.click()
    expect(page.locator(".notice")).to_contain_text("erneut gesendet")
    check_a11y(page, "a webhook after sending again")

    page.get_by_role("button", name="Webhook löschen").click()
    expect(page.locator(".notice")).to_contain_text("gelöscht")
    expect(page.locator("main")).not_to_contain_text("127.0.0.1:9")
    check_a11y(page, "webhooks after deleting")
