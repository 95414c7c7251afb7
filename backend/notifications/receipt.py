"""The receipt: one confirmation e-mail per submitted case that gave an address, never two.

The outbox row's id is derived from the case's id, so writing it again (a retried submission, or the
retry after a crash between the case's commit and the receipt's) finds the first row and adds nothing.

On PostgreSQL a new case is saved by one auto-committed statement and its receipt and ``case.created`` rows
by the next ones (cases/services.py). An instance that dies between them leaves a case without them; the
citizen's browser sends again with the same key and they are queued then. For a client that gives up,
``announce_missed`` (run beside the delivery worker) finds cases older than a minute with no outbox row at all
that should have one, and announces them again; both listeners are idempotent, so nothing is queued twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import logging
import uuid
from typing import Any

from advanced_alchemy.extensions.litestar import SQLAlchemyAsyncConfig
from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.cases.events import CaseSubmitted
from backend.cases.models import Case
from backend.catalogue.models import Service
from backend.core import i18n
from backend.core.db import insert_or_skip, unscoped_session
from backend.core.events import emit
from backend.notifications.models import OutboxMessage, WebhookEndpoint, waiting_row
from backend.notifications.push import topic_for
from backend.notifications.services import in_language
from backend.tenants.models import Tenant

RECEIPT_TTL = 7 * 24 * 3600
# A case this old without its rows was left by a crash (a submission's statements follow each other within
# milliseconds); older than the look-back it is no longer looked at.
MISSED_AFTER = datetime.timedelta(seconds=60)
LOOK_BACK = datetime.timedelta(hours=1)
SWEEP_EVERY_SECONDS = 30.0
log = logging.getLogger("rathaus.receipt")
_RECEIPTS = uuid.UUID("5f0d6c3e-8d0b-4a53-9a59-2a1e2b6f1c21")


def receipt_id(case_id: uuid.UUID) -> uuid.UUID:
    return uuid.uuid5(_RECEIPTS, str(case_id))


def receipt_payload(event: CaseSubmitted) -> dict[str, Any]:
    """What the receipt says, in the case's language: reference, service, date; the link is added when sent."""
    with in_language(event.language):
        body = i18n.gettext("We have received your request %(ref)s.", ref=event.reference)
        details = [
            i18n.gettext("Reference number: %(ref)s", ref=event.reference),
            i18n.gettext("Service: %(service)s", service=i18n.translate_text(event.service_name)),
            i18n.gettext("Received: %(date)s", date=i18n.fmt_datetime(event.created_at)),
            i18n.gettext(
                "Keep this e-mail: the link below is your private access to the request. "
                "Anyone with the link can see it, so do not pass it on."
            ),
        ]
    return {
        "kind": "receipt",
        "title": event.tenant_name,
        "body": body,
        "details": details,
        "url": f"/r/{event.tracking_token}",
        "tag": f"case-{event.case_id}",
    }


# Built once; the row's values are bound at each execution. A receipt already there (a retried submission) stays.
_INSERT_IF_NEW = insert_or_skip(OutboxMessage.__table__, "id")


async def queue_receipt(session: AsyncSession, event: CaseSubmitted) -> None:
    """Listener: write the case's receipt to the outbox unless it is there already (see the module's docstring)."""
    if not event.contact_email:
        return
    now = datetime.datetime.now(datetime.UTC)
    values = {
        "id": receipt_id(event.case_id),
        "tenant_id": event.tenant_id,
        "channel": "email",
        "case_id": event.case_id,
        "email": event.contact_email,
        "language": event.language,
        "payload": receipt_payload(event),
        "topic": topic_for(event.case_id.bytes),
        "urgency": "normal",
        "ttl": RECEIPT_TTL,
        **waiting_row(now),
    }
    await session.execute(_INSERT_IF_NEW, values)


async def announce_missed(db: SQLAlchemyAsyncConfig, now: datetime.datetime | None = None) -> list[uuid.UUID]:
    """Announce again the cases of the last hour (older than a minute) that have no outbox row although they
    should: a contact address, or webhook endpoints in their municipality. Returns the ids of those cases."""
    now = now or datetime.datetime.now(datetime.UTC)
    async with unscoped_session(db) as session:
        if session.bind is None or session.bind.dialect.name != "postgresql":
            return []  # elsewhere a case and its rows are written in one transaction
        queued = select(OutboxMessage.id).where(OutboxMessage.case_id == Case.id).exists()
        # Endpoints made after the case did not miss it: they were not there.
        hooked = (
            select(WebhookEndpoint.id)
            .where(WebhookEndpoint.tenant_id == Case.tenant_id, WebhookEndpoint.created_at <= Case.created_at)
            .exists()
        )
        rows = (
            await session.execute(
                select(Case, Tenant.name, Service.name)
                .join(Tenant, Tenant.id == Case.tenant_id)
                .join(Service, Service.id == Case.service_id)
                .where(Case.created_at >= now - LOOK_BACK, Case.created_at <= now - MISSED_AFTER)
                .where(~queued, or_(Case.contact_email.is_not(None), hooked))
            )
        ).all()
        for case, tenant_name, service_name in rows:
            log.warning("case %s had no receipt or webhook rows after its submission: queued now", case.id)
            await emit(session, CaseSubmitted.of(case, tenant_name, dict(service_name or {})))
        return [case.id for case, _, _ in rows]


async def run_periodically(db: SQLAlchemyAsyncConfig, stop: asyncio.Event, every: float = SWEEP_EVERY_SECONDS) -> None:
    """Beside the delivery worker; every instance may run it (the rows' ids prevent doubles). The first look comes
    one interval after the start, so a fleet of workers started together does not sweep all at once."""
    while not stop.is_set():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=every)
        if stop.is_set():
            return
        try:
            await announce_missed(db)
        except Exception:  # a failed round is retried on the next one
            log.exception("looking for submissions without their receipt failed")
