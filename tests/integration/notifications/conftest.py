"""Fixtures for delivery tests: the local push service, a deliverer, a case with a device following it."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import delete, func, select

from backend.core.db import alchemy_config, unscoped_session
from backend.notifications.delivery import Deliverer, RetryPolicy
from backend.notifications.models import OutboxMessage
from backend.settings import Settings
from tests.conftest import Person, csrf_token
from tests.factories import TenantFixture
from tests.helpers import Client, login, staff_post
from tests.helpers import submit_case as submit_with_receipt
from tests.pushservice import PushService


@pytest.fixture(autouse=True)
async def empty_outbox(settings: Settings) -> None:
    """Other tests leave notifications behind; each delivery test starts with an empty outbox."""
    db = alchemy_config(settings)
    async with unscoped_session(db) as session:
        await session.execute(delete(OutboxMessage))
    await db.get_engine().dispose()


async def submit_case(client: Client, tenant: TenantFixture, **kwargs: Any) -> str:
    """Submit a case and drop its receipt, so a test sees only the notifications it causes itself (the receipt
    has tests of its own in test_conversation_mail.py)."""
    tracking = await submit_with_receipt(client, tenant, **kwargs)
    db = alchemy_config(client.app.state.settings)
    async with unscoped_session(db) as session:
        await session.execute(delete(OutboxMessage).where(OutboxMessage.tenant_id == tenant.id))
    await db.get_engine().dispose()
    return tracking


@pytest.fixture
def push() -> Iterator[PushService]:
    service = PushService()
    yield service
    service.close()


FAST = RetryPolicy(base_delay=0.05, max_delay=0.2, max_attempts=4, claim_timeout=30)


@pytest.fixture
async def deliverer(settings: Settings) -> AsyncIterator[Deliverer]:
    db = alchemy_config(settings)
    worker = Deliverer(db, settings, policy=FAST)
    yield worker
    await worker.aclose()
    await db.get_engine().dispose()


async def follow(client: Client, tracking: str, subscription: dict[str, Any]) -> Any:
    """What the page's script does after the citizen allowed notifications."""
    page = await client.get(tracking)
    token = tracking.rsplit("/", 1)[1]
    return await client.post(
        "/push/subscriptions",
        json={"subscription": subscription, "token": token},
        headers={"X-CSRFToken": csrf_token(page.text)},
    )


async def followed_case(client: Client, tenant: TenantFixture, push: PushService) -> tuple[str, dict[str, Any]]:
    """A submitted case (with a contact e-mail) that one new device follows."""
    tracking = await submit_case(client, tenant, photo=False)
    device = push.subscribe()
    assert (await follow(client, tracking, device)).status_code == 201
    return tracking, device


@dataclass
class Clerk:
    client: Client
    case_url: str

    async def set_status(self, status: str, message: str = "") -> Any:
        return await staff_post(
            self.client, self.case_url, self.case_url + "/status", {"to_status": status, "message": message}
        )

    async def message(self, body: str) -> Any:
        return await staff_post(
            self.client, self.case_url, self.case_url + "/messages", {"visibility": "public", "body": body}
        )


@pytest.fixture
async def clerk_of(person: Person) -> Any:
    opened: list[Client] = []

    async def make(tenant: TenantFixture, reference: str | None = None) -> Clerk:
        client = person(tenant.host)
        await client.__aenter__()
        opened.append(client)
        await login(client, tenant.clerk_email, tenant.password)
        inbox = await client.get("/staff" + (f"?q={reference}" if reference else ""))
        case_url = re.search(r'href="(/staff/cases/[0-9a-f-]{36})"', inbox.text).group(1)  # type: ignore[union-attr]
        return Clerk(client, case_url)

    yield make
    for client in opened:
        await client.__aexit__(None, None, None)


async def outbox(settings: Settings, **where: Any) -> list[OutboxMessage]:
    db = alchemy_config(settings)
    try:
        async with unscoped_session(db) as session:
            query = select(OutboxMessage)
            for name, value in where.items():
                query = query.where(getattr(OutboxMessage, name) == value)
            return list(await session.scalars(query.order_by(OutboxMessage.created_at)))
    finally:
        await db.get_engine().dispose()


async def count(settings: Settings, model: Any, **where: Any) -> int:
    db = alchemy_config(settings)
    try:
        async with unscoped_session(db) as session:
            query = select(func.count()).select_from(model)
            for name, value in where.items():
                query = query.where(getattr(model, name) == value)
            return int(await session.scalar(query) or 0)
    finally:
        await db.get_engine().dispose()


__all__ = ["Clerk", "count", "follow", "followed_case", "outbox", "submit_case"]
