"""A clerk's day with the keyboard only: search a street name in the inbox, open the request, claim it, answer
the citizen from a reply template (edited before sending), forward it to the building yard, complete it; a
colleague's change to another request then appears in the list by itself. axe checks every page on the way."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import update

from backend.app import create_app
from backend.catalogue.models import Service
from backend.core.db import alchemy_config, tenant_session
from backend.inbox.models import ReplyTemplate
from backend.settings import Settings
from tests.e2e.conftest import DESKTOP, LiveServer, check_a11y, run_async, serve_in_thread
from tests.factories import TenantFixture
from tests.helpers import login, staff_post, submit_case

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def streaming_server(settings: Settings) -> Iterator[LiveServer]:
    with serve_in_thread(create_app(dataclasses.replace(settings, live_stream_seconds=60.0))) as server:
        yield server


def _as(server: LiveServer, tenant: TenantFixture) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        base_url=f"http://127.0.0.1:{server.port}", headers={"Host": tenant.host}, follow_redirects=True
    )


def _submit(server: LiveServer, tenant: TenantFixture, key: str) -> None:
    async def go() -> None:
        async with _as(server, tenant) as phone:
            await submit_case(phone, tenant, key=key, photo=False)

    run_async(go())


def _set_up(settings: Settings, tenant: TenantFixture) -> None:
    """A reply template, and the street-light service on the report workflow (new to completed in one step)."""

    async def go() -> None:
        db = alchemy_config(settings)
        try:
            async with tenant_session(db, tenant.id) as session:
                await session.execute(
                    update(Service).where(Service.slug == tenant.service_slug).values(workflow={"preset": "report"})
                )
                body = {
                    "de": "Guten Tag, vielen Dank für Ihre Meldung {reference}. Wir kümmern uns darum.",
                    "en": "Hello, thank you for your report {reference}. We are taking care of it.",
                }
                session.add(ReplyTemplate(title="Dank für die Meldung", body=body, position=0))
        finally:
            await db.get_engine().dispose()

    run_async(go())


def _colleague_completes(server: LiveServer, tenant: TenantFixture, case_path: str) -> None:
    async def go() -> None:
        async with _as(server, tenant) as colleague:
            assert (await login(colleague, tenant.admin_email, tenant.password)).status_code == 303
            answer = await staff_post(colleague, case_path, f"{case_path}/status", {"to_status": "completed"})
            assert answer.status_code == 303, answer.text

    run_async(go())


def _press_on(page: Page, selector: str, key: str = "Enter") -> None:
    page.locator(selector).focus()
    page.keyboard.press(key)


def _type_into(page: Page, selector: str, text: str) -> None:
    page.locator(selector).focus()
    page.keyboard.type(text)


def _choose(page: Page, selector: str, value: str) -> None:
    """Pick an option of a closed select with the arrow keys, as a keyboard user does."""
    page.locator(selector).focus()
    for _ in range(20):
        if page.locator(selector).input_value() == value:
            return
        page.keyboard.press("ArrowDown")
    raise AssertionError(f"{value!r} was not reached in {selector}")


def test_a_clerks_day_with_the_keyboard_only(
    streaming_server: LiveServer, e2e_tenant: TenantFixture, open_context: Any, settings: Settings
) -> None:
    server, town = streaming_server, e2e_tenant
    _set_up(settings, town)
    _submit(server, town, "clerk-day-device-0000000001")
    _submit(server, town, "clerk-day-device-0000000002")

    _, desk = open_context("clerk", **DESKTOP)
    desk.goto(server.url(town, "/staff/login"))
    _type_into(desk, "#email", town.clerk_email)
    _type_into(desk, "#password", town.password)
    desk.keyboard.press("Enter")
    expect(desk).to_have_url(re.compile(r"/staff/?$"))
    rows = desk.locator("#inbox-results tbody tr")
    expect(rows).to_have_count(2)

    # Search part of a street name; the address holds the filter.
    _type_into(desk, "#q", "Hauptstr")
    desk.keyboard.press("Enter")
    expect(desk).to_have_url(re.compile(r"q=Hauptstr"))
    expect(rows).to_have_count(2)
    check_a11y(desk, "inbox searched")
    rows.first.locator("a").first.focus()
    desk.keyboard.press("Enter")
    expect(desk).to_have_url(re.compile(r"/staff/cases/[0-9a-f-]{36}$"))
    case_path = re.sub(r"^https?://[^/]+", "", desk.url)
    other_path = None

    # Claim it.
    _press_on(desk, "form.handling-claim button")
    expect(desk.locator(".handling-facts")).to_contain_text("Clara Clerk")
    check_a11y(desk, "case claimed")

    # Answer from a reply template, edited before it goes out.
    _press_on(desk, "form.template-picker:has(#template-message) button")
    body = desk.locator("#body")
    expect(body).to_have_value(re.compile(r"^Guten Tag, vielen Dank für Ihre Meldung \d{4}-\d+\. Wir kümmern uns"))
    check_a11y(desk, "reply template inserted")
    body.focus()
    desk.keyboard.press("Control+End")
    desk.keyboard.type(" Die Laterne wird diese Woche repariert.")
    expect(desk.locator("#vis-public")).to_be_checked()
    _press_on(desk, "form[action$='/messages'] button[type=submit]")
    expect(desk.locator("ol.timeline")).to_contain_text("Die Laterne wird diese Woche repariert.")

    # Forward it to the building yard.
    _type_into(desk, "#forward-email", f"bauhof@{town.slug}.example")
    _type_into(desk, "#forward-name", "Bauhof Nord")
    _type_into(desk, "#forward-message", "Bitte Laterne Hauptstraße 12 prüfen.")
    _press_on(desk, "form[action$='/forward'] button[type=submit]")
    expect(desk.locator("#forward")).to_contain_text("Bauhof Nord")
    check_a11y(desk, "case forwarded")

    # Complete it in one step (a report's workflow allows it).
    _choose(desk, "#to_status", "completed")
    _type_into(desk, "#status-message", "Die Laterne leuchtet wieder.")
    _press_on(desk, "form[action$='/status'] button[type=submit]")
    expect(desk.locator("dl.facts")).to_contain_text("Erledigt")
    check_a11y(desk, "case completed")

    # Back in the list, a colleague completes the other request: the list shows it without a reload.
    desk.goto(server.url(town, "/staff"))
    expect(desk.locator(".live-notice[data-live-state=listening]")).to_have_count(1)
    links = [a.get_attribute("href") for a in desk.locator("#inbox-results tbody tr a[href^='/staff/cases/']").all()]
    other_path = next(h for h in links if h and h != case_path)
    desk.locator("h1").focus()
    _colleague_completes(server, town, other_path)
    expect(desk.locator(f"#inbox-results tr:has(a[href='{other_path}'])")).to_contain_text("Erledigt", timeout=15_000)
    check_a11y(desk, "inbox after a colleague's change")
