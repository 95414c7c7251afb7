"""Mark as duplicate in the browser: a clerk marks a request with the keyboard only (a wrong reference first, then
the right one); the citizen of the duplicate sees the main request's status. axe checks the case page, the service
settings page with its workflow section and the citizen's tracking page with the notice."""

from __future__ import annotations

import re
from typing import Any

import pytest
from litestar.testing import AsyncTestClient
from playwright.sync_api import Page, expect
from sqlalchemy import select

from backend.app import create_app
from backend.cases.models import Case
from backend.catalogue.models import Service
from backend.core.db import alchemy_config, unscoped_session
from backend.settings import Settings
from tests.e2e.conftest import DESKTOP, PHONE, LiveServer, Problems, check_a11y, run_async
from tests.factories import TenantFixture
from tests.helpers import submit_case

pytestmark = pytest.mark.browser


async def _two_cases(settings: Settings, tenant: TenantFixture) -> dict[str, Any]:
    """A main request and a later one about the same matter: their tracking paths, references and ids."""
    async with AsyncTestClient(create_app(settings), base_url=f"http://{tenant.host}") as citizen:
        main = await submit_case(citizen, tenant, key="e2e-main-case-0123456789", photo=False)
        dup = await submit_case(citizen, tenant, key="e2e-dup-case-01234567890", photo=False)
    db = alchemy_config(settings)
    try:
        async with unscoped_session(db) as session:
            rows = {c.tracking_token: c for c in await session.scalars(select(Case).where(Case.tenant_id == tenant.id))}
            service_id = await session.scalar(
                select(Service.id).where(Service.tenant_id == tenant.id, Service.slug == tenant.service_slug)
            )
    finally:
        await db.get_engine().dispose()
    main_case, dup_case = rows[main.rsplit("/", 1)[1]], rows[dup.rsplit("/", 1)[1]]
    return {
        "main_ref": main_case.reference,
        "main_id": main_case.id,
        "dup_ref": dup_case.reference,
        "dup_id": dup_case.id,
        "dup_tracking": dup,
        "service_id": service_id,
    }


def _log_in(page: Page, server: LiveServer, tenant: TenantFixture, email: str) -> None:
    page.goto(server.url(tenant, "/staff/login"))
    page.locator("#email").focus()
    page.keyboard.type(email)
    page.locator("#password").focus()
    page.keyboard.type(tenant.password)
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/staff/?$"))


def _mark_with_the_keyboard(page: Page, reference: str) -> None:
    """Into the reference field, type, Tab past the message to the button, Enter."""
    field = page.locator("#dup-original")
    field.focus()
    page.keyboard.press("Control+A")
    page.keyboard.type(reference)
    page.keyboard.press("Tab")
    expect(page.locator("#dup-message")).to_be_focused()
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Als Duplikat markieren und abschließen")).to_be_focused()
    page.keyboard.press("Enter")


def test_a_clerk_marks_a_duplicate_with_the_keyboard_and_its_citizen_sees_the_main_request(
    live_server: LiveServer, e2e_tenant: TenantFixture, settings: Settings, open_context: Any, problems: Problems
) -> None:
    world = run_async(_two_cases(settings, e2e_tenant))
    _, clerk = open_context("clerk", **DESKTOP)
    _log_in(clerk, live_server, e2e_tenant, e2e_tenant.clerk_email)
    clerk.goto(live_server.url(e2e_tenant, f"/staff/cases/{world['dup_id']}"))
    expect(clerk.locator("#duplicate-title")).to_have_text("Duplikate")
    check_a11y(clerk, "case page with the duplicate form")

    year = world["main_ref"].split("-")[0]
    _mark_with_the_keyboard(clerk, f"{year}-99999")
    expect(clerk.locator("#duplicate-errors")).to_contain_text(
        f"Es gibt kein Anliegen mit der Vorgangsnummer {year}-99999."
    )
    expect(clerk.locator("#dup-original")).to_have_attribute("aria-invalid", "true")
    check_a11y(clerk, "case page with a refused reference")
    problems.items.remove(f"clerk: POST /staff/cases/{world['dup_id']}/duplicate answered 422")

    _mark_with_the_keyboard(clerk, world["main_ref"])
    expect(clerk.locator(".duplicate-panel .notice")).to_contain_text("als Duplikat abgeschlossen")
    expect(clerk.locator(".duplicate-panel")).to_contain_text(world["main_ref"])
    check_a11y(clerk, "case page of a duplicate")

    clerk.locator(".duplicate-panel").get_by_role("link", name=world["main_ref"]).focus()
    clerk.keyboard.press("Enter")
    expect(clerk).to_have_url(re.compile(rf"/staff/cases/{world['main_id']}$"))
    expect(clerk.locator(".duplicate-panel").get_by_role("link", name=world["dup_ref"])).to_be_visible()
    check_a11y(clerk, "case page of a main request with its duplicates")

    _, admin = open_context("admin", **DESKTOP)
    _log_in(admin, live_server, e2e_tenant, e2e_tenant.admin_email)
    admin.goto(live_server.url(e2e_tenant, f"/staff/admin/services/{world['service_id']}"))
    expect(admin.locator("#workflow-title")).to_be_visible()
    expect(admin.locator("#workflow_preset")).to_be_checked()  # the default: an application
    check_a11y(admin, "service settings with the workflow section")

    _, citizen = open_context("citizen", **PHONE)
    citizen.goto(live_server.url(e2e_tenant, world["dup_tracking"]))
    notice = citizen.locator(".merged-notice")
    expect(notice).to_contain_text(f"Ihr Anliegen wurde mit Anliegen {world['main_ref']} zusammengeführt")
    expect(notice).to_contain_text("Eingegangen")
    check_a11y(citizen, "tracking page of a duplicate with the notice")
