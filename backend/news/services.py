"""Announcements: the admin's form checked, what is current, devices' categories, and pushes through the outbox."""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import logging
import uuid
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from advanced_alchemy.extensions.litestar import SQLAlchemyAsyncConfig
from sqlalchemy import Integer, String, and_, bindparam, case, cast, delete, func, literal, or_, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.db import reusable, unscoped_session
from backend.core.errors import NotFound
from backend.core.i18n import gettext as _
from backend.core.tenancy import TenantContext
from backend.core.text import clean_line, clean_text
from backend.news.models import NewsItem, NewsSubscription
from backend.news.schemas import CATEGORIES, LINK_MAX, TEXT_MAX, TITLE_MAX, NewsForm
from backend.notifications.models import CaseSubscription, OutboxMessage, PushSubscription, waiting_row
from backend.notifications.push import topic_for
from backend.notifications.schemas import SubscriptionIn
from backend.notifications.services import SubscriptionService, endpoint_hash, in_language
from backend.tenants.models import Tenant

log = logging.getLogger("rathaus.news")

TTL_NEWS = 2 * 24 * 3600
PUBLISH_EVERY_SECONDS = 30.0
LOCAL_FORMAT = "%Y-%m-%dT%H:%M"  # what <input type="datetime-local"> sends


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def category_label(category: str) -> str:
    labels = {
        "warning": _("Warning"),
        "traffic": _("Traffic"),
        "waste": _("Waste collection"),
        "events": _("Events"),
        "general": _("General"),
    }
    return labels.get(category, category)


def status_of(item: NewsItem, now: datetime.datetime | None = None) -> str:
    """scheduled (not yet shown), visible (shown now) or expired (no longer shown)."""
    now = now or _now()
    if item.valid_from > now:
        return "scheduled"
    if item.valid_until is not None and item.valid_until <= now:
        return "expired"
    return "visible"


def status_label(status: str) -> str:
    return {"scheduled": _("Scheduled"), "visible": _("Visible"), "expired": _("Expired")}.get(status, status)


def local_input(value: datetime.datetime | None, timezone: str) -> str:
    """A stored instant as the municipality's local time for a datetime-local field."""
    return value.astimezone(ZoneInfo(timezone)).strftime(LOCAL_FORMAT) if value else ""


def _parse_local(raw: str, timezone: str) -> datetime.datetime | None:
    try:
        local = datetime.datetime.strptime(raw, LOCAL_FORMAT)  # noqa: DTZ007 (the municipality's zone, below)
    except ValueError:
        try:
            local = datetime.datetime.strptime(raw, LOCAL_FORMAT + ":%S")  # noqa: DTZ007
        except ValueError:
            return None
    return local.replace(tzinfo=ZoneInfo(timezone)).astimezone(datetime.UTC)


def parse_form(
    data: Mapping[str, Any], timezone: str, now: datetime.datetime | None = None
) -> tuple[dict[str, str], dict[str, str], NewsForm | None]:
    """The admin's fields as entered (to show again), the problems by field, and the announcement if none."""
    values = {
        "title": clean_line(str(data.get("title") or ""))[: TITLE_MAX * 2],
        "text": clean_text(str(data.get("text") or ""))[: TEXT_MAX * 2],
        "link": clean_line(str(data.get("link") or ""))[: LINK_MAX * 2],
        "category": clean_line(str(data.get("category") or ""))[:20],
        "valid_from": clean_line(str(data.get("valid_from") or ""))[:40],
        "valid_until": clean_line(str(data.get("valid_until") or ""))[:40],
        "send_again": "1" if data.get("send_again") else "",
    }
    errors: dict[str, str] = {}
    if not values["title"]:
        errors["title"] = _("Please enter a title.")
    elif len(values["title"]) > TITLE_MAX:
        errors["title"] = _("Please shorten the title to at most %(max)s characters.", max=TITLE_MAX)
    if not values["text"]:
        errors["text"] = _("Please enter the text of the announcement.")
    elif len(values["text"]) > TEXT_MAX:
        errors["text"] = _("Please shorten the text to at most %(max)s characters.", max=TEXT_MAX)
    link = values["link"]
    if link:
        parts = urlsplit(link) if len(link) <= LINK_MAX else None
        if parts is None:
            errors["link"] = _("Please shorten the link to at most %(max)s characters.", max=LINK_MAX)
        elif parts.scheme not in ("http", "https") or not parts.netloc or " " in link:
            errors["link"] = _("Please enter a web address starting with https:// or http://.")
    if values["category"] not in CATEGORIES:
        errors["category"] = _("Please choose a category.")
    valid_from = _parse_local(values["valid_from"], timezone) if values["valid_from"] else now or _now()
    if valid_from is None:
        errors["valid_from"] = _("Please enter a date and time, e.g. 2026-12-24T08:00.")
    valid_until = _parse_local(values["valid_until"], timezone) if values["valid_until"] else None
    if values["valid_until"] and valid_until is None:
        errors["valid_until"] = _("Please enter a date and time, e.g. 2026-12-24T08:00.")
    elif valid_from is not None and valid_until is not None and valid_until <= valid_from:
        errors["valid_until"] = _("The end must be after the start.")
    if errors or valid_from is None:
        return values, errors, None
    form = NewsForm(
        title=values["title"],
        text=values["text"],
        link=link or None,
        category=values["category"],
        valid_from=valid_from,
        valid_until=valid_until,
        send_again=bool(values["send_again"]),
    )
    return values, errors, form


