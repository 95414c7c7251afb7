"""Push subscriptions, VAPID keys and the outbox: what to notify, for whom, written with the change itself."""

from __future__ import annotations

import datetime
import hashlib
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from backend.cases.events import CaseUpdated
from backend.cases.models import Case
from backend.core import i18n
from backend.core.db import ALL_TENANTS
from backend.core.errors import BadRequest, NotFound
from backend.core.tenancy import TenantContext
from backend.notifications.models import CaseSubscription, OutboxMessage, PushSubscription, VapidKey
from backend.notifications.push import PushError, VapidKeyPair, check_endpoint, check_keys, topic_for

HOUR = 3600
TTL_STATUS = 2 * 24 * HOUR
TTL_NEEDS_INFO = 4 * 24 * HOUR


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


@contextmanager
def in_language(language: str) -> Iterator[None]:
    previous = i18n.get_language()
    i18n.set_language(language)
    try:
        yield
    finally:
        i18n.set_language(previous)


# --- VAPID keys (platform-wide) -----------------------------------------------------------------------


class VapidKeyService:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def active(self) -> VapidKey:
        """The key new subscriptions use; made on first use and kept in the database."""
        key = await self.session.scalar(
            select(VapidKey).where(VapidKey.active.is_(True)).order_by(VapidKey.created_at.desc()).limit(1)
        )
        if key is None:
            key = await self._create()
        return key  # type: ignore[no-any-return]

    async def rotate(self) -> VapidKey:
        """A new key for new subscriptions; old ones keep signing for the devices subscribed with them."""
        await self.session.execute(update(VapidKey).values(active=False))
        return await self._create()

    async def by_id(self, key_id: uuid.UUID) -> VapidKey | None:
        return await self.session.get(VapidKey, key_id)

    async def _create(self) -> VapidKey:
        pair = VapidKeyPair.generate()
        key = VapidKey(private_pem=pair.private_pem, public_key=pair.public_key, active=True)
        self.session.add(key)
        await self.session.flush()
        return key


# --- subscriptions -------------------------------------------------------------------------------------


def endpoint_hash(endpoint: str) -> str:
    return hashlib.sha256(endpoint.encode()).hexdigest()


class SubscriptionService:
    def __init__(self, session: AsyncSession, tenant: TenantContext, allowlist: tuple[str, ...]) -> None:
        self.session = session
        self.tenant = tenant
        self.allowlist = allowlist

    async def subscribe(self, subscription: dict[str, Any], token: str) -> PushSubscription:
        """Link this device to the case behind the tracking token (a device may follow several cases)."""
        endpoint = subscription.get("endpoint")
        keys = subscription.get("keys") or {}
        if not isinstance(endpoint, str) or not isinstance(keys, dict):
            raise BadRequest(i18n.gettext("The subscription is incomplete."))
        p256dh, auth = keys.get("p256dh"), keys.get("auth")
        if not isinstance(p256dh, str) or not isinstance(auth, str):
            raise BadRequest(i18n.gettext("The subscription is incomplete."))
        try:
            check_endpoint(endpoint, self.allowlist)
            check_keys(p256dh, auth)
        except PushError as exc:
            raise BadRequest(i18n.gettext("This push service is not accepted: %(reason)s", reason=str(exc))) from exc
        case_id = await self._case_id(token)
        key = await VapidKeyService(self.session).active()
        digest = endpoint_hash(endpoint)
        device = await self.session.scalar(select(PushSubscription).where(PushSubscription.endpoint_hash == digest))
        if device is None:
            device = PushSubscription(
                tenant_id=self.tenant.id,
                endpoint=endpoint,
                endpoint_hash=digest,
                p256dh=p256dh,
                auth=auth,
                vapid_key_id=key.id,
            )
            self.session.add(device)
            await self.session.flush()
        elif (device.p256dh, device.auth) != (p256dh, auth):
            device.p256dh, device.auth, device.vapid_key_id = p256dh, auth, key.id
        linked = await self.session.scalar(
            select(CaseSubscription.id).where(
                CaseSubscription.case_id == case_id, CaseSubscription.subscription_id == device.id
            )
        )
        if linked is None:
            self.session.add(CaseSubscription(tenant_id=self.tenant.id, case_id=case_id, subscription_id=device.id))
            await self.session.flush()
        return device

    async def unsubscribe(self, endpoint: str, token: str) -> None:
        """Stop notifications about this case on this device; the device is forgotten when it follows nothing."""
        case_id = await self._case_id(token)
        device = await self.session.scalar(
            select(PushSubscription).where(PushSubscription.endpoint_hash == endpoint_hash(endpoint))
        )
        if device is None:
            return
        await self.session.execute(
            delete(CaseSubscription).where(
                CaseSubscription.case_id == case_id, CaseSubscription.subscription_id == device.id
            )
        )
        rest = await self.session.scalar(
            select(CaseSubscription.id).where(CaseSubscription.subscription_id == device.id).limit(1)
        )
        if rest is None:
            await self.session.delete(device)
        await self.session.flush()

    async def _case_id(self, token: str) -> uuid.UUID:
        case_id = await self.session.scalar(select(Case.id).where(Case.tracking_token == token))
        if case_id is None:
            raise NotFound()
        return case_id  # type: ignore[no-any-return]


