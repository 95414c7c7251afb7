"""Push subscriptions of citizens' devices, the VAPID keys that sign for them, and the delivery outbox."""

from __future__ import annotations

import datetime
import uuid
from typing import Any

from advanced_alchemy.types import DateTimeUTC, JsonB
from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from backend.core.db import Base, TenantOwned


class VapidKey(Base):
    """The platform's application-server key pair; old keys stay for subscriptions made with them."""

    __tablename__ = "vapid_key"

    private_pem: Mapped[str] = mapped_column(Text)
    public_key: Mapped[str] = mapped_column(String(100), unique=True)  # base64url, uncompressed P-256 point
    active: Mapped[bool] = mapped_column(default=True)


class PushSubscription(TenantOwned, Base):
    """One device (browser) that can receive pushes for the cases it is linked to."""

    __tablename__ = "push_subscription"
    __table_args__ = (UniqueConstraint("tenant_id", "endpoint_hash", name="uq_push_subscription_endpoint"),)

    endpoint: Mapped[str] = mapped_column(Text)
    endpoint_hash: Mapped[str] = mapped_column(String(64))
    p256dh: Mapped[str] = mapped_column(String(200))
    auth: Mapped[str] = mapped_column(String(100))
    vapid_key_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("vapid_key.id"))
    # The citizen account it was made in (signed in): the device then follows every request of the account.
    account_id: Mapped[uuid.UUID | None] = mapped_column(nullable=True, index=True)


class CaseSubscription(TenantOwned, Base):
    __tablename__ = "case_subscription"
    __table_args__ = (UniqueConstraint("case_id", "subscription_id", name="uq_case_subscription"),)

    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("case_file.id", ondelete="CASCADE"), index=True)
    subscription_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("push_subscription.id", ondelete="CASCADE"), index=True
    )


def waiting_row(now: datetime.datetime) -> dict[str, Any]:
    """The bookkeeping columns of an outbox row written by an INSERT of its own: waiting, not tried, due now."""
    return {
        "status": "pending",
        "attempts": 0,
        "last_error": "",
        "next_attempt_at": now,
        "created_at": now,
        "updated_at": now,
    }


class OutboxMessage(TenantOwned, Base):
    """A notification to deliver, written in the transaction of the change that caused it.

    status: pending → sent | failed (4xx, no retry) | gone (subscription expired) | dead (retries used up).
    A worker claims a row by setting ``claimed_until``; a crashed worker's claim simply runs out.
    """

    __tablename__ = "outbox_message"
    __table_args__ = (
        Index("ix_outbox_due", "status", "next_attempt_at"),
        Index("ix_outbox_webhook", "webhook_id", "created_at"),
        UniqueConstraint("dedup_key", name="uq_outbox_message_dedup_key"),
    )

    channel: Mapped[str] = mapped_column(String(10))  # "push" | "email" | "webhook"
    # What the notification is about: a case, or an announcement (backend/news); neither for e-mails to staff
    # (invitations, password resets).
    case_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("case_file.id", ondelete="CASCADE"), index=True, nullable=True
    )
    news_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("news_item.id", ondelete="CASCADE"), index=True, nullable=True
    )
    # Set where a message must never be queued twice (an announcement's round for one device).
    dedup_key: Mapped[str | None] = mapped_column(String(120), nullable=True)
    subscription_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("push_subscription.id", ondelete="SET NULL"), nullable=True
    )
    email: Mapped[str | None] = mapped_column(String(254), nullable=True)
    # A webhook's endpoint (backend/notifications/webhooks.py); its rows are the endpoint's delivery log.
    webhook_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("webhook_endpoint.id", ondelete="CASCADE"), nullable=True
    )
    # The HTTP status of the last answer to a webhook (None: no answer, e.g. a network error).
    response_code: Mapped[int | None] = mapped_column(Integer, nullable=True)
    language: Mapped[str] = mapped_column(String(8), default="de")
    payload: Mapped[dict[str, Any]] = mapped_column(JsonB)
    topic: Mapped[str] = mapped_column(String(32))
    urgency: Mapped[str] = mapped_column(String(10), default="normal")
    ttl: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(10), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime.datetime] = mapped_column(DateTimeUTC(timezone=True))
    claimed_until: Mapped[datetime.datetime | None] = mapped_column(DateTimeUTC(timezone=True), nullable=True)
    sent_at: Mapped[datetime.datetime | None] = mapped_column(DateTimeUTC(timezone=True), nullable=True)
    last_error: Mapped[str] = mapped_column(Text, default="")


class WebhookEndpoint(TenantOwned, Base):
    """An address of one of the municipality's own systems that receives signed case events."""

    __tablename__ = "webhook_endpoint"

    url: Mapped[str] = mapped_column(Text)
    # Comma-separated, from backend.notifications.webhooks.EVENTS.
    events: Mapped[str] = mapped_column(String(200))
    # "whsec_" + base64 of the key (Standard Webhooks); kept readable, since every delivery is signed with it.
    secret: Mapped[str] = mapped_column(String(200))
    created_by: Mapped[str] = mapped_column(String(200), default="")

    @property
    def event_list(self) -> list[str]:
        return [e for e in self.events.split(",") if e]