def values_of(item: NewsItem, timezone: str) -> dict[str, str]:
    return {
        "title": item.title,
        "text": item.text,
        "link": item.link or "",
        "category": item.category,
        "valid_from": local_input(item.valid_from, timezone),
        "valid_until": local_input(item.valid_until, timezone),
        "send_again": "",
    }


def _importance() -> Any:
    return case({name: rank for rank, name in enumerate(CATEGORIES)}, value=NewsItem.category, else_=len(CATEGORIES))


def _current(now: datetime.datetime) -> Any:
    return and_(NewsItem.valid_from <= now, or_(NewsItem.valid_until.is_(None), NewsItem.valid_until > now))


# What citizens see now, built once: warnings first, then by category, newest first within one.
CURRENT_NEWS = reusable(
    select(NewsItem).where(_current(bindparam("now"))).order_by(_importance(), NewsItem.valid_from.desc())
)
CURRENT_NEWS_FIRST = reusable(CURRENT_NEWS.limit(bindparam("limit", type_=Integer)))


class NewsService:
    def __init__(self, session: AsyncSession, tenant: TenantContext) -> None:
        self.session = session
        self.tenant = tenant

    async def all(self) -> list[NewsItem]:
        return list(await self.session.scalars(select(NewsItem).order_by(NewsItem.valid_from.desc())))

    async def current(self, limit: int | None = None) -> list[NewsItem]:
        """What citizens see now: warnings first, then by category, newest first within one."""
        if limit:
            return list(await self.session.scalars(CURRENT_NEWS_FIRST, {"now": _now(), "limit": limit}))
        return list(await self.session.scalars(CURRENT_NEWS, {"now": _now()}))

    async def current_and_until(self, limit: int) -> tuple[list[NewsItem], float | None]:
        """``current(limit)``, and the seconds until an announcement starts or ends (None: none will), after
        which the list may differ: how long it may be kept."""
        now = _now()
        items = list(await self.session.scalars(CURRENT_NEWS_FIRST, {"now": now, "limit": limit}))
        mine = NewsItem.tenant_id == self.tenant.id
        starts = select(func.min(NewsItem.valid_from)).where(mine, NewsItem.valid_from > now).scalar_subquery()
        ends = select(func.min(NewsItem.valid_until)).where(mine, NewsItem.valid_until > now).scalar_subquery()
        changes = [t for t in (await self.session.execute(select(starts, ends))).one() if t is not None]
        return items, (min(changes) - now).total_seconds() if changes else None

    async def get(self, news_id: uuid.UUID) -> NewsItem:
        item = await self.session.scalar(select(NewsItem).where(NewsItem.id == news_id))
        if item is None:
            raise NotFound()
        return item  # type: ignore[no-any-return]

    async def create(self, form: NewsForm) -> NewsItem:
        item = NewsItem(tenant_id=self.tenant.id, language=self.tenant.default_language, push_round=1, pushed_round=0)
        self._apply(item, form)
        self.session.add(item)
        await self.session.flush()
        await queue_pushes(self.session, item, self.tenant.name)
        return item

    async def update(self, news_id: uuid.UUID, form: NewsForm) -> NewsItem:
        """Saves the changes; pushes again only when the admin asked for it (a new round)."""
        item = await self.get(news_id)
        self._apply(item, form)
        if form.send_again:
            item.push_round = item.pushed_round + 1
        await self.session.flush()
        await queue_pushes(self.session, item, self.tenant.name)
        return item

    async def delete(self, news_id: uuid.UUID) -> None:
        item = await self.get(news_id)
        await self.session.delete(item)
        await self.session.flush()

    @staticmethod
    def _apply(item: NewsItem, form: NewsForm) -> None:
        item.title, item.text, item.link, item.category = form.title, form.text, form.link, form.category
        item.valid_from, item.valid_until = form.valid_from, form.valid_until


