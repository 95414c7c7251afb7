"""Web Push on every status change and public message: encrypted, signed, and never lost or doubled."""

from __future__ import annotations

import asyncio
import datetime
import re

import pytest
from litestar import Litestar
from sqlalchemy import select, update

from backend.cases.models import Case
from backend.cases.services import Actor, CaseService
from backend.core.db import alchemy_config, tenant_session, unscoped_session
from backend.core.storage import LocalStorage
from backend.notifications.delivery import Deliverer, RetryPolicy
from backend.notifications.models import OutboxMessage, PushSubscription
from backend.settings import Settings
from backend.tenants.models import Tenant
from backend.tenants.services import to_context
from tests.conftest import Person
from tests.factories import TenantFixture
from tests.helpers import Client
from tests.integration.notifications.conftest import FAST, count, follow, followed_case, outbox, submit_case
from tests.pushservice import PushService


async def test_status_change_sends_exactly_one_readable_message(
    client: Client, tenant: TenantFixture, push: PushService, deliverer: Deliverer, clerk_of, settings: Settings
) -> None:
    tracking = await submit_case(client, tenant)
    device = push.subscribe()
    assert (await follow(client, tracking, device)).status_code == 201
    clerk = await clerk_of(tenant)
    await clerk.set_status("in_review")

    rows = await outbox(settings, tenant_id=tenant.id)
    assert [r.status for r in rows] == ["pending"], "written with the change, before any delivery"
    assert await deliverer.run_once() == 1
    assert await deliverer.run_once() == 0

    [got] = push.for_device(device)
    assert got.problems == [] and got.status == 201
    assert got.payload is not None and set(got.payload) == {"title", "body", "url", "tag"}
    assert got.payload["title"] == tenant.name
    assert got.payload["url"] == f"http://{tenant.slug}.localhost:8000{tracking}", "the public address of the case"
    assert got.payload["tag"] == f"case-{rows[0].case_id}"
    reference = re.search(r"<strong>(\d{4}-\d{5})</strong>", (await client.get(tracking)).text).group(1)  # type: ignore[union-attr]
    assert got.payload["body"] == f"Ihr Anliegen {reference} ist jetzt: Wird geprüft"
    assert "anna@example.org" not in str(got.payload) and "Hauptstraße" not in str(got.payload)
    assert 3600 <= int(got.headers["ttl"]) <= 7 * 24 * 3600
    assert got.headers["urgency"] == "normal"
    assert len(got.headers["topic"]) <= 32
    assert [r.status for r in await outbox(settings, tenant_id=tenant.id)] == ["sent"]


async def test_request_for_information_is_urgent_and_messages_notify_too(
    client: Client, tenant: TenantFixture, push: PushService, deliverer: Deliverer, clerk_of
) -> None:
    tracking, device = await followed_case(client, tenant, push)
    clerk = await clerk_of(tenant)
    await clerk.set_status("in_review")
    await clerk.set_status("needs_info", "Bitte senden Sie ein Foto.")
    await clerk.message("Danke für Ihre Geduld.")
    await deliverer.run_once()
    got = push.delivered(device)
    assert len(got) == 3
    assert [g.headers["urgency"] for g in got].count("high") == 1
    assert len({g.headers["topic"] for g in got}) == 1, "one topic per case: newer replaces older"
    bodies = " ".join(g.payload["body"] for g in got if g.payload)
    assert "Bitte senden Sie ein Foto." not in bodies, "message texts may hold personal data; only a hint is pushed"


async def test_one_case_several_devices_and_one_device_several_cases(
    app: Litestar, client: Client, tenant: TenantFixture, push: PushService, deliverer: Deliverer, clerk_of
) -> None:
    first = await submit_case(client, tenant, key="first-case-key-0123456789", photo=False)
    second = await submit_case(client, tenant, key="second-case-key-012345678", photo=False)
    phone, tablet = push.subscribe(), push.subscribe()
    for tracking, device in ((first, phone), (first, tablet), (second, phone)):
        assert (await follow(client, tracking, device)).status_code == 201
    assert (await follow(client, first, phone)).status_code == 201, "following twice is harmless"
    for reference in ("00001", "00002"):
        await (await clerk_of(tenant, reference)).set_status("in_review")
    await deliverer.run_once()
    assert len(push.delivered(phone)) == 2 and len(push.delivered(tablet)) == 1


