"""Forgotten passwords: the same neutral answer for every address, a link by e-mail that works once within an
hour, the password rule, other sessions ended, and limits per address and per client."""

from __future__ import annotations

import datetime

import pytest
from sqlalchemy import select, update

from backend.accounts import password_pages
from backend.accounts.resets import PasswordReset
from backend.core.db import alchemy_config, tenant_session
from backend.notifications.models import OutboxMessage
from backend.settings import Settings
from tests.conftest import csrf_token
from tests.factories import TenantFixture
from tests.helpers import Client, login
from tests.integration.accounts.conftest import Deliver, link_in, logged_in, post_page

FORGOT = "/staff/password/forgot"
NEW_PASSWORD = "lantern-river-organ-1987"


@pytest.fixture(autouse=True)
def _english(client: Client) -> None:
    client.headers["Accept-Language"] = "en"


async def _ask(client: Client, address: str) -> str:
    asked = await post_page(client, FORGOT, FORGOT, {"email": address})
    assert asked.status_code == 303
    return (await client.get(asked.headers["location"])).text


async def _reset(client: Client, path: str, password: str, confirm: str | None = None):  # type: ignore[no-untyped-def]
    page = await client.get(path)
    return await client.post(
        path,
        data={"_csrf_token": csrf_token(page.text), "password": password, "password_confirm": confirm or password},
        follow_redirects=False,
    )


async def test_the_login_page_links_to_the_forgotten_password_page(client: Client) -> None:
    assert f'href="{FORGOT}"' in (await client.get("/staff/login")).text
    page = await client.get(FORGOT)
    assert page.status_code == 200 and 'name="email"' in page.text


async def test_known_and_unknown_addresses_get_the_same_answer_and_only_staff_get_mail(
    client: Client, tenant: TenantFixture, deliver: Deliver
) -> None:
    known = await _ask(client, tenant.clerk_email)
    unknown = await _ask(client, f"nobody@{tenant.slug}.example")
    assert known == unknown and "If this address belongs to a staff account" in known
    box = await deliver()
    assert box.to(f"nobody@{tenant.slug}.example") == []
    [mail] = box.to(tenant.clerk_email)
    assert link_in(mail).startswith("/staff/password/reset/") and tenant.name in mail["Subject"]


@pytest.mark.parametrize("address", ["", "no-at-sign"])
async def test_a_missing_address_is_refused_with_the_value_kept(client: Client, address: str) -> None:
    answer = await post_page(client, FORGOT, FORGOT, {"email": address})
    assert answer.status_code == 422 and 'id="email-error"' in answer.text and f'value="{address}"' in answer.text


async def test_the_link_sets_a_new_password_once_and_ends_the_other_sessions(
    client: Client, tenant: TenantFixture, deliver: Deliver, person
) -> None:
    async with person(tenant.host) as elsewhere:
        await logged_in(elsewhere, tenant.clerk_email, tenant.password)
        await _ask(client, tenant.clerk_email)
        path = link_in((await deliver()).to(tenant.clerk_email)[0])
        short = await _reset(client, path, "short")
        assert short.status_code == 422 and 'id="password-error"' in short.text
        different = await _reset(client, path, NEW_PASSWORD, NEW_PASSWORD + "x")
        assert different.status_code == 422 and "not the same" in different.text
        common = await _reset(client, path, "password1234")
        assert common.status_code == 422 and "too common" in common.text
        done = await _reset(client, path, NEW_PASSWORD)
        assert done.status_code == 303 and done.headers["location"] == "/staff"
        assert (await client.get("/staff", follow_redirects=False)).status_code == 200, "logged in with the new one"
        assert (await elsewhere.get("/staff", follow_redirects=False)).status_code in (302, 303, 401)
        again = await client.get(path)
        assert again.status_code == 410, "the link works once"
        assert (await login(elsewhere, tenant.clerk_email, tenant.password)).status_code == 200
        assert (await login(elsewhere, tenant.clerk_email, NEW_PASSWORD)).status_code == 303


async def test_a_link_older_than_an_hour_is_gone(
    client: Client, tenant: TenantFixture, deliver: Deliver, settings: Settings
) -> None:
    await _ask(client, tenant.clerk_email)
    path = link_in((await deliver()).to(tenant.clerk_email)[0])
    db = alchemy_config(settings)
    try:
        async with tenant_session(db, tenant.id) as session:
            past = datetime.datetime.now(datetime.UTC) - datetime.timedelta(seconds=1)
            await session.execute(update(PasswordReset).values(expires_at=past))
    finally:
        await db.get_engine().dispose()
    assert (await client.get(path)).status_code == 410
    token = csrf_token((await client.get(FORGOT)).text)
    data = {"_csrf_token": token, "password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD}
    assert (await client.post(path, data=data)).status_code == 410
    assert (await login(client, tenant.clerk_email, tenant.password)).status_code == 303


async def test_the_sent_link_is_not_kept_in_the_outbox(
    client: Client, tenant: TenantFixture, deliver: Deliver, settings: Settings
) -> None:
    await _ask(client, tenant.clerk_email)
    path = link_in((await deliver()).to(tenant.clerk_email)[0])
    db = alchemy_config(settings)
    try:
        async with tenant_session(db, tenant.id) as session:
            rows = list(await session.scalars(select(OutboxMessage).where(OutboxMessage.email == tenant.clerk_email)))
    finally:
        await db.get_engine().dispose()
    assert [r.status for r in rows] == ["sent"]
    assert path.rsplit("/", 1)[1] not in str(rows[0].payload)


async def test_requests_are_limited_per_address_and_per_client(
    client: Client, tenant: TenantFixture, deliver: Deliver, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(password_pages, "FORGOT_PER_ADDRESS", 2)
    monkeypatch.setattr(password_pages, "FORGOT_PER_CLIENT", 4)
    answers = [await _ask(client, tenant.clerk_email) for _ in range(3)]
    assert len(set(answers)) == 1, "over the limit for the address the answer stays the same"
    assert len((await deliver()).to(tenant.clerk_email)) == 2
    await _ask(client, tenant.admin_email)
    refused = await post_page(client, FORGOT, FORGOT, {"email": tenant.admin_email})
    assert refused.status_code == 429
