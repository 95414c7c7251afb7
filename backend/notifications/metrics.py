"""What the monitoring learns about notifications: deliveries by outcome (counted by the process that delivers)
and the outbox's depth, age and the workers' lag (read from the database at each scrape, so every instance
shows the same, whichever process delivers)."""

from __future__ import annotations

import datetime
from collections.abc import Iterable

from prometheus_client import Counter
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric
from sqlalchemy import and_, case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.notifications.models import OutboxMessage
from backend.tenants.models import Tenant

CHANNELS = ("push", "email", "webhook")

DELIVERIES = Counter(
    "rathaus_deliveries",
    "Delivery attempts of outbox messages by channel and outcome: sent, retry (tried again later), gone (device "
    "unsubscribed), failed (refused, not retried), dead (retries used up).",
    ["channel", "outcome"],
)


def count_delivery(channel: str, outcome: str) -> None:
    DELIVERIES.labels(channel, outcome).inc()


async def outbox_figures(session: AsyncSession) -> Iterable[Metric]:
    """Pending messages per channel, the age of the oldest, and how long the oldest due message has waited for a
    worker (messages of a disabled municipality wait on purpose and are not lag)."""
    now = datetime.datetime.now(datetime.UTC)
    due = and_(OutboxMessage.next_attempt_at <= now, Tenant.active.is_(True))
    rows = await session.execute(
        select(
            OutboxMessage.channel,
            func.count(),
            func.min(OutboxMessage.created_at),
            func.min(case((due, OutboxMessage.next_attempt_at))),
        )
        .join(Tenant, Tenant.id == OutboxMessage.tenant_id)
        .where(OutboxMessage.status == "pending")
        .group_by(OutboxMessage.channel)
    )
    depth = GaugeMetricFamily("rathaus_outbox_pending", "Outbox messages waiting to be delivered.", labels=["channel"])
    age = GaugeMetricFamily(
        "rathaus_outbox_oldest_pending_age_seconds",
        "Age of the oldest outbox message still waiting to be delivered (0 when none waits).",
        labels=["channel"],
    )
    lag = GaugeMetricFamily(
        "rathaus_worker_lag_seconds",
        "How long the oldest message that is due has waited for a delivery worker (0 when none is due).",
        labels=["channel"],
    )
    found = {channel: (count, oldest, first_due) for channel, count, oldest, first_due in rows}
    for channel in sorted({*CHANNELS, *found}):
        count, oldest, first_due = found.get(channel, (0, None, None))
        depth.add_metric([channel], count)
        age.add_metric([channel], _seconds_since(oldest, now))
        lag.add_metric([channel], _seconds_since(first_due, now))
    return [depth, age, lag]


def _seconds_since(moment: datetime.datetime | None, now: datetime.datetime) -> float:
    if moment is None:
        return 0.0
    if moment.tzinfo is None:  # SQLite's aggregates come back without the zone; stored values are UTC
        moment = moment.replace(tzinfo=datetime.UTC)
    return max(0.0, (now - moment).total_seconds())
