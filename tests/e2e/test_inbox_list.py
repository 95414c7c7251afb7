"""The inbox list on a phone: each request a card, nothing cut off, no sideways scrolling; axe on phone and desk."""

from __future__ import annotations

import re
import uuid
from typing import Any

from litestar.testing import AsyncTestClient
from playwright.sync_api import expect

from backend.app import create_app
from backend.settings import Settings
from tests.e2e.conftest import DESKTOP, PHONE, LiveServer, check_a11y, run_async
from tests.factories import TenantFixture
from tests.integration.inbox.test_list import _submit

LONG = "Sehr-lange-Beschreibung-ohne-Leerzeichen-die-auf-einem-Telefon-sonst-abgeschnitten-würde " * 2


async def _cases(settings: Settings, tenant: TenantFixture) -> None:
    async with AsyncTestClient(create_app(settings), base_url=f"http://{tenant.host}") as client:
        await _submit(client, tenant, where__address="Hauptstraße 12", what="Laterne dunkel")
        await _submit(client, tenant, where__address=LONG[:290], what=f"Laterne {uuid.uuid4().hex}")


def _log_in(page: Any, live_server: LiveServer, tenant: TenantFixture) -> None:
    page.goto(live_server.url(tenant, "/staff/login"))
    page.locator("#email").fill(tenant.clerk_email)
    page.locator("#password").fill(tenant.password)
    page.locator("form[action='/staff/login'] button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/staff/?$"))


def test_inbox_on_a_phone_shows_cards_with_nothing_cut_off(
    live_server: LiveServer, e2e_tenant: TenantFixture, settings: Settings, open_context: Any
) -> None:
    run_async(_cases(settings, e2e_tenant))
    _, phone = open_context("clerk-phone", **PHONE)
    _log_in(phone, live_server, e2e_tenant)
    expect(phone.locator("table.inbox tbody tr")).to_have_count(2)
    cut = phone.evaluate(
        """() => [...document.querySelectorAll('table.inbox tbody td, table.inbox tbody tr')]
            .filter(el => el.scrollWidth > el.clientWidth + 1)
            .map(el => el.tagName + ': ' + el.textContent.trim().slice(0, 60))"""
    )
    assert cut == [], cut
    widths = phone.evaluate("() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]")
    assert widths[0] <= widths[1], f"the page scrolls sideways: {widths}"
    # A card: each value under its own label, the summary in full.
    assert phone.locator("table.inbox td.summary").first.evaluate("el => getComputedStyle(el).display") == "block"
    expect(phone.locator("table.inbox")).to_contain_text("Hauptstraße 12")
    check_a11y(phone, "inbox on a phone")

    phone.goto(live_server.url(e2e_tenant, "/staff?q=hauptstr&from=gestern"))
    expect(phone.locator("table.inbox tbody tr")).to_have_count(1)
    expect(phone.locator("#from-error")).to_be_visible()
    check_a11y(phone, "inbox search with a date error")

    _, desk = open_context("clerk-desk", **DESKTOP)
    _log_in(desk, live_server, e2e_tenant)
    assert desk.locator("table.inbox td.summary").first.evaluate("el => getComputedStyle(el).display") == "table-cell"
    check_a11y(desk, "inbox on a desk")
