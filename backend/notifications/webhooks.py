"""Webhooks: a municipality's own systems hear of its cases' events, signed following Standard Webhooks.

An endpoint (URL, events, secret) belongs to one municipality. Each event writes one outbox row per endpoint
that wants it, in the transaction of the change; the delivery worker (delivery.py) signs and sends it with the
retry rules of every other notification. The rows of an endpoint are its delivery log.

Signature (https://www.standardwebhooks.com): ``webhook-signature: v1,<base64 HMAC-SHA256>`` over
``{webhook-id}.{webhook-timestamp}.{body}`` with the key in the secret ``whsec_<base64 key>``.

Addresses: only https in production, and the host must resolve to public addresses only (not private, loopback,
link-local, ...) unless the operator allows it (RATHAUS_WEBHOOK_ALLOW_PRIVATE). It is checked when an admin saves
the endpoint and again at each delivery, whose connection goes to the very address that was checked.
"""

from __future__ import annotations

import asyncio
import base64
import datetime
import hashlib
import hmac
import ipaddress
import secrets
import socket
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.cases.events import CaseSubmitted, CaseUpdated
from backend.cases.models import Case
from backend.catalogue.models import Service
from backend.core.db import insert_or_skip, reusable
from backend.core.errors import NotFound
from backend.core.tenancy import TenantContext
from backend.notifications.models import OutboxMessage, WebhookEndpoint, waiting_row

EVENTS = ("case.created", "case.status_changed", "case.message_added")
SECRET_PREFIX = "whsec_"
MAX_URL = 2000
LOG_SIZE = 25
RESOLVE_SECONDS = 5.0
# Outbox rows of webhooks: no push topic or time to live.
_NO_TOPIC = ""
_WEBHOOK_MESSAGES = uuid.UUID("0b7f4a53-4c1e-4f55-9a0a-6f4a1f0f2d11")


