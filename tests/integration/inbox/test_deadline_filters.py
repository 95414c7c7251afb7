"""The inbox's deadline filters and sort: overdue, due soon, earliest first; one municipality's cases only."""

from __future__ import annotations

import datetime
import re

from litestar import Litestar
from sqlalchemy import update

from backend.cases.models import Case
from backend.settings import Settings
from tests.conftest import Person
from tests.factories import TenantFixture
from tests.helpers import Client, login
from tests.integration.inbox.test_deadlines import _cases, _references, _run, _set_deadline, _submit


async def test_overdue_and_due_soon_filters_and_the_due_sort(
    person: Person, app: Litestar, settings: Settings, client: Client, tenant: TenantFixture
) -> None:
    await _set_deadline(settings, tenant, 10, None)
    for n in range(4):
        await _submit(client, tenant, n)
    overdue, soon, later, closed = await _cases(settings, tenant)
    now = datetime.datetime.now(datetime.UTC)
    await _run(
        settings,
        update(Case).where(Case.id == overdue.id).values(due_at=now - datetime.timedelta(days=1)),
        update(Case).where(Case.id == soon.id).values(due_at=now + datetime.timedelta(hours=1)),
        update(Case).where(Case.id == later.id).values(due_at=now + datetime.timedelta(days=30)),
        # A closed case is never overdue, however old its deadline.
        update(Case).where(Case.id == closed.id).values(due_at=now - datetime.timedelta(days=3), status="completed"),
    )
    async with person(tenant.host) as clerk:
        await login(clerk, tenant.clerk_email, tenant.password)
        page = await clerk.get("/staff?due=overdue")
        assert _references(page.text) == [overdue.reference]
        # The counts are of the overdue cases too (the closed one with its old deadline is not among them).
        assert re.findall(r'data-status="(\w+)">(\d+)<', page.text) == [(overdue.status, "1")]
        assert re.findall(r'class="result-count">(\d+)', page.text) == ["1"]
        assert "überfällig" in page.text or "overdue" in page.text
        page = await clerk.get("/staff?due=soon")
        assert _references(page.text) == [soon.reference]
        page = await clerk.get("/staff?sort=due")
        assert _references(page.text) == [closed.reference, overdue.reference, soon.reference, later.reference]
        page = await clerk.get(f"/staff/cases/{overdue.id}")
        assert "überfällig" in page.text or "overdue" in page.text
        page = await clerk.get("/staff?due=bogus&sort=bogus")
        assert page.status_code == 200 and len(_references(page.text)) == 4


async def test_deadline_filters_show_only_the_municipality_own_cases(
    person: Person,
    app: Litestar,
    settings: Settings,
    client: Client,
    tenant: TenantFixture,
    other_tenant: TenantFixture,
) -> None:
    await _set_deadline(settings, tenant, 3, "BE")
    await _set_deadline(settings, other_tenant, 3, "BE")
    await _submit(client, tenant, 1)
    async with person(other_tenant.host) as citizen:
        await _submit(citizen, other_tenant, 2)
    past = datetime.datetime.now(datetime.UTC) - datetime.timedelta(days=2)
    await _run(settings, update(Case).where(Case.tenant_id == other_tenant.id).values(due_at=past))
    (theirs,) = await _cases(settings, other_tenant)
    async with person(tenant.host) as clerk:
        await login(clerk, tenant.clerk_email, tenant.password)
        for flt in ("due=overdue", "due=soon", "sort=due"):
            page = await clerk.get(f"/staff?{flt}")
            assert str(theirs.id) not in page.text
        assert _references((await clerk.get("/staff?due=overdue")).text) == []