async def undelivered(session: AsyncSession, limit: int = 200) -> list[tuple[OutboxMessage, str, uuid.UUID]]:
    """The municipality's notifications that failed for good: (message, case reference, case id), newest first."""
    rows = await session.execute(
        select(OutboxMessage, Case.reference, Case.id)
        .join(Case, Case.id == OutboxMessage.case_id)
        .where(OutboxMessage.status.in_(("dead", "failed")))
        .order_by(OutboxMessage.updated_at.desc())
        .limit(limit)
    )
    return [tuple(row) for row in rows.all()]  # type: ignore[misc]


# --- what a notification says -------------------------------------------------------------------------


def notification_text(event: CaseUpdated) -> str:
    """What the notification says, in the case's language, without personal data."""
    from backend.cases import workflow

    with in_language(event.language):
        if event.kind == "status_changed" and event.status == "needs_info":
            body = i18n.gettext("The town hall needs information for your request %(ref)s.", ref=event.reference)
        elif event.kind == "status_changed":
            body = i18n.gettext(
                "Your request %(ref)s is now: %(status)s", ref=event.reference, status=workflow.label(event.status)
            )
        else:
            body = i18n.gettext("New message about your request %(ref)s.", ref=event.reference)
    return body


async def enqueue_case_update(session: AsyncSession, event: CaseUpdated) -> None:
    """Listener: one outbox row per device following the case, or an e-mail when there is none."""
    body = notification_text(event)
    payload = {
        "title": event.tenant_name,
        "body": body,
        "url": f"/r/{event.tracking_token}",
        "tag": f"case-{event.case_id}",
    }
    needs_info = event.kind == "status_changed" and event.status == "needs_info"
    common: dict[str, Any] = {
        "tenant_id": event.tenant_id,
        "case_id": event.case_id,
        "language": event.language,
        "payload": payload,
        "topic": topic_for(event.case_id.bytes),
        "urgency": "high" if needs_info else "normal",
        "ttl": TTL_NEEDS_INFO if needs_info else TTL_STATUS,
        "next_attempt_at": _now(),
    }
    devices = list(
        await session.scalars(select(CaseSubscription.subscription_id).where(CaseSubscription.case_id == event.case_id))
    )
    for device_id in devices:
        session.add(OutboxMessage(channel="push", subscription_id=device_id, **common))
    if not devices and event.contact_email:
        session.add(OutboxMessage(channel="email", email=event.contact_email, **common))
    await session.flush()


async def email_fallback(session: AsyncSession, message: OutboxMessage) -> None:
    """After a device turned out to be gone: mail the same notification if no other device follows the case."""
    others = await session.scalar(
        select(CaseSubscription.id)
        .where(CaseSubscription.case_id == message.case_id)
        .limit(1)
        .execution_options(**{ALL_TENANTS: True})
    )
    if others is not None:
        return
    email = await session.scalar(
        select(Case.contact_email).where(Case.id == message.case_id).execution_options(**{ALL_TENANTS: True})
    )
    if email:
        session.add(
            OutboxMessage(
                tenant_id=message.tenant_id,
                channel="email",
                case_id=message.case_id,
                email=email,
                language=message.language,
                payload=message.payload,
                topic=message.topic,
                urgency=message.urgency,
                ttl=message.ttl,
                next_attempt_at=_now(),
            )
        )
