"""A flaky connection's retries: many copies of one submission at once make one case, cheaply, with no error."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import httpx
import pytest
from advanced_alchemy.extensions.litestar import SQLAlchemyAsyncConfig
from sqlalchemy import func, select

from backend.cases.models import Case, Draft
from backend.core.db import alchemy_config, tenant_session
from backend.settings import Settings
from tests.factories import TenantFixture
from tests.helpers import VALID_ANSWERS, hidden_fields
from tests.integration.cases.conftest import Live, browser, csrf


@pytest.fixture
async def db(settings: Settings) -> AsyncIterator[SQLAlchemyAsyncConfig]:
    config = alchemy_config(settings)
    yield config
    await config.get_engine().dispose()


async def _review(client: httpx.AsyncClient, tenant: TenantFixture, key: str) -> dict[str, list[str]]:
    form = f"/s/{tenant.service_slug}/form"
    token = await csrf(client, form)
    page = await client.post(
        form, data={"_csrf_token": token, "idempotency_key": key, **VALID_ANSWERS}, follow_redirects=True
    )
    assert "/review/" in str(page.url), page.text
    fields: dict[str, list[str]] = {}
    for name, value in hidden_fields(page.text):
        fields.setdefault(name, []).append(value.replace("&#39;", "'").replace("&amp;", "&"))
    return fields


async def _submit(client: httpx.AsyncClient, tenant: TenantFixture, fields: dict[str, list[str]]) -> httpx.Response:
    return await client.post(f"/s/{tenant.service_slug}/submit", data=fields)


async def _count(db: SQLAlchemyAsyncConfig, tenant: TenantFixture, key: str) -> int:
    async with tenant_session(db, tenant.id) as session:
        return await session.scalar(select(func.count(Case.id)).where(Case.idempotency_key == key)) or 0


async def test_thirty_two_copies_at_once_make_one_case_and_other_municipalities_stay_responsive(
    live: Live, tenant: TenantFixture, other_tenant: TenantFixture, db: SQLAlchemyAsyncConfig
) -> None:
    key = "flaky-phone-key-0123456789"
    with live() as server:
        async with browser(server, tenant) as phone, browser(server, other_tenant) as neighbour:
            fields = await _review(phone, tenant, key)
            copies = [asyncio.create_task(_submit(phone, tenant, fields)) for _ in range(32)]
            await asyncio.sleep(0.05)
            started = time.perf_counter()
            elsewhere = await neighbour.get("/")
            waited = time.perf_counter() - started
            answers = await asyncio.gather(*copies)
    assert [a.status_code for a in answers] == [303] * 32
    assert len({a.headers["location"] for a in answers}) == 1
    assert answers[0].headers["location"].startswith("/r/")
    assert await _count(db, tenant, key) == 1
    assert elsewhere.status_code == 200
    assert waited < 15  # the pool's timeout was 30 s: no request of another municipality queues behind these


async def test_copies_sent_to_two_processes_at_once_make_one_case(
    live: Live, tenant: TenantFixture, db: SQLAlchemyAsyncConfig
) -> None:
    key = "two-process-key-0123456789"
    with live() as first, live() as second:
        async with browser(first, tenant) as phone:
            fields = await _review(phone, tenant, key)
            cookies = phone.cookies
            async with browser(second, tenant) as same_phone:
                same_phone.cookies = cookies
                answers = await asyncio.gather(
                    *(_submit(phone if i % 2 else same_phone, tenant, fields) for i in range(32))
                )
    assert [a.status_code for a in answers] == [303] * 32
    assert len({a.headers["location"] for a in answers}) == 1
    assert await _count(db, tenant, key) == 1


async def test_a_double_tap_on_continue_keeps_one_draft_and_both_get_the_review(
    live: Live, tenant: TenantFixture, db: SQLAlchemyAsyncConfig
) -> None:
    key = "double-continue-key-0123"
    form = f"/s/{tenant.service_slug}/form"
    with live() as server:
        async with browser(server, tenant) as phone:
            token = await csrf(phone, form)
            data = {"_csrf_token": token, "idempotency_key": key, **VALID_ANSWERS}
            answers = await asyncio.gather(*(phone.post(form, data=data) for _ in range(8)))
    assert [a.status_code for a in answers] == [303] * 8
    assert {a.headers["location"] for a in answers} == {f"/s/{tenant.service_slug}/review/{key}"}
    async with tenant_session(db, tenant.id) as session:
        assert await session.scalar(select(func.count(Draft.id)).where(Draft.key == key)) == 1