class WebhookAddressError(ValueError):
    """An endpoint address that is not accepted; ``reason`` names why (see REASONS in webhook_pages.py)."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason


# --- signing --------------------------------------------------------------------------------------------------


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(24)).decode()


def secret_key(secret: str) -> bytes:
    """The HMAC key inside a ``whsec_`` secret; ValueError for anything else."""
    if not secret.startswith(SECRET_PREFIX):
        raise ValueError("a webhook secret starts with whsec_")
    key = base64.b64decode(secret[len(SECRET_PREFIX) :], validate=True)
    if not 24 <= len(key) <= 64:
        raise ValueError("a webhook secret's key has 24 to 64 bytes")
    return key


def sign(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    signed = f"{message_id}.{timestamp}.".encode() + body
    digest = hmac.new(secret_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def signed_headers(secret: str, message_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    return {
        "content-type": "application/json",
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign(secret, message_id, timestamp, body),
    }


# --- addresses ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """Where a delivery connects: the checked address, and the name the request and TLS carry."""

    url: str  # the endpoint's URL with the host replaced by the checked address
    host_header: str
    server_name: str  # for TLS (SNI and the certificate check)


def parse_url(url: str, *, production: bool) -> tuple[str, str, int]:
    """(scheme, host, port) of an acceptable address, or WebhookAddressError."""
    url = url.strip()
    if not url:
        raise WebhookAddressError("empty")
    if len(url) > MAX_URL:
        raise WebhookAddressError("too_long")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise WebhookAddressError("invalid", str(exc)) from exc
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise WebhookAddressError("invalid")
    if parts.scheme != "https" and production:
        raise WebhookAddressError("not_https")
    if parts.username is not None or parts.password is not None or parts.fragment:
        raise WebhookAddressError("invalid")
    return parts.scheme, parts.hostname, port or (443 if parts.scheme == "https" else 80)


def is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


async def resolve(url: str, *, production: bool, allow_private: bool) -> Target:
    """Check the address and pick the IP address a delivery connects to; WebhookAddressError if not allowed."""
    scheme, host, port = parse_url(url, production=production)
    try:
        infos = await asyncio.wait_for(
            asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM), RESOLVE_SECONDS
        )
    except (OSError, TimeoutError, UnicodeError) as exc:
        raise WebhookAddressError("unresolvable", host) from exc
    addresses = [str(info[4][0]) for info in infos]
    if not addresses:
        raise WebhookAddressError("unresolvable", host)
    if not allow_private and not all(is_public(a) for a in addresses):
        # Every address must be public: a name with one private address among public ones is refused too.
        raise WebhookAddressError("private", host)
    address = addresses[0].split("%", 1)[0]
    literal = f"[{address}]" if ":" in address else address
    parts = urlsplit(url.strip())
    netloc = literal if parts.port is None else f"{literal}:{parts.port}"
    return Target(parts._replace(netloc=netloc).geturl(), parts.netloc, host)


# --- the endpoints of a municipality --------------------------------------------------------------------------


def parse_events(raw: list[str]) -> list[str]:
    wanted = set(raw)
    return [e for e in EVENTS if e in wanted]


class WebhookService:
    def __init__(self, session: AsyncSession, tenant: TenantContext) -> None:
        self.session = session
        self.tenant = tenant

    async def all(self) -> list[WebhookEndpoint]:
        return list(await self.session.scalars(select(WebhookEndpoint).order_by(WebhookEndpoint.created_at)))

    async def get(self, endpoint_id: uuid.UUID) -> WebhookEndpoint:
        """One of this municipality's endpoints; NotFound for another's (the session is scoped to it)."""
        found = await self.session.scalar(select(WebhookEndpoint).where(WebhookEndpoint.id == endpoint_id))
        if found is None:
            raise NotFound()
        return found  # type: ignore[no-any-return]

    async def create(self, url: str, events: list[str], secret: str = "", created_by: str = "") -> WebhookEndpoint:
        """Save an endpoint whose address and events the caller has checked; a secret is made when none is given."""
        endpoint = WebhookEndpoint(
            tenant_id=self.tenant.id,
            url=url.strip(),
            events=",".join(parse_events(events)),
            secret=secret or new_secret(),
            created_by=created_by[:200],
        )
        self.session.add(endpoint)
        await self.session.flush()
        return endpoint

    async def update(self, endpoint_id: uuid.UUID, url: str, events: list[str], secret: str = "") -> WebhookEndpoint:
        endpoint = await self.get(endpoint_id)
        endpoint.url = url.strip()
        endpoint.events = ",".join(parse_events(events))
        if secret:
            endpoint.secret = secret
        await self.session.flush()
        return endpoint

    async def delete(self, endpoint_id: uuid.UUID) -> None:
        """The endpoint and its delivery log (the outbox rows go with it)."""
        await self.session.delete(await self.get(endpoint_id))
        await self.session.flush()

    async def log(self, endpoint_id: uuid.UUID, limit: int = LOG_SIZE) -> list[OutboxMessage]:
        """The endpoint's latest deliveries, newest first."""
        rows = await self.session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.webhook_id == endpoint_id, OutboxMessage.channel == "webhook")
            .order_by(OutboxMessage.created_at.desc(), OutboxMessage.id.desc())
            .limit(limit)
        )
        return list(rows)

    async def redeliver(self, endpoint_id: uuid.UUID, delivery_id: uuid.UUID) -> OutboxMessage:
        """Send one delivery again, as a new row of the log with the same ``webhook-id`` (receivers that have it
        already may ignore it)."""
        await self.get(endpoint_id)
        old = await self.session.scalar(
            select(OutboxMessage).where(
                OutboxMessage.id == delivery_id,
                OutboxMessage.webhook_id == endpoint_id,
                OutboxMessage.channel == "webhook",
            )
        )
        if old is None:
            raise NotFound()
        again = OutboxMessage(
            tenant_id=self.tenant.id,
            channel="webhook",
            webhook_id=endpoint_id,
            case_id=old.case_id,
            payload=dict(old.payload),
            topic=_NO_TOPIC,
            ttl=0,
            next_attempt_at=_now(),
        )
        self.session.add(again)
        await self.session.flush()
        return again


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def _iso(moment: datetime.datetime | None) -> str | None:
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.UTC)
    return moment.astimezone(datetime.UTC).isoformat().replace("+00:00", "Z")


