"""Deadlines in the inbox: set from the service's working days, paused while the citizen is asked, filtered."""

from __future__ import annotations

import datetime
import re
import uuid

from litestar import Litestar
from sqlalchemy import select, update

from backend.cases.deadlines import due_date, working_days_between
from backend.cases.models import Case, CaseEvent
from backend.catalogue.models import Service
from backend.catalogue.services import CatalogueService
from backend.catalogue.templates import template
from backend.core.db import alchemy_config, tenant_session, unscoped_session
from backend.settings import Settings
from backend.tenants.models import Tenant
from backend.tenants.services import to_context
from tests.conftest import Person
from tests.factories import TenantFixture
from tests.helpers import Client, login, staff_post, submit_case

BERLIN = "Europe/Berlin"


def _utc(value: datetime.datetime) -> datetime.datetime:
    return value if value.tzinfo else value.replace(tzinfo=datetime.UTC)


async def _set_deadline(settings: Settings, tenant: TenantFixture, days: int | None, state: str | None) -> None:
    db = alchemy_config(settings)
    try:
        async with unscoped_session(db) as session:
            await session.execute(update(Tenant).where(Tenant.id == tenant.id).values(state=state))
            await session.execute(update(Service).where(Service.tenant_id == tenant.id).values(processing_days=days))
            await session.commit()
    finally:
        await db.get_engine().dispose()


async def _cases(settings: Settings, tenant: TenantFixture) -> list[Case]:
    db = alchemy_config(settings)
    try:
        async with unscoped_session(db) as session:
            rows = await session.scalars(select(Case).where(Case.tenant_id == tenant.id).order_by(Case.created_at))
            return list(rows)
    finally:
        await db.get_engine().dispose()


async def _run(settings: Settings, *statements: object) -> None:
    db = alchemy_config(settings)
    try:
        async with unscoped_session(db) as session:
            for statement in statements:
                await session.execute(statement)  # type: ignore[call-overload]
            await session.commit()
    finally:
        await db.get_engine().dispose()


async def _submit(client: Client, tenant: TenantFixture, n: int) -> None:
    await submit_case(client, tenant, key=f"deadline-key-{n:04d}-{uuid.uuid4().hex[:12]}", photo=False)


def _references(html: str) -> list[str]:
    return re.findall(r'href="/staff/cases/[0-9a-f-]{36}">([0-9]{4}-[0-9]+)<', html)


async def test_adopting_a_standard_service_keeps_its_processing_days(settings: Settings, tenant: TenantFixture) -> None:
    db = alchemy_config(settings)
    try:
        async with unscoped_session(db) as session:
            ctx = to_context(await session.get_one(Tenant, tenant.id))
        async with tenant_session(db, tenant.id) as session:
            service = await CatalogueService(session, ctx).adopt(template("schlagloch"))
            assert service.processing_days == template("schlagloch").processing_days == 2
    finally:
        await db.get_engine().dispose()


async def test_a_case_is_due_after_its_service_processing_days_in_the_state_calendar(
    app: Litestar, settings: Settings, client: Client, tenant: TenantFixture
) -> None:
    await _set_deadline(settings, tenant, 5, "BY")
    await _submit(client, tenant, 1)
    (case,) = await _cases(settings, tenant)
    assert case.due_at is not None
    assert _utc(case.due_at) == due_date(_utc(case.created_at), 5, "BY", BERLIN)


async def test_a_service_without_processing_days_gives_no_deadline(
    app: Litestar, settings: Settings, client: Client, tenant: TenantFixture
) -> None:
    await _submit(client, tenant, 1)
    (case,) = await _cases(settings, tenant)
    assert case.due_at is None


async def test_waiting_for_the_citizen_moves_the_due_date_by_the_working_days_waited(
    person: Person, app: Litestar, settings: Settings, client: Client, tenant: TenantFixture
) -> None:
    await _set_deadline(settings, tenant, 10, "BE")
    await _submit(client, tenant, 1)
    async with person(tenant.host) as clerk:
        await login(clerk, tenant.clerk_email, tenant.password)
        (case,) = await _cases(settings, tenant)
        url = f"/staff/cases/{case.id}"
        assert (await staff_post(clerk, url, url + "/status", {"to_status": "in_review"})).status_code == 303
        asked = {"to_status": "needs_info", "message": "Bitte nennen Sie die Hausnummer."}
        assert (await staff_post(clerk, url, url + "/status", asked)).status_code == 303
        # The question went out nine days ago: the clock stood still since then.
        asked_at = datetime.datetime.now(datetime.UTC) - datetime.timedelta(days=9)
        await _run(
            settings,
            update(CaseEvent)
            .where(CaseEvent.case_id == case.id, CaseEvent.to_status == "needs_info")
            .values(created_at=asked_at),
        )
        before = _utc(case.due_at)  # type: ignore[arg-type]
        assert (await staff_post(clerk, url, url + "/status", {"to_status": "in_progress"})).status_code == 303
    (after,) = await _cases(settings, tenant)
    waited = working_days_between(asked_at, datetime.datetime.now(datetime.UTC), "BE", BERLIN)
    assert waited >= 5
    assert _utc(after.due_at) == due_date(  # type: ignore[arg-type]
        _utc(case.created_at), 10, "BE", BERLIN, pauses=[(asked_at, datetime.datetime.now(datetime.UTC))]
    )
    assert _utc(after.due_at) > before  # type: ignore[arg-type]
