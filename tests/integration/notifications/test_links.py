"""Links in notifications go to the municipality's public address: its custom host, the served port."""

from __future__ import annotations

import email
import email.policy
import re
from dataclasses import replace
from pathlib import Path

from backend.core.db import alchemy_config, unscoped_session
from backend.notifications.delivery import Deliverer
from backend.settings import Settings
from backend.tenants.models import TenantHost
from tests.factories import TenantFixture
from tests.helpers import Client
from tests.integration.notifications.conftest import FAST, follow, submit_case
from tests.pushservice import PushService


async def deliver(settings: Settings) -> None:
    worker = Deliverer(alchemy_config(settings), settings, policy=FAST)
    try:
        await worker.run_once()
    finally:
        await worker.aclose()
        await worker.db.get_engine().dispose()


def mailed_links(mail_dir: Path) -> list[str]:
    [path] = list(mail_dir.glob("*.eml"))
    mail = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    body = mail.get_content()  # type: ignore[attr-defined]
    # The page's link and its answer form's (#reply): both must be on the public address.
    return sorted({line.split("#", 1)[0] for line in body.splitlines() if line.startswith("http")})


async def add_host(settings: Settings, tenant: TenantFixture, host: str) -> None:
    db = alchemy_config(settings)
    try:
        async with unscoped_session(db) as session:
            session.add(TenantHost(tenant_id=tenant.id, host=host))
    finally:
        await db.get_engine().dispose()


async def test_push_and_email_links_carry_the_served_port(
    client: Client, tenant: TenantFixture, push: PushService, clerk_of, settings: Settings, tmp_path: Path
) -> None:
    served = replace(settings, port=8123, data_dir=tmp_path)
    followed = await submit_case(client, tenant, key="followed-case-key-01234567", photo=False)
    device = push.subscribe()
    assert (await follow(client, followed, device)).status_code == 201
    mailed = await submit_case(client, tenant, key="mailed-case-key-0123456789", photo=False)
    for tracking in (followed, mailed):
        await (await clerk_of(tenant, await _reference(client, tracking))).set_status("in_review")
    await deliver(served)

    [got] = push.delivered(device)
    assert got.payload is not None
    assert got.payload["url"] == f"http://{tenant.slug}.localhost:8123{followed}"
    assert mailed_links(tmp_path / "mail") == [f"http://{tenant.slug}.localhost:8123{mailed}"]


async def test_links_go_to_the_municipalitys_first_custom_host(
    client: Client, tenant: TenantFixture, push: PushService, clerk_of, settings: Settings, tmp_path: Path
) -> None:
    await add_host(settings, tenant, f"buergerservice-{tenant.slug}.example")
    await add_host(settings, tenant, f"alias-{tenant.slug}.example")
    served = replace(settings, data_dir=tmp_path, https=True, public_port=443)
    followed = await submit_case(client, tenant, key="followed-case-key-01234567", photo=False)
    device = push.subscribe()
    assert (await follow(client, followed, device)).status_code == 201
    mailed = await submit_case(client, tenant, key="mailed-case-key-0123456789", photo=False)
    for tracking in (followed, mailed):
        await (await clerk_of(tenant, await _reference(client, tracking))).set_status("in_review")
    await deliver(served)

    origin = f"https://buergerservice-{tenant.slug}.example"
    [got] = push.delivered(device)
    assert got.payload is not None and got.payload["url"] == f"{origin}{followed}"
    assert mailed_links(tmp_path / "mail") == [f"{origin}{mailed}"]


async def _reference(client: Client, tracking: str) -> str:
    page = (await client.get(tracking)).text
    return re.search(r"<strong>(\d{4}-\d{5})</strong>", page).group(1)  # type: ignore[union-attr]
