"""Finding requests again: the statuses of the requests a device remembers, and the private link sent to a lost one.

Neither answer may tell a stranger more than the tokens or the e-mail already give: the status lookup answers only
for valid tokens of this municipality, and the lost-link answer is the same whether a case matched or not.
"""

from __future__ import annotations

import datetime
import hashlib
import logging
import re
import uuid
from typing import Any

import msgspec
from advanced_alchemy.extensions.litestar import SQLAlchemyAsyncConfig
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.cases import workflow
from backend.cases.models import Case
from backend.catalogue.models import Service
from backend.core import i18n
from backend.core.db import tenant_session
from backend.core.tenancy import TenantContext
from backend.core.text import clean_line
from backend.notifications.models import OutboxMessage
from backend.notifications.push import topic_for
from backend.notifications.services import in_language

log = logging.getLogger("rathaus.lookup")

MAX_TOKENS = 50
TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
MAX_REFERENCE = 20
MAX_EMAIL = 254
LINK_TTL = 2 * 24 * 3600


class StatusQuery(msgspec.Struct, forbid_unknown_fields=True):
    tokens: list[str]


class CaseStatus(msgspec.Struct):
    reference: str
    status: str
    label: str
    updated_at: str


def decode_status_query(body: bytes) -> StatusQuery:
    """Raises msgspec.ValidationError / DecodeError for anything but ``{"tokens": [strings]}``."""
    return msgspec.json.decode(body, type=StatusQuery)


async def statuses(session: AsyncSession, tokens: list[str]) -> dict[str, CaseStatus]:
    """The current status of each valid token's case; the session's tenant scope drops other municipalities'."""
    wanted = sorted({t for t in tokens if TOKEN_RE.match(t)})
    if not wanted:
        return {}
    rows = await session.execute(
        select(Case.tracking_token, Case.reference, Case.status, Case.updated_at, Service.workflow)
        .join(Service, Service.id == Case.service_id)
        .where(Case.tracking_token.in_(wanted))
    )
    return {
        # The label in the service's own wording, where it has one.
        token: CaseStatus(reference, status, workflow.of(flow).label(status), _utc(updated).isoformat())
        for token, reference, status, updated, flow in rows.tuples()
    }


# --- lost link ----------------------------------------------------------------------------------------


def normalise_email(value: str) -> str:
    return value.strip().lower()[:MAX_EMAIL]


def normalise_reference(value: str) -> str:
    """A reference as typed: without control characters (a database refuses some) or surrounding spaces."""
    return clean_line(value).upper()[:MAX_REFERENCE]


def email_key(email: str) -> str:
    """Rate-limit key part for an address: a digest, so counters never hold the address itself."""
    return hashlib.sha256(normalise_email(email).encode()).hexdigest()[:32]


async def send_lost_link(db: SQLAlchemyAsyncConfig, tenant: TenantContext, reference: str, email: str) -> bool:
    """Queue the private link for the case with this reference and contact address; returns whether one matched.

    Runs after the answer has gone out (a background task), so the time of the answer never depends on a match.
    The e-mail goes through the outbox like every other notification: in the case's language, from the
    municipality's name, retried by the worker.
    """
    reference, email = normalise_reference(reference), normalise_email(email)
    if not reference or not email:
        return False
    try:
        async with tenant_session(db, tenant.id) as session:
            case = await session.scalar(
                select(Case).where(Case.reference == reference, func.lower(Case.contact_email) == email)
            )
            if case is None:
                return False
            session.add(lost_link_message(tenant, case))
        return True
    except Exception:  # the citizen already has the answer; the operator gets the log
        log.exception("queueing a lost link for %s failed", tenant.slug)
        return False


def lost_link_message(tenant: TenantContext, case: Case) -> OutboxMessage:
    with in_language(case.language):
        body = i18n.gettext(
            "Here is the private link to your request %(ref)s, as you asked for it.", ref=case.reference
        )
    payload: dict[str, Any] = {
        "kind": "lost_link",
        "title": tenant.name,
        "body": body,
        "url": f"/r/{case.tracking_token}",
        "tag": f"case-{case.id}",
    }
    return OutboxMessage(
        tenant_id=tenant.id,
        channel="email",
        case_id=case.id,
        email=case.contact_email,
        language=case.language,
        payload=payload,
        topic=topic_for(uuid.uuid4().bytes),
        urgency="normal",
        ttl=LINK_TTL,
        next_attempt_at=datetime.datetime.now(datetime.UTC),
    )


def _utc(value: datetime.datetime) -> datetime.datetime:
    return value if value.tzinfo else value.replace(tzinfo=datetime.UTC)