async def test_unsubscribed_device_gets_nothing_more(
    client: Client, tenant: TenantFixture, push: PushService, deliverer: Deliverer, clerk_of
) -> None:
    tracking, device = await followed_case(client, tenant, push)
    page = await client.get(tracking)
    from tests.conftest import csrf_token

    response = await client.request(
        "DELETE",
        "/push/subscriptions",
        json={"endpoint": device["endpoint"], "token": tracking.rsplit("/", 1)[1]},
        headers={"X-CSRFToken": csrf_token(page.text)},
    )
    assert response.status_code == 204
    await (await clerk_of(tenant)).set_status("in_review")
    await deliverer.run_once()
    assert push.for_device(device) == []


async def test_gone_subscription_is_deleted_and_email_takes_over(
    client: Client, tenant: TenantFixture, push: PushService, deliverer: Deliverer, clerk_of, settings: Settings
) -> None:
    tracking, device = await followed_case(client, tenant, push)
    push.answer(device, 410)
    await (await clerk_of(tenant)).set_status("in_review")
    await deliverer.run_once()
    assert await count(settings, PushSubscription, tenant_id=tenant.id) == 0
    rows = await outbox(settings, tenant_id=tenant.id)
    assert [(r.channel, r.status) for r in rows] == [("push", "gone"), ("email", "pending")]
    await deliverer.run_once()
    assert [r.status for r in await outbox(settings, tenant_id=tenant.id)] == ["gone", "sent"]
    mails = list(settings.mail_dir.glob("*.eml"))
    assert any(tracking in m.read_text() for m in mails), "without SMTP settings the e-mail lands in the mail folder"


async def test_429_is_retried_after_retry_after(
    client: Client, tenant: TenantFixture, push: PushService, deliverer: Deliverer, clerk_of, settings: Settings
) -> None:
    tracking, device = await followed_case(client, tenant, push)
    push.answer(device, (429, {"Retry-After": "600"}))
    await (await clerk_of(tenant)).set_status("in_review")
    before = datetime.datetime.now(datetime.UTC)
    await deliverer.run_once()
    after = datetime.datetime.now(datetime.UTC)
    [row] = await outbox(settings, tenant_id=tenant.id)
    assert row.status == "pending"
    # Ten minutes after the answer, which came between ``before`` and ``after`` (however slow the machine).
    wait = datetime.timedelta(seconds=600)
    assert before + wait <= row.next_attempt_at <= after + wait + datetime.timedelta(seconds=1)
    assert await deliverer.run_once() == 0, "not before the push service allows it"
    # The ten minutes pass: the row is due now.
    db = alchemy_config(settings)
    try:
        async with unscoped_session(db) as session:
            await session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id == row.id)
                .values(next_attempt_at=datetime.datetime.now(datetime.UTC) - datetime.timedelta(seconds=1))
            )
            await session.commit()
    finally:
        await db.get_engine().dispose()
    assert await deliverer.run_once() == 1
    assert [r.status for r in push.for_device(device)] == [429, 201]


async def test_server_errors_are_retried_with_backoff_then_dead_and_shown_to_admins(
    client: Client,
    tenant: TenantFixture,
    push: PushService,
    deliverer: Deliverer,
    clerk_of,
    settings: Settings,
    person: Person,
) -> None:
    tracking, device = await followed_case(client, tenant, push)
    push.answer(device, 500, 503)
    await (await clerk_of(tenant)).set_status("in_review")
    for _ in range(20):
        await deliverer.run_once()
        if push.delivered(device):
            break
        await asyncio.sleep(0.1)
    assert [r.status for r in push.for_device(device)] == [500, 503, 201]
    [row] = await outbox(settings, tenant_id=tenant.id)
    assert row.status == "sent" and row.attempts == 3

    push.answer(device, 500, 500, 500, 500)  # the policy allows 4 attempts
    await (await clerk_of(tenant)).set_status("in_progress")
    for _ in range(30):
        await deliverer.run_once()
        await asyncio.sleep(0.1)
    rows = await outbox(settings, tenant_id=tenant.id)
    assert rows[-1].status == "dead" and rows[-1].attempts == 4
    from tests.helpers import login

    async with person(tenant.host) as admin:
        await login(admin, tenant.admin_email, tenant.password)
        page = await admin.get("/staff/deliveries")
        assert page.status_code == 200 and "500" in page.text
    async with person(tenant.host) as clerk:
        await login(clerk, tenant.clerk_email, tenant.password)
        assert (await clerk.get("/staff/deliveries")).status_code == 403


