"""A municipality's announcements, and which devices want pushes for which kind of announcement."""

from __future__ import annotations

import datetime
import uuid

from advanced_alchemy.types import DateTimeUTC
from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from backend.core.db import Base, TenantOwned


class NewsItem(TenantOwned, Base):
    """One announcement, shown while valid_from <= now < valid_until (no end when valid_until is NULL).

    One text in the municipality's default language (``language``): announcements are short-lived and
    written for the town's own people, so there is no translation per item.
    ``push_round`` counts how often the admin asked to send it; ``pushed_round`` how many of those rounds
    were queued. A round is queued once it is valid (on save, or by the worker when valid_from arrives), and
    each device gets one push per round: the outbox row's dedup key says so.
    """

    __tablename__ = "news_item"
    __table_args__ = (Index("ix_news_item_tenant_valid", "tenant_id", "valid_from"),)

    title: Mapped[str] = mapped_column(String(120))
    text: Mapped[str] = mapped_column(Text)
    link: Mapped[str | None] = mapped_column(String(500), nullable=True)
    category: Mapped[str] = mapped_column(String(16))
    language: Mapped[str] = mapped_column(String(8), default="de")
    valid_from: Mapped[datetime.datetime] = mapped_column(DateTimeUTC(timezone=True))
    valid_until: Mapped[datetime.datetime | None] = mapped_column(DateTimeUTC(timezone=True), nullable=True)
    push_round: Mapped[int] = mapped_column(Integer, default=1)
    pushed_round: Mapped[int] = mapped_column(Integer, default=0)


class NewsSubscription(TenantOwned, Base):
    """A device (push subscription) that wants pushes for one news category of its municipality."""

    __tablename__ = "news_subscription"
    __table_args__ = (UniqueConstraint("subscription_id", "category", name="uq_news_subscription"),)

    subscription_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("push_subscription.id", ondelete="CASCADE"), index=True
    )
    category: Mapped[str] = mapped_column(String(16))
