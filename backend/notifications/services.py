"""Push subscriptions, VAPID keys and the outbox: what to notify, for whom, written with the change itself."""

from __future__ import annotations

import datetime
import hashlib
import logging
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from backend.cases.events import CaseUpdated
from backend.cases.models import Case
from backend.core import i18n
from backend.core.db import ALL_TENANTS, insert_or_skip
from backend.core.errors import BadRequest, NotFound
from backend.core.tenancy import TenantContext
from backend.news.models import NewsSubscription
from backend.notifications.models import CaseSubscription, OutboxMessage, PushSubscription, VapidKey
from backend.notifications.push import PushError, VapidKeyPair, check_endpoint, check_keys, topic_for
from backend.notifications.schemas import SubscriptionIn

log = logging.getLogger("rathaus.notifications")

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

    async def subscribe(
        self, subscription: SubscriptionIn, token: str, account_id: uuid.UUID | None = None
    ) -> PushSubscription:
        """Link this device to the case behind the tracking token (a device may follow several cases).

        ``account_id``: the signed-in citizen's account. When the case is theirs, the device joins the account
        and follows every request of it, those that join later too (``follow_account``).
        Idempotent, also when the browser sends the same subscription several times at once: the rows
        are inserted with ON CONFLICT DO NOTHING and read back, so a concurrent twin never fails.
        """
        case_id = await self._case_id(token)
        device = await self.device(subscription)
        await self.insert_once(
            CaseSubscription,
            ("case_id", "subscription_id"),
            tenant_id=self.tenant.id,
            case_id=case_id,
            subscription_id=device.id,
        )
        if account_id is not None and await self.session.scalar(select(Case.account_id).where(Case.id == case_id)) == (
            account_id
        ):
            device.account_id = account_id
            await self.session.flush()
            await follow_account(self.session, self.tenant.id, account_id)
        await self.session.flush()
        return device

    async def device(self, subscription: SubscriptionIn) -> PushSubscription:
        """The device behind a browser's subscription, checked, stored once per municipality, keys kept current.

        Requests (above) and news categories (backend/news) share it: one device, one row, one key pair.
        """
        endpoint, p256dh, auth = subscription.endpoint, subscription.keys.p256dh, subscription.keys.auth
        try:
            check_endpoint(endpoint, self.allowlist)
            check_keys(p256dh, auth)
        except PushError as exc:
            raise BadRequest(i18n.gettext("This push service is not accepted: %(reason)s", reason=str(exc))) from exc
        key = await VapidKeyService(self.session).active()
        digest = endpoint_hash(endpoint)
        await self.insert_once(
            PushSubscription,
            ("tenant_id", "endpoint_hash"),
            tenant_id=self.tenant.id,
            endpoint=endpoint,
            endpoint_hash=digest,
            p256dh=p256dh,
            auth=auth,
            vapid_key_id=key.id,
        )
        device = await self.session.scalar(
            select(PushSubscription)
            .where(PushSubscription.endpoint_hash == digest)
            .execution_options(populate_existing=True)
        )
        if device is None:  # pragma: no cover - inserted or found just above
            raise NotFound()
        if (device.p256dh, device.auth) != (p256dh, auth):
            device.p256dh, device.auth, device.vapid_key_id = p256dh, auth, key.id
        return device  # type: ignore[no-any-return]

    async def insert_once(self, model: Any, unique: tuple[str, ...], **values: Any) -> None:
        await insert_once(self.session, model, unique, **values)

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
            # A device that still wants news (backend/news) stays.
            rest = await self.session.scalar(
                select(NewsSubscription.id).where(NewsSubscription.subscription_id == device.id).limit(1)
            )
        if rest is None:
            await self.session.delete(device)
        await self.session.flush()

    async def _case_id(self, token: str) -> uuid.UUID:
        case_id = await self.session.scalar(select(Case.id).where(Case.tracking_token == token))
        if case_id is None:
            raise NotFound()
        return case_id  # type: ignore[no-any-return]