# --- pushes ----------------------------------------------------------------------------------------------


def payload_for(item: NewsItem, tenant_name: str) -> dict[str, str]:
    with in_language(item.language):
        body = f"{category_label(item.category)}: {item.title}"
    return {"title": tenant_name, "body": body[:300], "url": f"/news#news-{item.id}", "tag": f"news-{item.id}"}


async def queue_pushes(session: AsyncSession, item: NewsItem, tenant_name: str) -> int:
    """One outbox row per device subscribed to the item's category, for a round not yet queued, if it is current.

    Written in the caller's transaction. Each row carries the key news:<item>:<round>:<device>, unique in the
    outbox, so a round is never queued twice for a device, even by two processes at once.
    """
    now = _now()
    if item.pushed_round >= item.push_round or status_of(item, now) != "visible":
        return 0
    if session.bind.dialect.name == "postgresql":
        return await _queue_pushes_in_one_statement(session, item, tenant_name, now)
    devices = list(
        await session.scalars(
            select(NewsSubscription.subscription_id).where(
                NewsSubscription.tenant_id == item.tenant_id, NewsSubscription.category == item.category
            )
        )
    )
    item.pushed_round = item.push_round
    if not devices:
        await session.flush()
        return 0
    ttl = _ttl(item, now)
    payload = payload_for(item, tenant_name)
    rows = [
        {
            "id": uuid.uuid4(),
            "tenant_id": item.tenant_id,
            "channel": "push",
            "news_id": item.id,
            "subscription_id": device,
            "dedup_key": f"news:{item.id}:{item.push_round}:{device}",
            "language": item.language,
            "payload": payload,
            "topic": topic_for(item.id.bytes),
            "urgency": "high" if item.category == "warning" else "normal",
            "ttl": ttl,
            **waiting_row(now),
        }
        for device in devices
    ]
    insert = postgresql_insert if session.bind.dialect.name == "postgresql" else sqlite_insert
    await session.execute(insert(OutboxMessage).on_conflict_do_nothing(index_elements=["dedup_key"]), rows)
    await session.flush()
    return len(rows)


def _ttl(item: NewsItem, now: datetime.datetime) -> int:
    if item.valid_until is None:
        return TTL_NEWS
    return max(60, min(TTL_NEWS, int((item.valid_until - now).total_seconds())))


