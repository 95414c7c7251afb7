"""A staff member sees where they are logged in, ends one session or all of them, and a session that sat idle
for 30 minutes ends by itself; logging out ends the session's row too."""

from __future__ import annotations

import datetime
import re

from sqlalchemy import func, select, update

from backend.accounts.models import StaffSession
from backend.core.db import alchemy_config, unscoped_session
from backend.settings import Settings
from tests.conftest import Person, csrf_token
from tests.factories import TenantFixture
from tests.helpers import Client, login

PAGE = "/staff/account/sessions"


async def _rows(settings: Settings) -> int:
    db = alchemy_config(settings)
    try:
        async with unscoped_session(db) as session:
            return int(await session.scalar(select(func.count()).select_from(StaffSession)) or 0)
    finally:
        await db.get_engine().dispose()


async def _logged_in(client: Client) -> bool:
    return (await client.get("/staff", follow_redirects=False)).status_code == 200


async def test_the_list_shows_each_browser_and_ending_one_logs_it_out(
    client: Client, tenant: TenantFixture, person: Person
) -> None:
    await login(client, tenant.clerk_email, tenant.password)
    async with person(tenant.host) as laptop:
        laptop.headers["User-Agent"] = "Mozilla/5.0 (Windows NT 10.0) Firefox/133.0"
        await login(laptop, tenant.clerk_email, tenant.password)
        page = await client.get(PAGE, headers={"Accept-Language": "en"})
        assert page.status_code == 200
        assert "Firefox · Windows" in page.text and "(this browser)" in page.text
        [other] = re.findall(r'action="(/staff/account/sessions/[0-9a-f-]{36}/end)"', page.text)
        ended = await client.post(other, data={"_csrf_token": csrf_token(page.text)}, follow_redirects=False)
        assert ended.headers["location"] == f"{PAGE}?done=ended"
        assert not await _logged_in(laptop)
        assert await _logged_in(client)


async def test_sign_out_everywhere(client: Client, tenant: TenantFixture, person: Person) -> None:
    await login(client, tenant.clerk_email, tenant.password)
    async with person(tenant.host) as laptop:
        await login(laptop, tenant.clerk_email, tenant.password)
        page = await client.get(PAGE)
        done = await client.post(f"{PAGE}/end-all", data={"_csrf_token": csrf_token(page.text)}, follow_redirects=False)
        assert done.headers["location"] == "/staff/login?logged_out=1"
        assert not await _logged_in(laptop) and not await _logged_in(client)


async def test_a_session_idle_for_thirty_minutes_ends(
    client: Client, tenant: TenantFixture, settings: Settings
) -> None:
    await login(client, tenant.clerk_email, tenant.password)
    assert await _logged_in(client)
    db = alchemy_config(settings)
    try:
        async with unscoped_session(db) as session:
            long_ago = datetime.datetime.now(datetime.UTC) - datetime.timedelta(minutes=31)
            await session.execute(update(StaffSession).values(last_seen_at=long_ago))
    finally:
        await db.get_engine().dispose()
    held = await client.get("/staff", follow_redirects=False)
    assert held.status_code == 303 and held.headers["location"].startswith("/staff/login")


async def test_logging_out_removes_the_session(client: Client, tenant: TenantFixture, settings: Settings) -> None:
    before = await _rows(settings)
    await login(client, tenant.clerk_email, tenant.password)
    assert await _rows(settings) == before + 1
    page = await client.get("/staff")
    await client.post("/staff/logout", data={"_csrf_token": csrf_token(page.text)})
    assert await _rows(settings) == before


async def test_another_persons_session_cannot_be_ended(
    client: Client, tenant: TenantFixture, person: Person, settings: Settings
) -> None:
    async with person(tenant.host) as admin:
        await login(admin, tenant.admin_email, tenant.password)
        db = alchemy_config(settings)
        try:
            async with unscoped_session(db) as session:
                admins = await session.scalar(
                    select(StaffSession.id)
                    .where(StaffSession.tenant_id == tenant.id)
                    .order_by(StaffSession.created_at.desc())
                )
        finally:
            await db.get_engine().dispose()
        await login(client, tenant.clerk_email, tenant.password)
        page = await client.get(PAGE)
        tried = await client.post(
            f"{PAGE}/{admins}/end", data={"_csrf_token": csrf_token(page.text)}, follow_redirects=False
        )
        assert tried.headers["location"] == PAGE  # nothing was ended
        assert await _logged_in(admin)