async def follow_account(session: AsyncSession, tenant_id: uuid.UUID, account_id: uuid.UUID) -> None:
    """Every device of a citizen's account follows every request of the account (called when a device or a
    request joins it). An account has a few of each, so the pairs are few."""
    devices = list(await session.scalars(select(PushSubscription.id).where(PushSubscription.account_id == account_id)))
    if not devices:
        return
    cases = list(await session.scalars(select(Case.id).where(Case.account_id == account_id)))
    followed = set(
        (
            await session.execute(
                select(CaseSubscription.case_id, CaseSubscription.subscription_id).where(
                    CaseSubscription.subscription_id.in_(devices)
                )
            )
        ).tuples()
    )
    for case_id in cases:
        for device_id in devices:
            if (case_id, device_id) not in followed:
                await insert_once(
                    session,
                    CaseSubscription,
                    ("case_id", "subscription_id"),
                    tenant_id=tenant_id,
                    case_id=case_id,
                    subscription_id=device_id,
                )


async def insert_once(session: AsyncSession, model: Any, unique: tuple[str, ...], **values: Any) -> None:
    """INSERT … ON CONFLICT (unique) DO NOTHING, on PostgreSQL and SQLite alike."""
    await session.execute(insert_or_skip(model.__table__, *unique).values(**values))


async def undelivered(
    session: AsyncSession, tenant: TenantContext, limit: int = 200
) -> list[tuple[OutboxMessage, str, uuid.UUID]]:
    """The municipality's notifications that failed for good: (message, case reference, case id), newest first."""
    rows = await session.execute(
        select(OutboxMessage, Case.reference, Case.id)
        .join(Case, Case.id == OutboxMessage.case_id)
        # The session is scoped to the municipality already; saying so here keeps it so if that ever changes.
        .where(OutboxMessage.tenant_id == tenant.id, OutboxMessage.status.in_(("dead", "failed")))
        # Webhooks have their own log, on their endpoint's admin page.
        .where(OutboxMessage.channel != "webhook")
        .order_by(OutboxMessage.updated_at.desc())
        .limit(limit)
    )
    return [tuple(row) for row in rows.all()]  # type: ignore[misc]


# --- what a notification says -------------------------------------------------------------------------


@dataclass(frozen=True)
class Kind:
    """One kind of notification: which events it covers, what it says, how urgent it is."""

    event: str  # CaseUpdated.kind
    status: str | None  # only events with this status; None: any status
    text: Callable[[CaseUpdated], str]
    urgency: str = "normal"
    ttl: int = TTL_STATUS


def _status_text(event: CaseUpdated) -> str:
    return i18n.gettext("Your request %(ref)s is now: %(status)s", ref=event.reference, status=status_wording(event))


def status_wording(event: CaseUpdated) -> str:
    """The event's status as the citizen reads it, in the current language: the service's wording, else the shared."""
    from backend.cases import workflow

    return event.status_labels.get(i18n.get_language()) or workflow.label(event.status)


# Most specific first. Every kind here is checked for German and English wording by the tests.
KINDS: dict[str, Kind] = {
    "needs_info": Kind(
        "status_changed",
        "needs_info",
        lambda e: i18n.gettext("The town hall needs information for your request %(ref)s.", ref=e.reference),
        urgency="high",
        ttl=TTL_NEEDS_INFO,
    ),
    "status_changed": Kind("status_changed", None, _status_text),
    "public_message": Kind(
        "public_message",
        None,
        lambda e: i18n.gettext("New message about your request %(ref)s.", ref=e.reference),
    ),
}


def kind_of(event: CaseUpdated) -> str | None:
    """The notification an event causes; None for events citizens are not notified of."""
    for name, kind in KINDS.items():
        if kind.event == event.kind and kind.status in (None, event.status):
            return name
    return None


def notification_text(event: CaseUpdated) -> str:
    """What the notification says, in the case's language, without personal data."""
    name = kind_of(event)
    if name is None:
        raise ValueError(f"no notification for {event.kind!r}")
    with in_language(event.language):
        return KINDS[name].text(event)


def payload_for(event: CaseUpdated) -> dict[str, str]:
    """What a device is sent (and an e-mail says): no personal data, only the reference and a hint."""
    return {
        "title": event.tenant_name,
        "body": notification_text(event),
        "url": f"/r/{event.tracking_token}",
        "tag": f"case-{event.case_id}",
    }


