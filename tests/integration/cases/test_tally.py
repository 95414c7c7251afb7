"""The running case counts (cases/tally.py) agree with counting the cases, whatever wrote to them, and
concurrent changes of cases never wait for one another over them."""

from __future__ import annotations

import asyncio
import datetime
import uuid

from sqlalchemy import delete, func, select, update

from backend.cases import tally
from backend.cases.models import Case
from backend.cases.scope import EVERY_CASE, CaseScope
from backend.core.db import alchemy_config, unscoped_session
from backend.settings import Settings
from tests.factories import TenantFixture
from tests.helpers import Client
from tests.integration.inbox.test_deadlines import _run
from tests.integration.inbox.town import make_town, new_case


async def _agree(settings: Settings, tenant_id: uuid.UUID, departments: list[uuid.UUID]) -> None:
    """Every scope, department and service: the counts are what a grouped count of the cases gives."""
    scopes = [
        EVERY_CASE,
        CaseScope(departments=frozenset()),
        *(CaseScope(departments=frozenset([d])) for d in departments),
    ]
    db = alchemy_config(settings)
    try:
        async with unscoped_session(db) as session:
            services = list(
                await session.scalars(select(Case.service_id).where(Case.tenant_id == tenant_id).distinct())
            )
            for scope in scopes:
                for department in [None, *departments]:
                    for service in [None, *services]:
                        query = (
                            select(Case.status, func.count(), func.count(Case.citizen_replied_at))
                            .where(Case.tenant_id == tenant_id, scope.condition())
                            .group_by(Case.status)
                        )
                        if department is not None:
                            query = query.where(Case.department_id == department)
                        if service is not None:
                            query = query.where(Case.service_id == service)
                        expected = {s: (n, r) for s, n, r in (await session.execute(query)).tuples()}
                        found = await tally.counts(
                            session, tenant_id, scope, department_id=department, service_id=service
                        )
                        assert found == expected, (scope, department, service)
                        dated = query.where(Case.due_at.is_not(None))
                        expected = {s: (n, r) for s, n, r in (await session.execute(dated)).tuples()}
                        found = await tally.counts(
                            session, tenant_id, scope, department_id=department, service_id=service, dated=True
                        )
                        assert found == expected, ("with a deadline", scope, department, service)
    finally:
        await db.get_engine().dispose()


async def _rows(settings: Settings, tenant_id: uuid.UUID) -> int:
    db = alchemy_config(settings)
    try:
        async with unscoped_session(db) as session:
            query = select(func.count()).select_from(tally.case_tally).where(tally.case_tally.c.tenant_id == tenant_id)
            return int(await session.scalar(query) or 0)
    finally:
        await db.get_engine().dispose()


async def test_counts_follow_every_write_and_survive_folding(
    settings: Settings, client: Client, tenant: TenantFixture
) -> None:
    town = await make_town(settings, tenant)
    departments = [uuid.UUID(town.streets), uuid.UUID(town.office)]
    lamps = [await new_case(client, tenant, settings) for _ in range(3)]
    parked = [await new_case(client, town.parking, settings) for _ in range(2)]
    await _agree(settings, tenant.id, departments)

    # Written past the services on purpose: the database keeps the counts, whatever changes a case.
    now = datetime.datetime.now(datetime.UTC)
    await _run(
        settings,
        update(Case).where(Case.id == lamps[0].id).values(status="in_review"),
        update(Case).where(Case.id == lamps[1].id).values(citizen_replied_at=now, status="waiting"),
        update(Case).where(Case.id == lamps[2].id).values(department_id=uuid.UUID(town.office)),
        update(Case).where(Case.id == parked[0].id).values(service_id=lamps[0].service_id, department_id=None),
        update(Case).where(Case.id == parked[1].id).values(summary="only a text changed"),
        update(Case).where(Case.id == lamps[2].id).values(due_at=None),
        update(Case).where(Case.id == parked[1].id).values(due_at=now, citizen_replied_at=now),
    )
    await _agree(settings, tenant.id, departments)
    await _run(
        settings,
        update(Case).where(Case.id == lamps[1].id).values(citizen_replied_at=None),
        delete(Case).where(Case.id == lamps[0].id),
    )
    await _agree(settings, tenant.id, departments)

    before = await _rows(settings, tenant.id)
    db = alchemy_config(settings)
    try:
        await tally.compact(db)
        await tally.compact(db)  # a second round changes nothing
    finally:
        await db.get_engine().dispose()
    await _agree(settings, tenant.id, departments)
    after = await _rows(settings, tenant.id)
    assert after < before
    # One row per group that has cases: (department, service, status) of the four cases left.
    assert after == 4


async def test_concurrent_changes_of_two_cases_do_not_wait_for_each_other(
    settings: Settings, client: Client, tenant: TenantFixture
) -> None:
    """Both cases are in the same group, so a shared counter row would make the second change wait."""
    first = await new_case(client, tenant, settings)
    second = await new_case(client, tenant, settings)
    db = alchemy_config(settings)
    if db.get_engine().dialect.name != "postgresql":
        await db.get_engine().dispose()
        return  # SQLite has one writer at a time by design
    try:
        async with unscoped_session(db) as holding:
            await holding.execute(update(Case).where(Case.id == first.id).values(status="in_review"))
            # The first transaction is open; the second commits beside it.
            async with unscoped_session(db) as other:
                change = other.execute(update(Case).where(Case.id == second.id).values(status="in_review"))
                await asyncio.wait_for(change, timeout=30)
                await other.commit()
            await holding.commit()
    finally:
        await db.get_engine().dispose()
    await _agree(settings, tenant.id, [])
