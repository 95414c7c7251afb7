"""A disabled municipality shows a neutral "not available" page on every route and sends nothing."""

from __future__ import annotations

import asyncio

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import delete

from backend.__main__ import main
from backend.app import create_app
from backend.core.db import alchemy_config, unscoped_session
from backend.notifications.delivery import Deliverer
from backend.notifications.models import OutboxMessage
from backend.settings import Settings
from tests.factories import TenantFixture
from tests.helpers import Client
from tests.integration.notifications.conftest import FAST, clerk_of, outbox, submit_case

__all__ = ["clerk_of"]  # a fixture used here


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch, settings: Settings) -> None:
    monkeypatch.setenv("RATHAUS_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("RATHAUS_DATA_DIR", str(settings.data_dir))


ROUTES = ["/", "/s/street-light", "/s/street-light/form", "/staff/login", "/manifest.webmanifest", "/sw.js", "/staff"]


async def test_every_route_of_a_disabled_town_answers_a_neutral_not_available_page(
    settings: Settings, tenant: TenantFixture
) -> None:
    await asyncio.to_thread(main, ["tenant", "disable", tenant.slug])
    async with AsyncTestClient(create_app(settings), base_url=f"http://{tenant.host}") as c:
        for path in ROUTES:
            page = await c.get(path, headers={"Accept-Language": "de"})
            assert page.status_code == 503, path
            assert tenant.name not in page.text and tenant.slug not in page.text, path
            assert "Dieser Dienst ist nicht verfügbar" in page.text, path
        english = await c.get("/", headers={"Accept-Language": "en"})
        assert english.status_code == 503 and "This service is not available" in english.text
        post = await c.post("/s/street-light/form", data={"x": "1"})
        assert post.status_code == 503
        unknown = await c.get("/gibt-es-nicht")  # no route at all: the plain 404, naming no town either
        assert unknown.status_code == 404 and tenant.name not in unknown.text
        assert (await c.get("/health")).status_code == 200  # the platform's own check still answers

    await asyncio.to_thread(main, ["tenant", "enable", tenant.slug])
    async with AsyncTestClient(create_app(settings), base_url=f"http://{tenant.host}") as c:
        home = await c.get("/")
        assert home.status_code == 200 and tenant.name in home.text


async def test_the_worker_sends_nothing_for_a_disabled_town_and_catches_up_when_enabled(
    settings: Settings, client: Client, tenant: TenantFixture, clerk_of
) -> None:
    db = alchemy_config(settings)
    async with unscoped_session(db) as session:
        await session.execute(delete(OutboxMessage))  # other tests leave notifications behind
    await db.get_engine().dispose()
    await submit_case(client, tenant, photo=False)
    await (await clerk_of(tenant)).set_status("in_review")
    [row] = await outbox(settings, tenant_id=tenant.id)

    await asyncio.to_thread(main, ["tenant", "disable", tenant.slug])
    worker = Deliverer(alchemy_config(settings), settings, policy=FAST)
    try:
        assert await worker.run_once() == 0
        [still] = await outbox(settings, tenant_id=tenant.id)
        assert (still.status, still.attempts, still.claimed_until) == ("pending", row.attempts, None)

        await asyncio.to_thread(main, ["tenant", "enable", tenant.slug])
        assert await worker.run_once() == 1
    finally:
        await worker.aclose()
        await worker.db.get_engine().dispose()