async def enqueue_case_update(session: AsyncSession, event: CaseUpdated) -> None:
    """Listener: one outbox row per device following the case, or an e-mail when there is none.

    The payload keeps the page's path; the worker makes it the municipality's public address when it
    sends (backend/tenants/urls.py), so a changed host or port applies to what is still queued.
    """
    if event.by_citizen:  # the citizen's own step: nothing to tell them
        return
    name = kind_of(event)
    if name is None:
        log.warning("no notification defined for case event %r", event.kind)
        return
    kind = KINDS[name]
    common: dict[str, Any] = {
        "tenant_id": event.tenant_id,
        "case_id": event.case_id,
        "language": event.language,
        "payload": payload_for(event),
        "topic": topic_for(event.case_id.bytes),
        "urgency": kind.urgency,
        "ttl": kind.ttl,
        "next_attempt_at": _now(),
    }
    devices = list(
        await session.scalars(select(CaseSubscription.subscription_id).where(CaseSubscription.case_id == event.case_id))
    )
    for device_id in devices:
        session.add(OutboxMessage(channel="push", subscription_id=device_id, **common))
    if not devices and event.contact_email and not event.emails_off:
        session.add(OutboxMessage(channel="email", email=event.contact_email, **common))
    await notify_followers(session, event, kind)
    await session.flush()


# What the citizen of a duplicate (backend/cases/duplicates.py) is told about its main case.
FOLLOWER_TEXTS: dict[str, Callable[[CaseUpdated, str], str]] = {
    "status_changed": lambda e, ref: i18n.gettext(
        "Request %(main)s, into which your request %(ref)s was merged, is now: %(status)s",
        main=e.reference,
        ref=ref,
        status=status_wording(e),
    ),
    "public_message": lambda e, ref: i18n.gettext(
        "New message about request %(main)s, into which your request %(ref)s was merged.", main=e.reference, ref=ref
    ),
}


def follower_kind(event: CaseUpdated) -> str | None:
    """What a duplicate's citizen hears of an event of its main case; None for nothing. A question to the main
    case's citizen (needs_info) is theirs alone: the followers hear of the answer's outcome."""
    if event.kind == "status_changed" and event.status == "needs_info":
        return None
    return event.kind if event.kind in FOLLOWER_TEXTS else None


async def notify_followers(session: AsyncSession, event: CaseUpdated, kind: Kind) -> None:
    """The citizens of the case's duplicates follow it: each device of theirs (or their e-mail address, if
    none follows) gets the event in their own language, linking to their own request."""
    name = follower_kind(event)
    if name is None:
        return
    followers = list(
        (
            await session.execute(
                select(
                    Case.id, Case.reference, Case.tracking_token, Case.language, Case.contact_email, Case.emails_off
                ).where(Case.duplicate_of_id == event.case_id)
            )
        ).tuples()
    )
    if not followers:
        return
    devices: dict[uuid.UUID, list[uuid.UUID]] = {}
    for case_id, device_id in (
        await session.execute(
            select(CaseSubscription.case_id, CaseSubscription.subscription_id).where(
                CaseSubscription.case_id.in_([f[0] for f in followers])
            )
        )
    ).tuples():
        devices.setdefault(case_id, []).append(device_id)
    for case_id, reference, token, language, email, emails_off in followers:
        with in_language(language):
            body = FOLLOWER_TEXTS[name](event, reference)
        common: dict[str, Any] = {
            "tenant_id": event.tenant_id,
            "case_id": case_id,
            "language": language,
            "payload": {"title": event.tenant_name, "body": body, "url": f"/r/{token}", "tag": f"case-{case_id}"},
            "topic": topic_for(case_id.bytes),
            "urgency": "normal",
            "ttl": kind.ttl,
            "next_attempt_at": _now(),
        }
        for device_id in devices.get(case_id, []):
            session.add(OutboxMessage(channel="push", subscription_id=device_id, **common))
        if not devices.get(case_id) and email and not emails_off:
            session.add(OutboxMessage(channel="email", email=email, **common))


async def email_fallback(session: AsyncSession, message: OutboxMessage) -> None:
    """After a device turned out to be gone: mail the same notification if no other device follows the case."""
    if message.case_id is None:  # an announcement (backend/news): pushed only, never mailed
        return
    others = await session.scalar(
        select(CaseSubscription.id)
        .where(CaseSubscription.case_id == message.case_id)
        .limit(1)
        .execution_options(**{ALL_TENANTS: True})
    )
    if others is not None:
        return
    email = await session.scalar(
        select(Case.contact_email)
        .where(Case.id == message.case_id, Case.emails_off.is_(False))
        .execution_options(**{ALL_TENANTS: True})
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