async def test_other_client_errors_are_not_retried(
    client: Client, tenant: TenantFixture, push: PushService, deliverer: Deliverer, clerk_of, settings: Settings
) -> None:
    tracking, device = await followed_case(client, tenant, push)
    push.answer(device, 413)
    await (await clerk_of(tenant)).set_status("in_review")
    await deliverer.run_once()
    await asyncio.sleep(0.3)
    await deliverer.run_once()
    assert [r.status for r in push.for_device(device)] == [413]
    assert [r.status for r in await outbox(settings, tenant_id=tenant.id)] == ["failed"]


async def test_crashed_worker_claim_runs_out_and_the_message_still_arrives_once(
    client: Client, tenant: TenantFixture, push: PushService, clerk_of, settings: Settings
) -> None:
    tracking, device = await followed_case(client, tenant, push)
    await (await clerk_of(tenant)).set_status("in_review")
    db = alchemy_config(settings)
    crashed = Deliverer(db, settings, policy=RetryPolicy(claim_timeout=1))
    claimed = await crashed.claim(100)
    assert len(claimed) == 1
    await crashed.aclose()  # died after claiming, before sending
    survivor = Deliverer(db, settings, policy=RetryPolicy(claim_timeout=30))
    try:
        assert await survivor.run_once() == 0, "the claim still holds"
        await asyncio.sleep(1.1)
        assert await survivor.run_once() == 1
        assert await survivor.run_once() == 0
    finally:
        await survivor.aclose()
        await db.get_engine().dispose()
    assert len(push.for_device(device)) == 1


async def _case_followed_by(client: Client, tenant: TenantFixture, push: PushService, n: int) -> list[dict]:
    """A new case that ``n`` devices follow; returns the devices."""
    tracking = await submit_case(client, tenant, photo=False)
    devices = [push.subscribe() for _ in range(n)]
    for device in devices:
        await follow(client, tracking, device)
    return devices


async def test_two_workers_deliver_each_message_once(
    client: Client, tenant: TenantFixture, push: PushService, clerk_of, settings: Settings
) -> None:
    devices = await _case_followed_by(client, tenant, push, 30)
    clerk = await clerk_of(tenant)
    await clerk.set_status("in_review")
    await clerk.set_status("in_progress")
    workers = [Deliverer(alchemy_config(settings), settings, policy=FAST) for _ in range(2)]
    try:
        for _ in range(100):  # bounded; a busy machine may need a retry round or two
            await asyncio.gather(*(w.run_once(limit=7) for w in workers))
            if {r.status for r in await outbox(settings, tenant_id=tenant.id)} == {"sent"}:
                break
            await asyncio.sleep(0.05)
    finally:
        for w in workers:
            await w.aclose()
            await w.db.get_engine().dispose()
    assert push.requests == 60
    assert all(len(push.delivered(d)) == 2 for d in devices)
    assert {r.status for r in await outbox(settings, tenant_id=tenant.id)} == {"sent"}


async def test_the_worker_loop_claims_the_next_round_while_sending_and_hands_it_back_when_stopped(
    client: Client, tenant: TenantFixture, push: PushService, clerk_of, settings: Settings
) -> None:
    devices = await _case_followed_by(client, tenant, push, 30)
    clerk = await clerk_of(tenant)
    await clerk.set_status("in_review")
    stop = asyncio.Event()
    rounds: list[int] = []

    class Counting(Deliverer):
        async def _send_round(self, round_):  # type: ignore[no-untyped-def]
            rounds.append(len(round_.claimed))
            return await super()._send_round(round_)

    worker = Counting(alchemy_config(settings), settings, policy=FAST)
    loop = asyncio.create_task(worker.run_forever(stop, idle=0.01, limit=4))
    try:
        for _ in range(200):  # bounded
            if {r.status for r in await outbox(settings, tenant_id=tenant.id)} == {"sent"}:
                break
            await asyncio.sleep(0.05)
    finally:
        stop.set()
        await loop
    assert rounds[:7] == [4] * 7 and sum(rounds) == 30
    assert all(len(push.delivered(d)) == 1 for d in devices)

    # Stopped after one round: the round claimed ahead is handed back, not left to run out.
    await clerk.set_status("in_progress")
    stop = asyncio.Event()

    class StopsAfterOneRound(Deliverer):
        async def _send_round(self, round_):  # type: ignore[no-untyped-def]
            outcomes = await super()._send_round(round_)
            stop.set()
            return outcomes

    once = StopsAfterOneRound(worker.db, settings, policy=FAST)
    try:
        await once.run_forever(stop, idle=0.01, limit=4)
        # The round that was sent is recorded before the loop returns.
        rows = await outbox(settings, tenant_id=tenant.id)
        waiting = [r for r in rows if r.status == "pending"]
        assert len(rows) == 60 and len(waiting) == 26
        assert all(r.claimed_until is None for r in waiting)
        assert await once.run_once(limit=100) == 26, "nothing waits for a claim to run out"
    finally:
        await once.aclose()
        await worker.aclose()
        await worker.db.get_engine().dispose()
    assert all(len(push.delivered(d)) == 2 for d in devices)