async def _queue_pushes_in_one_statement(
    session: AsyncSession, item: NewsItem, tenant_name: str, now: datetime.datetime
) -> int:
    """PostgreSQL: the round's rows made by the database from the subscriptions, in one INSERT ... SELECT.

    A town with a hundred thousand devices would otherwise have its rows built in Python and sent over while
    the admin's save waits (about 20 s on a small machine, bench/broadcast_bench.py)."""
    item.pushed_round = item.push_round
    outbox = OutboxMessage.__table__
    same_for_all = {
        "tenant_id": item.tenant_id,
        "channel": "push",
        "news_id": item.id,
        "language": item.language,
        "payload": payload_for(item, tenant_name),
        "topic": topic_for(item.id.bytes),
        "urgency": "high" if item.category == "warning" else "normal",
        "ttl": _ttl(item, now),
        **waiting_row(now),
    }
    device = NewsSubscription.subscription_id
    rows = select(
        func.gen_random_uuid(),
        device,
        # As the f-string of the other databases writes it: PostgreSQL spells a uuid as text the same way.
        literal(f"news:{item.id}:{item.push_round}:") + cast(device, String),
        *(literal(value, outbox.c[name].type) for name, value in same_for_all.items()),
    ).where(NewsSubscription.tenant_id == item.tenant_id, NewsSubscription.category == item.category)
    statement = postgresql_insert(outbox).from_select(["id", "subscription_id", "dedup_key", *same_for_all], rows)
    result = await session.execute(statement.on_conflict_do_nothing(index_elements=["dedup_key"]))
    await session.flush()
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def publish_due(db: SQLAlchemyAsyncConfig) -> int:
    """The worker's part: queue the rounds of announcements whose start has come since they were saved."""
    queued = 0
    now = _now()
    async with unscoped_session(db) as session:
        query = (
            select(NewsItem, Tenant.name)
            .join(Tenant, Tenant.id == NewsItem.tenant_id)
            .where(NewsItem.pushed_round < NewsItem.push_round, _current(now), Tenant.active.is_(True))
            .limit(100)
        )
        if session.bind.dialect.name == "postgresql":
            query = query.with_for_update(of=NewsItem, skip_locked=True)
        for item, tenant_name in (await session.execute(query)).all():
            queued += await queue_pushes(session, item, tenant_name)
    return queued


async def run_periodically(
    db: SQLAlchemyAsyncConfig, stop: asyncio.Event, every: float = PUBLISH_EVERY_SECONDS
) -> None:
    """Beside the delivery worker; every instance may run it (the outbox's unique keys prevent doubles)."""
    while not stop.is_set():
        try:
            queued = await publish_due(db)
            if queued:
                log.info("queued %s news pushes", queued)
        except Exception:  # a failed round is retried on the next one
            log.exception("publishing due news failed")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=every)


# --- a device's categories -----------------------------------------------------------------------------


class NewsSubscriptions:
    """Which news categories a device wants, kept per push endpoint and municipality."""

    def __init__(self, session: AsyncSession, tenant: TenantContext, allowlist: tuple[str, ...]) -> None:
        self.session = session
        self.tenant = tenant
        self.devices = SubscriptionService(session, tenant, allowlist)

    async def choose(self, subscription: SubscriptionIn, categories: list[str]) -> list[str]:
        """This device gets exactly these categories from now on; none at all turns news pushes off."""
        wanted = [c for c in CATEGORIES if c in set(categories)]
        if not wanted:
            await self.forget(subscription.endpoint)
            return []
        device = await self.devices.device(subscription)
        await self.session.execute(
            delete(NewsSubscription).where(
                NewsSubscription.subscription_id == device.id, NewsSubscription.category.not_in(wanted)
            )
        )
        for category in wanted:
            await self.devices.insert_once(
                NewsSubscription,
                ("subscription_id", "category"),
                tenant_id=self.tenant.id,
                subscription_id=device.id,
                category=category,
            )
        await self.session.flush()
        return wanted

    async def categories(self, endpoint: str) -> list[str]:
        rows = set(
            await self.session.scalars(
                select(NewsSubscription.category)
                .join(PushSubscription, PushSubscription.id == NewsSubscription.subscription_id)
                .where(PushSubscription.endpoint_hash == endpoint_hash(endpoint))
            )
        )
        return [c for c in CATEGORIES if c in rows]

    async def forget(self, endpoint: str) -> None:
        """No more news on this device; the device itself is forgotten when it follows no request either."""
        device = await self.session.scalar(
            select(PushSubscription).where(PushSubscription.endpoint_hash == endpoint_hash(endpoint))
        )
        if device is None:
            return
        await self.session.execute(delete(NewsSubscription).where(NewsSubscription.subscription_id == device.id))
        follows = await self.session.scalar(
            select(CaseSubscription.id).where(CaseSubscription.subscription_id == device.id).limit(1)
        )
        if follows is None:
            await self.session.delete(device)
        await self.session.flush()


def label_map() -> dict[str, str]:
    return {c: category_label(c) for c in CATEGORIES}


__all__ = ["NewsService", "NewsSubscriptions", "category_label", "parse_form", "publish_due", "status_of"]
