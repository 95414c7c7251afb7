"""A submission whose receipt a crash kept from being queued (PostgreSQL writes the case and its rows in separate
statements) gets it from the sweep beside the worker, once, and only when it is surely missing."""

from __future__ import annotations

import datetime
import uuid

from sqlalchemy import delete, select

from backend.cases.models import Case
from backend.core.db import alchemy_config, unscoped_session
from backend.notifications.models import OutboxMessage
from backend.notifications.receipt import announce_missed, receipt_id
from backend.settings import Settings
from tests.factories import TenantFixture
from tests.helpers import Client
from tests.integration.notifications.conftest import outbox, submit_case


async def _case_of(settings: Settings, tracking: str) -> uuid.UUID:
    db = alchemy_config(settings)
    try:
        async with unscoped_session(db) as session:
            found = await session.scalar(select(Case.id).where(Case.tracking_token == tracking.rsplit("/", 1)[-1]))
    finally:
        await db.get_engine().dispose()
    assert found is not None
    return found


async def test_a_receipt_missing_after_a_crash_is_queued_once_by_the_sweep(
    client: Client, tenant: TenantFixture, settings: Settings
) -> None:
    # submit_case drops the new case's receipt, as an instance that died right after saving the case would.
    tracking = await submit_case(client, tenant, photo=False)
    db = alchemy_config(settings)
    now = datetime.datetime.now(datetime.UTC)
    try:
        if settings.is_sqlite:
            # One transaction writes a case and its rows there: nothing can be missing, nothing is looked for.
            assert await announce_missed(db, now + datetime.timedelta(minutes=2)) == []
            return
        case_id = await _case_of(settings, tracking)
        assert case_id not in await announce_missed(db, now), "a case younger than a minute may still be writing"
        assert await outbox(settings, tenant_id=tenant.id) == []
        later = now + datetime.timedelta(minutes=2)
        assert case_id in await announce_missed(db, later)
        rows = await outbox(settings, tenant_id=tenant.id)
        assert [(r.channel, r.payload["kind"]) for r in rows] == [("email", "receipt")]
        assert rows[0].id == receipt_id(rows[0].case_id) and rows[0].payload["url"] == tracking
        assert case_id not in await announce_missed(db, later), "queued once"
        assert len(await outbox(settings, tenant_id=tenant.id)) == 1

        async with unscoped_session(db) as session:
            await session.execute(delete(OutboxMessage).where(OutboxMessage.tenant_id == tenant.id))
        assert case_id not in await announce_missed(db, now + datetime.timedelta(hours=2)), "past the look-back"
    finally:
        await db.get_engine().dispose()