async def test_outbox_rows_commit_with_the_change_or_not_at_all(
    client: Client, tenant: TenantFixture, push: PushService, clerk_of, settings: Settings
) -> None:
    tracking = await submit_case(client, tenant, photo=False)
    await follow(client, tracking, push.subscribe())
    clerk = await clerk_of(tenant)
    assert (await clerk.set_status("completed")).status_code == 409
    assert await outbox(settings, tenant_id=tenant.id) == []

    # A change whose transaction fails after the status was set leaves neither the status nor a notification.
    db = alchemy_config(settings)
    try:
        async with unscoped_session(db) as session:
            ctx = to_context(await session.get_one(Tenant, tenant.id))
            case_id = await session.scalar(select(Case.id).where(Case.tenant_id == tenant.id))
        with pytest.raises(RuntimeError, match="after the change"):
            async with tenant_session(db, ctx.id) as session:
                await CaseService(session, ctx, LocalStorage(settings.uploads_dir)).change_status(
                    case_id, "in_review", Actor("staff", name="Clara")
                )
                assert len(await outbox(settings, tenant_id=tenant.id)) == 0, "not visible before commit"
                raise RuntimeError("something failed after the change")
        assert await outbox(settings, tenant_id=tenant.id) == []
        assert "Eingegangen" in (await client.get(tracking)).text
        async with tenant_session(db, ctx.id) as session:
            await CaseService(session, ctx, LocalStorage(settings.uploads_dir)).change_status(
                case_id, "in_review", Actor("staff", name="Clara")
            )
        assert [r.status for r in await outbox(settings, tenant_id=tenant.id)] == ["pending"]
    finally:
        await db.get_engine().dispose()


async def test_in_process_worker_of_the_app_delivers(
    settings: Settings, tenant: TenantFixture, push: PushService, clerk_of, person: Person
) -> None:
    from dataclasses import replace

    from litestar.testing import AsyncTestClient

    from backend.app import create_app

    async with AsyncTestClient(create_app(replace(settings, run_worker=True)), base_url=f"http://{tenant.host}") as c:
        tracking = await submit_case(c, tenant, photo=False)
        device = push.subscribe()
        await follow(c, tracking, device)
        await (await clerk_of(tenant)).set_status("in_review")
        for _ in range(50):
            if push.delivered(device):
                break
            await asyncio.sleep(0.1)
    assert len(push.delivered(device)) == 1


async def test_rotated_keys_keep_old_devices_working(
    client: Client, tenant: TenantFixture, push: PushService, deliverer: Deliverer, clerk_of, settings: Settings
) -> None:
    old_key = (await client.get("/push/key")).json()["publicKey"]
    tracking = await submit_case(client, tenant, photo=False)
    old_device = push.subscribe()
    await follow(client, tracking, old_device)
    db = alchemy_config(settings)
    from backend.notifications.services import VapidKeyService

    async with unscoped_session(db) as session:
        await VapidKeyService(session).rotate()
    await db.get_engine().dispose()
    new_key = (await client.get("/push/key")).json()["publicKey"]
    assert new_key != old_key
    new_device = push.subscribe()
    await follow(client, tracking, new_device)
    await (await clerk_of(tenant)).set_status("in_review")
    await deliverer.run_once()
    assert push.delivered(old_device)[0].vapid_key == old_key
    assert push.delivered(new_device)[0].vapid_key == new_key
