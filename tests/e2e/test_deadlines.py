"""A clerk's deadlines in the browser: the inbox's due column, filters and sort, and the case page, with axe."""

from __future__ import annotations

import datetime
import re
from typing import Any

from litestar.testing import AsyncTestClient
from playwright.sync_api import expect
from sqlalchemy import update

from backend.app import create_app
from backend.cases.models import Case
from backend.settings import Settings
from tests.e2e.conftest import DESKTOP, LiveServer, check_a11y, run_async
from tests.factories import TenantFixture
from tests.integration.inbox.test_deadlines import _cases, _run, _set_deadline, _submit


async def _two_cases_one_overdue(settings: Settings, tenant: TenantFixture) -> Case:
    await _set_deadline(settings, tenant, 5, "BY")
    async with AsyncTestClient(create_app(settings), base_url=f"http://{tenant.host}") as client:
        await _submit(client, tenant, 1)
        await _submit(client, tenant, 2)
    overdue, _ = await _cases(settings, tenant)
    past = datetime.datetime.now(datetime.UTC) - datetime.timedelta(days=2)
    await _run(settings, update(Case).where(Case.id == overdue.id).values(due_at=past))
    return overdue


def test_inbox_deadlines_and_case_page_are_accessible(
    live_server: LiveServer, e2e_tenant: TenantFixture, settings: Settings, open_context: Any
) -> None:
    overdue = run_async(_two_cases_one_overdue(settings, e2e_tenant))
    _, desk = open_context("clerk", **DESKTOP)
    desk.goto(live_server.url(e2e_tenant, "/staff/login"))
    desk.locator("#email").fill(e2e_tenant.clerk_email)
    desk.locator("#password").fill(e2e_tenant.password)
    desk.locator("form[action='/staff/login'] button[type=submit]").click()
    expect(desk).to_have_url(re.compile(r"/staff/?$"))
    expect(desk.locator("table.inbox .badge-overdue")).to_have_text("überfällig")
    check_a11y(desk, "inbox with deadlines")

    desk.goto(live_server.url(e2e_tenant, "/staff?due=overdue&sort=due"))
    expect(desk.locator("table.inbox tbody tr")).to_have_count(1)
    expect(desk.locator("#due")).to_have_value("overdue")
    expect(desk.locator("#sort")).to_have_value("due")
    check_a11y(desk, "inbox filtered by overdue")

    desk.locator("table.inbox a", has_text=overdue.reference).click()
    expect(desk.locator("dl.facts")).to_contain_text("überfällig")
    check_a11y(desk, "case page with an overdue deadline")
