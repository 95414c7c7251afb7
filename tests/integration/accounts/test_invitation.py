"""The invitation link: a new staff member sets a good password once and is logged in; used, expired and
unknown links get a clear page; an existing account is never given a new password through a link."""

from __future__ import annotations

import asyncio
import datetime

import pytest
from litestar import Litestar
from sqlalchemy import select

from backend.accounts.invitations import Invitation, invite
from backend.accounts.services import AccountService
from backend.core.db import alchemy_config, tenant_session
from backend.settings import Settings
from backend.tenants.services import TenantService, to_context
from tests.conftest import csrf_token
from tests.factories import TenantFixture
from tests.helpers import Client, login

NEW_PASSWORD = "lantern-river-organ-1987"


@pytest.fixture(autouse=True)
def _english(client: Client) -> None:
    client.headers["Accept-Language"] = "en"


async def _invite(
    settings: Settings, tenant: TenantFixture, email: str, *, role: str = "admin", age: datetime.timedelta | None = None
) -> str:
    db = alchemy_config(settings)
    try:
        async with tenant_session(db, tenant.id) as session:
            ctx = to_context(await TenantService(session).by_slug(tenant.slug))  # type: ignore[arg-type]
            accounts = AccountService(session, ctx)
            # As at roll-in: an existing account of that address is reused and gets a membership here.
            user = await accounts.add_staff(email, "unknown-to-anyone-" + email, email, role)
            now = datetime.datetime.now(datetime.UTC) - (age or datetime.timedelta())
            return "/staff/invite/" + await invite(session, ctx, user, role, now=now)
    finally:
        await db.get_engine().dispose()


async def _set_password(client: Client, path: str, password: str, repeat: str | None = None):  # type: ignore[no-untyped-def]
    page = await client.get(path)
    assert page.status_code == 200, page.text
    return await client.post(
        path,
        data={"_csrf_token": csrf_token(page.text), "password": password, "password_repeat": repeat or password},
        follow_redirects=False,
    )


async def test_invitation_page_shows_the_municipality_and_the_invited_address(
    client: Client, tenant: TenantFixture, settings: Settings
) -> None:
    path = await _invite(settings, tenant, f"new.admin@{tenant.slug}.example")
    page = await client.get(path)
    assert page.status_code == 200
    assert tenant.name in page.text and f"new.admin@{tenant.slug}.example" in page.text
    assert 'autocomplete="new-password"' in page.text


async def test_accepting_once_sets_the_password_and_the_admin_reaches_the_staff_area(
    client: Client, tenant: TenantFixture, settings: Settings, app: Litestar
) -> None:
    path = await _invite(settings, tenant, f"new.admin@{tenant.slug}.example")
    before = client.cookies.get("rathaus_session")
    done = await _set_password(client, path, NEW_PASSWORD)
    assert done.status_code == 303 and done.headers["location"] == "/staff"
    assert client.cookies.get("rathaus_session") not in (None, before)
    staff = await client.get("/staff", follow_redirects=False)
    assert staff.status_code == 200 and f"new.admin@{tenant.slug}.example" in staff.text
    await client.post("/staff/logout", data={"_csrf_token": csrf_token(staff.text)})
    assert (await login(client, f"new.admin@{tenant.slug}.example", NEW_PASSWORD)).status_code == 303


async def test_a_used_invitation_link_is_gone(client: Client, tenant: TenantFixture, settings: Settings) -> None:
    path = await _invite(settings, tenant, f"new.admin@{tenant.slug}.example")
    assert (await _set_password(client, path, NEW_PASSWORD)).status_code == 303
    again = await client.get(path)
    assert again.status_code == 410 and "/staff/login" in again.text
    token = csrf_token((await client.get("/staff")).text)
    reuse = await client.post(path, data={"_csrf_token": token, "password": "x" * 20, "password_repeat": "x" * 20})
    assert reuse.status_code == 410
    assert (await login(client, f"new.admin@{tenant.slug}.example", "x" * 20)).status_code == 200, "the password stayed"


async def test_two_tabs_racing_accept_the_invitation_only_once(
    client: Client, tenant: TenantFixture, settings: Settings
) -> None:
    path = await _invite(settings, tenant, f"new.admin@{tenant.slug}.example")
    token = csrf_token((await client.get(path)).text)
    answers = await asyncio.gather(
        *(
            client.post(path, data={"_csrf_token": token, "password": p, "password_repeat": p}, follow_redirects=False)
            for p in (NEW_PASSWORD, NEW_PASSWORD + "-other")
        )
    )
    assert sorted(a.status_code for a in answers) == [303, 410]


async def test_an_expired_invitation_link_is_gone(client: Client, tenant: TenantFixture, settings: Settings) -> None:
    path = await _invite(settings, tenant, f"late@{tenant.slug}.example", age=datetime.timedelta(hours=73))
    page = await client.get(path)
    assert page.status_code == 410 and "72" in page.text


async def test_an_unknown_invitation_link_is_not_found(client: Client) -> None:
    assert (await client.get("/staff/invite/" + "A" * 43)).status_code == 404


async def test_an_invitation_of_another_municipality_is_not_found_here(
    client: Client, other_tenant: TenantFixture, settings: Settings
) -> None:
    path = await _invite(settings, other_tenant, f"elsewhere@{other_tenant.slug}.example")
    assert (await client.get(path)).status_code == 404


async def test_short_common_and_mismatched_passwords_are_refused_with_a_reason(
    client: Client, tenant: TenantFixture, settings: Settings
) -> None:
    path = await _invite(settings, tenant, f"new.admin@{tenant.slug}.example")
    for password, repeat, reason in [
        ("short-pass", None, "at least 12 characters"),
        ("Password1234", None, "too common"),
        (NEW_PASSWORD, NEW_PASSWORD + "x", "not the same"),
    ]:
        answer = await _set_password(client, path, password, repeat)
        assert answer.status_code == 200 and reason in answer.text, (password, answer.text)
    assert (await client.get("/staff", follow_redirects=False)).status_code != 200
    assert (await _set_password(client, path, NEW_PASSWORD)).status_code == 303, "still usable after mistakes"


async def test_an_existing_account_keeps_its_password_and_accepts_by_logging_in(
    client: Client, tenant: TenantFixture, other_tenant: TenantFixture, settings: Settings
) -> None:
    # The admin of another municipality is invited here: the link holder must not be able to set a password.
    path = await _invite(settings, tenant, other_tenant.admin_email)
    page = await client.get(path)
    assert 'autocomplete="current-password"' in page.text and "new-password" not in page.text
    token = csrf_token(page.text)
    takeover = await client.post(
        path, data={"_csrf_token": token, "password": NEW_PASSWORD, "password_repeat": NEW_PASSWORD}
    )
    assert takeover.status_code == 200 and "not correct" in takeover.text
    accepted = await client.post(
        path, data={"_csrf_token": token, "password": other_tenant.password}, follow_redirects=False
    )
    assert accepted.status_code == 303
    assert (await client.get("/staff", follow_redirects=False)).status_code == 200
    assert (await client.get(path)).status_code == 410
    db = alchemy_config(settings)
    try:
        async with tenant_session(db, tenant.id) as session:
            row = await session.scalar(select(Invitation).where(Invitation.accepted_at.is_not(None)))
            assert row is not None
    finally:
        await db.get_engine().dispose()