# --- the events -----------------------------------------------------------------------------------------------


ENDPOINTS_OF_TENANT = reusable(select(WebhookEndpoint).where(WebhookEndpoint.tenant_id == bindparam("tenant_id")))


async def queue_event(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    case_id: uuid.UUID,
    event_type: str,
    extra: dict[str, Any],
    occurrence: str,
) -> None:
    """One outbox row per endpoint of the municipality that wants ``event_type``.

    Written with single INSERT statements (the submission on PostgreSQL runs without a transaction, see
    CaseService.begin_submission), each with an id made from the occurrence and the endpoint, so that the same
    event raised twice (a retried submission) queues nothing twice.
    """
    endpoints = [
        e for e in await session.scalars(ENDPOINTS_OF_TENANT, {"tenant_id": tenant_id}) if event_type in e.event_list
    ]
    if not endpoints:
        return
    row = (
        await session.execute(
            select(Case.reference, Case.status, Case.created_at, Case.updated_at, Service.slug, Service.name)
            .join(Service, Service.id == Case.service_id)
            .where(Case.id == case_id)
        )
    ).first()
    if row is None:
        return
    reference, status, created_at, updated_at, service_slug, service_name = row
    now = _now()
    data: dict[str, Any] = {
        "reference": reference,
        "service": {"code": service_slug, "name": dict(service_name or {})},
        "status": status,
        "created_at": _iso(created_at),
        "updated_at": _iso(updated_at),
        **extra,
    }
    body = {"type": event_type, "timestamp": _iso(now), "data": data}
    for endpoint in endpoints:
        row_id = uuid.uuid5(_WEBHOOK_MESSAGES, f"{occurrence}:{endpoint.id}")
        values = {
            "id": row_id,
            "tenant_id": tenant_id,
            "channel": "webhook",
            "case_id": case_id,
            "webhook_id": endpoint.id,
            "language": "en",
            "payload": {"webhook_id": f"msg_{row_id.hex}", "body": body},
            "topic": _NO_TOPIC,
            "urgency": "normal",
            "ttl": 0,
            **waiting_row(now),
        }
        await session.execute(insert_or_skip(OutboxMessage.__table__, "id").values(**values))


async def queue_case_created(session: AsyncSession, event: CaseSubmitted) -> None:
    """Listener: ``case.created`` (raised again for a retried submission; queued once per case and endpoint)."""
    await queue_event(session, event.tenant_id, event.case_id, "case.created", {}, f"created:{event.case_id}")


async def queue_case_updated(session: AsyncSession, event: CaseUpdated) -> None:
    """Listener: ``case.status_changed`` (by the town hall or the citizen) and ``case.message_added`` (a public
    message of the town hall). Carries the text the citizen reads as well, nothing about the citizen."""
    event_type = {"status_changed": "case.status_changed", "public_message": "case.message_added"}.get(event.kind)
    if event_type is None:
        return
    extra: dict[str, Any] = {}
    if event_type == "case.status_changed":
        extra["changed_by"] = "citizen" if event.by_citizen else "town_hall"
    # The town hall's own text only: a citizen's reason for withdrawing or reopening may say anything about them.
    if not event.by_citizen and (event.message or event_type == "case.message_added"):
        extra["message"] = event.message
    await queue_event(session, event.tenant_id, event.case_id, event_type, extra, f"{event.kind}:{uuid.uuid4()}")
