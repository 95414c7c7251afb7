"""Retention: a municipality's closed cases are anonymised once nothing has happened on them for its retention
period (``tenant.retention_days``, set by its admins; none: cases are kept).

What stays is what the statistics need: service, department, status, reference, dates and deadline, choices
made in the form, the feedback's ratings and the timeline's steps. What goes: contact data, free texts (answers,
messages, notes, the feedback's comments), the place, files, push subscriptions, e-mails not yet sent. The
tracking link keeps working and shows the bare steps. Run by the delivery worker (``rathaus worker``, or the app
when it runs the worker), every municipality in its own session.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import logging
import uuid

from advanced_alchemy.extensions.litestar import SQLAlchemyAsyncConfig
from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from backend.cases.models import Attachment, Case, CaseEvent, CaseFeedback
from backend.cases.workflow import OPEN_STATUSES
from backend.catalogue.models import FormVersion
from backend.catalogue.services import CatalogueService
from backend.core.db import tenant_session, unscoped_session
from backend.core.storage import Storage
from backend.notifications.models import CaseSubscription, OutboxMessage
from backend.tenants.models import Tenant
from backend.tenants.services import to_context

log = logging.getLogger("rathaus.cases.retention")

RETENTION_EVERY_SECONDS = 3600.0
# The shortest and longest period an admin may set, in days.
MIN_DAYS, MAX_DAYS = 30, 3650
BATCH = 200
# Answers of these field types are choices from the form's own options: kept for the statistics.
KEPT_TYPES = ("choice", "multichoice", "consent")


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


async def anonymise_expired(db: SQLAlchemyAsyncConfig, storage: Storage, now: datetime.datetime | None = None) -> int:
    """Anonymise every municipality's closed cases past its retention period; returns how many."""
    now = now or _now()
    async with unscoped_session(db) as session:
        periods = list(
            (
                await session.execute(
                    select(Tenant.id, Tenant.retention_days).where(Tenant.retention_days.is_not(None))
                )
            ).tuples()
        )
    done = 0
    for tenant_id, days in periods:
        cutoff = now - datetime.timedelta(days=max(int(days or 0), MIN_DAYS))
        while True:
            async with tenant_session(db, tenant_id) as session:
                keys, count = await _anonymise_batch(session, tenant_id, cutoff, now)
            for key in keys:  # after the commit: a failure never leaves a row pointing at a deleted file
                await storage.delete(key)
            done += count
            if count < BATCH:
                break
    return done


async def _anonymise_batch(
    session: AsyncSession, tenant_id: uuid.UUID, cutoff: datetime.datetime, now: datetime.datetime
) -> tuple[list[str], int]:
    cases = list(
        await session.scalars(
            select(Case)
            .where(
                Case.tenant_id == tenant_id,
                Case.status.not_in(OPEN_STATUSES),
                Case.anonymised_at.is_(None),
                Case.last_activity_at < cutoff,
            )
            .order_by(Case.last_activity_at, Case.id)
            .limit(BATCH)
            .with_for_update(skip_locked=True)
        )
    )
    if not cases:
        return [], 0
    ids = [c.id for c in cases]
    tenant = to_context(await session.get_one(Tenant, tenant_id))
    catalogue = CatalogueService(session, tenant)
    versions = {
        v.id: catalogue.parsed(v)
        for v in await session.scalars(
            select(FormVersion).where(FormVersion.id.in_({c.form_version_id for c in cases}))
        )
    }
    for case in cases:
        definition = versions.get(case.form_version_id)
        kept = {f.name for f in definition.fields if f.type in KEPT_TYPES} if definition is not None else set()
        case.answers = {name: value for name, value in (case.answers or {}).items() if name in kept}
        case.location = None
        case.contact_email = None
        case.emails_off = True
        case.summary = ""
        case.search_text = case.reference.lower()
        case.citizen_replied_at = None
        case.anonymised_at = now
        case.account_id = None  # the citizen's account forgets it too
    quiet = {"synchronize_session": False}
    await session.execute(
        update(CaseEvent).where(CaseEvent.case_id.in_(ids)).values(body="").execution_options(**quiet)
    )
    await session.execute(
        update(CaseEvent)
        .where(CaseEvent.case_id.in_(ids), CaseEvent.actor_kind != "staff")
        .values(actor_name="", detail=None)
        .execution_options(**quiet)
    )
    await session.execute(
        update(CaseFeedback).where(CaseFeedback.case_id.in_(ids)).values(comment="").execution_options(**quiet)
    )
    await session.execute(delete(CaseSubscription).where(CaseSubscription.case_id.in_(ids)).execution_options(**quiet))
    await session.execute(
        delete(OutboxMessage)
        .where(OutboxMessage.case_id.in_(ids), OutboxMessage.status == "pending")
        .execution_options(**quiet)
    )
    await session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.case_id.in_(ids))
        .values(email=None, payload={})
        .execution_options(**quiet)
    )
    keys = list(
        await session.scalars(
            delete(Attachment)
            .where(Attachment.case_id.in_(ids))
            .returning(Attachment.storage_key)
            .execution_options(**quiet)
        )
    )
    return keys, len(cases)


async def run_periodically(
    db: SQLAlchemyAsyncConfig, storage: Storage, stop: asyncio.Event, every: float = RETENTION_EVERY_SECONDS
) -> None:
    """The worker's retention round; several workers may run it (rows are taken with SKIP LOCKED)."""
    while not stop.is_set():
        try:
            done = await anonymise_expired(db, storage)
            if done:
                log.info("anonymised %s closed cases past their retention period", done)
        except Exception:  # a failed round is retried on the next one
            log.exception("retention round failed")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=every)


async def retention_days(session: AsyncSession, tenant_id: uuid.UUID) -> int | None:
    """The municipality's retention period in days (None: closed cases are kept)."""
    return await session.scalar(select(Tenant.retention_days).where(Tenant.id == tenant_id))


async def set_retention_days(session: AsyncSession, tenant_id: uuid.UUID, days: int | None) -> None:
    await session.execute(update(Tenant).where(Tenant.id == tenant_id).values(retention_days=days))


async def anonymised_count(session: AsyncSession) -> int:
    """How many of the session's municipality's cases have been anonymised."""
    return int(await session.scalar(select(func.count()).where(Case.anonymised_at.is_not(None))) or 0)
