"""How a push travels: through the operator's proxy, never after a redirect, retried when the push service cannot be
reached, and handed back unsent when a slow push service would keep a round past its claim."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from sqlalchemy import update

from backend.core.db import alchemy_config, unscoped_session
from backend.notifications.delivery import Deliverer, RetryPolicy
from backend.notifications.models import PushSubscription
from backend.settings import Settings
from tests.factories import TenantFixture
from tests.helpers import Client
from tests.integration.notifications.conftest import FAST, followed_case, outbox
from tests.pushservice import PushService

PROXY_VARIABLES = ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY")


@pytest.fixture
def proxy(push: PushService, monkeypatch: pytest.MonkeyPatch) -> Iterator[PushService]:
    """A forward proxy in front of the push service: it is asked with the push service's full address and answers
    for it (it shares the service's devices and expects its VAPID audience)."""
    for name in (*PROXY_VARIABLES, "no_proxy", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
    service = PushService()
    service.devices = push.devices
    service.origin = push.origin
    yield service
    service.close()


async def _deliver_with_new_worker(settings: Settings, policy: RetryPolicy = FAST, concurrency: int = 8) -> int:
    """A worker started now (it reads the proxy settings when it starts), one round."""
    db = alchemy_config(settings)
    worker = Deliverer(db, settings, policy=policy, concurrency=concurrency, push_in_flight=concurrency)
    try:
        return await worker.run_once()
    finally:
        await worker.aclose()
        await db.get_engine().dispose()


async def test_push_goes_through_the_operators_proxy_unless_no_proxy_names_the_push_service(
    client: Client,
    tenant: TenantFixture,
    push: PushService,
    proxy: PushService,
    clerk_of,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    tracking, device = await followed_case(client, tenant, push)
    clerk = await clerk_of(tenant)
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{proxy.server.server_address[1]}")
    await clerk.set_status("in_review")
    assert await _deliver_with_new_worker(settings) == 1
    assert [r.status for r in proxy.for_device(device)] == [201], "sent through the proxy"
    assert proxy.for_device(device)[0].problems == []
    assert push.for_device(device) == []

    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    await clerk.set_status("in_progress")
    assert await _deliver_with_new_worker(settings) == 1
    assert [r.status for r in push.for_device(device)] == [201], "straight to the push service"
    assert len(proxy.for_device(device)) == 1
    assert [r.status for r in await outbox(settings, tenant_id=tenant.id)] == ["sent", "sent"]


async def test_a_redirect_is_not_followed_and_the_push_fails(
    client: Client, tenant: TenantFixture, push: PushService, deliverer: Deliverer, clerk_of, settings: Settings
) -> None:
    tracking, device = await followed_case(client, tenant, push)
    push.answer(device, (307, {"Location": device["endpoint"]}))
    await (await clerk_of(tenant)).set_status("in_review")
    assert await deliverer.run_once() == 1
    assert [r.status for r in push.for_device(device)] == [307], "the redirect was not followed"
    [row] = await outbox(settings, tenant_id=tenant.id)
    assert row.status == "failed" and row.last_error.startswith("push service answered 307")


async def test_an_unreachable_push_service_is_retried(
    client: Client, tenant: TenantFixture, push: PushService, deliverer: Deliverer, clerk_of, settings: Settings
) -> None:
    tracking, device = await followed_case(client, tenant, push)
    closed = PushService()
    closed.close()  # nothing listens on its port any more
    db = alchemy_config(settings)
    try:
        async with unscoped_session(db) as session:
            await session.execute(
                update(PushSubscription)
                .where(PushSubscription.endpoint == device["endpoint"])
                .values(endpoint=f"{closed.origin}/push/gone")
            )
            await session.commit()
    finally:
        await db.get_engine().dispose()
    await (await clerk_of(tenant)).set_status("in_review")
    assert await deliverer.run_once() == 1
    [row] = await outbox(settings, tenant_id=tenant.id)
    assert row.status == "pending" and row.attempts == 1
    assert row.last_error.startswith("network error: ") and row.next_attempt_at is not None


async def test_a_slow_push_service_gets_the_rest_of_a_round_later_and_each_device_one_push(
    client: Client, tenant: TenantFixture, push: PushService, clerk_of, settings: Settings
) -> None:
    from tests.integration.notifications.test_push import _case_followed_by

    devices = await _case_followed_by(client, tenant, push, 4)
    await (await clerk_of(tenant)).set_status("in_review")
    push.delay = 0.3
    # A claim of 1 s: the round starts no send after half of it, one send at a time.
    policy = RetryPolicy(base_delay=0.05, max_delay=0.2, max_attempts=4, claim_timeout=1.0)
    assert await _deliver_with_new_worker(settings, policy, concurrency=1) == 4
    rows = await outbox(settings, tenant_id=tenant.id)
    sent = [r for r in rows if r.status == "sent"]
    back = [r for r in rows if r.status == "pending"]
    assert 1 <= len(sent) < 4 and len(sent) + len(back) == 4, [r.status for r in rows]
    assert all(r.attempts == 0 and r.claimed_until is None and r.last_error == "" for r in back), "handed back unsent"
    assert push.requests == len(sent)
    for _ in range(10):
        await _deliver_with_new_worker(settings, policy, concurrency=1)
        if {r.status for r in await outbox(settings, tenant_id=tenant.id)} == {"sent"}:
            break
        await asyncio.sleep(0.05)
    assert {r.status for r in await outbox(settings, tenant_id=tenant.id)} == {"sent"}
    assert all(len(push.delivered(d)) == 1 for d in devices), "each device got its push once"
    assert push.requests == 4


async def test_many_pushes_are_in_flight_at_once(
    client: Client, tenant: TenantFixture, push: PushService, deliverer: Deliverer, clerk_of, settings: Settings
) -> None:
    """A push service answers in tens of milliseconds: a worker keeps many pushes on their way, not a handful (it
    would otherwise send fewer than 200 a second), while its e-mails and webhooks keep their few slots."""
    from tests.integration.notifications.test_push import _case_followed_by

    devices = await _case_followed_by(client, tenant, push, 24)
    await (await clerk_of(tenant)).set_status("in_review")
    push.delay = 0.5
    assert await deliverer.run_once() == 24
    assert all(len(push.delivered(d)) == 1 for d in devices)
    assert push.most_in_flight > 8, push.most_in_flight
