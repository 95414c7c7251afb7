"""Case handling in the clerk's browser: claim a case and set its priority with the keyboard alone; change the status
of several cases from the list at once; axe on the case page and the bulk pages."""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest
from litestar.testing import AsyncTestClient
from playwright.sync_api import Locator, Page, expect

from backend.app import create_app
from backend.settings import Settings
from tests.e2e.conftest import DESKTOP, PHONE, LiveServer, Problems, check_a11y, run_async
from tests.factories import TenantFixture
from tests.integration.inbox.town import new_case

pytestmark = pytest.mark.browser


async def _cases(settings: Settings, tenant: TenantFixture, n: int) -> list[tuple[uuid.UUID, str]]:
    async with AsyncTestClient(create_app(settings), base_url=f"http://{tenant.host}") as citizen:
        made = [await new_case(citizen, tenant, settings) for _ in range(n)]
    return [(c.id, c.reference) for c in made]


def _log_in(page: Page, live_server: LiveServer, tenant: TenantFixture) -> None:
    page.goto(live_server.url(tenant, "/staff/login"))
    page.locator("#email").fill(tenant.clerk_email)
    page.locator("#password").fill(tenant.password)
    page.locator("#password").press("Enter")
    expect(page).to_have_url(re.compile(r"/staff/?$"))


def _tab_to(page: Page, target: Locator, limit: int = 80) -> None:
    """Press Tab until the target has the keyboard focus (as a person with the keyboard only would)."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if target.evaluate("el => el === document.activeElement"):
            return
    pytest.fail(f"Tab never reached {target}")


def test_a_clerk_claims_a_case_and_sets_its_priority_with_the_keyboard_only(
    live_server: LiveServer, e2e_tenant: TenantFixture, settings: Settings, open_context: Any
) -> None:
    [(case_id, reference)] = run_async(_cases(settings, e2e_tenant, 1))
    _, page = open_context("clerk", **DESKTOP)
    _log_in(page, live_server, e2e_tenant)
    page.goto(live_server.url(e2e_tenant, f"/staff/cases/{case_id}"))
    expect(page.locator(".handling-facts")).to_contain_text("noch niemandem")
    check_a11y(page, "case page with its handling")

    claim = page.locator("form[action$='/claim'] button")
    _tab_to(page, claim)
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"\?done=claimed$"))
    expect(page.locator(".handling .notice")).to_have_text("Sie bearbeiten dieses Anliegen jetzt.")
    expect(page.locator(".handling-facts")).to_contain_text("Clara Clerk")

    _tab_to(page, page.locator(".handling-change summary"))
    page.keyboard.press("Enter")
    priority = page.locator("#priority")
    _tab_to(page, priority)
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")
    assert priority.input_value() == "urgent"
    _tab_to(page, page.locator("form[action$='/priority'] button"))
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"\?done=priority$"))
    expect(page.locator(".handling-facts .badge")).to_have_text("Dringend")
    expect(page.locator(".timeline")).to_contain_text("Priorität: Normal → Dringend")
    expect(page.locator(".timeline")).to_contain_text("Zugewiesen an Clara Clerk")
    check_a11y(page, "case page after claiming and setting the priority")

    page.goto(live_server.url(e2e_tenant, "/staff?assignee=me&priority=urgent"))
    expect(page.locator("table.inbox tbody tr")).to_have_count(1)
    expect(page.locator("table.inbox tbody tr")).to_contain_text(reference)


def test_several_cases_change_status_at_once_from_the_list(
    live_server: LiveServer, e2e_tenant: TenantFixture, settings: Settings, open_context: Any, problems: Problems
) -> None:
    cases = run_async(_cases(settings, e2e_tenant, 3))
    _, page = open_context("clerk", **DESKTOP)
    _log_in(page, live_server, e2e_tenant)
    expect(page.locator("table.inbox tbody tr")).to_have_count(3)
    check_a11y(page, "inbox with the bulk form")

    # Nothing chosen: the form comes back with the error, the message kept.
    page.locator("#bulk-status").select_option("in_review")
    page.locator("#bulk-message").fill("Wir prüfen Ihre Meldung.")
    page.locator("button[name=action][value=status]").click()
    expect(page.locator("#error-summary")).to_contain_text("Bitte wählen Sie mindestens ein Anliegen aus.")
    expect(page.locator("#bulk-message")).to_have_value("Wir prüfen Ihre Meldung.")
    check_a11y(page, "bulk form with an error")
    problems.items.remove("clerk: POST /staff/bulk answered 422")

    page.goto(live_server.url(e2e_tenant, "/staff"))
    for case_id, _reference in cases[:2]:
        page.locator(f"#pick-{case_id}").check()
    page.locator("#bulk-status").select_option("in_review")
    page.locator("#bulk-message").fill("Wir prüfen Ihre Meldung.")
    page.locator("button[name=action][value=status]").click()
    expect(page.locator("h1")).to_have_text("Sammelaktion")
    expect(page.locator("table.outcomes tbody tr")).to_have_count(2)
    expect(page.locator("table.outcomes tbody tr.outcome-done")).to_have_count(2)
    expect(page.locator("main .notice")).to_have_text("Erledigt: 2 von 2 ausgewählten Anliegen.")
    check_a11y(page, "bulk result page")

    page.locator(".breadcrumb a").click()
    expect(page.locator("table.inbox tbody .status-in_review")).to_have_count(2)


def test_the_list_with_handling_columns_stays_cards_on_a_phone(
    live_server: LiveServer, e2e_tenant: TenantFixture, settings: Settings, open_context: Any
) -> None:
    run_async(_cases(settings, e2e_tenant, 1))
    _, phone = open_context("clerk-phone", **PHONE)
    _log_in(phone, live_server, e2e_tenant)
    expect(phone.locator("table.inbox tbody tr")).to_have_count(1)
    widths = phone.evaluate("() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]")
    assert widths[0] <= widths[1], f"the page scrolls sideways: {widths}"
    expect(phone.locator("table.inbox td.pick label")).to_be_visible()
    check_a11y(phone, "inbox with handling on a phone")
