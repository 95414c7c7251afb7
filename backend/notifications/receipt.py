"""The receipt: one confirmation e-mail per submitted case that gave an address, never two.

The outbox row's id is derived from the case's id, so writing it again (a retried submission, or the
retry after a crash between the case's commit and the receipt's) finds the first row and adds nothing.
"""

from __future__ import annotations

import datetime
import uuid
from typing import Any

from sqlalchemy import insert
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from backend.cases.events import CaseSubmitted
from backend.core import i18n
from backend.notifications.models import OutboxMessage, waiting_row
from backend.notifications.push import topic_for
from backend.notifications.services import in_language

RECEIPT_TTL = 7 * 24 * 3600
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
_OUTBOX = OutboxMessage.__table__
_INSERT_IF_NEW: dict[str, Any] = {
    "postgresql": pg_insert(_OUTBOX).on_conflict_do_nothing(index_elements=["id"]),
    "sqlite": sqlite_insert(_OUTBOX).on_conflict_do_nothing(index_elements=["id"]),
}
_INSERT = insert(_OUTBOX)


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
    dialect = session.bind.dialect.name if session.bind is not None else ""
    await session.execute(_INSERT_IF_NEW.get(dialect, _INSERT), values)
