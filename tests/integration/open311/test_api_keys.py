"""API keys: made by the municipality's admin in the browser or by the operator's command, shown once, stored as
a hash, revoked by either; a key works for its own municipality and scopes only."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import select

from backend.__main__ import main
from backend.accounts.api_keys import ApiKey, hash_key
from backend.core.db import alchemy_config, tenant_session
from backend.settings import Settings
from tests.conftest import csrf_token
from tests.factories import TenantFixture
from tests.helpers import login

pytestmark = pytest.mark.asyncio

KEY_RE = re.compile(r"rk_[A-Za-z0-9_-]{43}")
POST = {
    "service_code": "street-light",
    "address_string": "Hauptstraße 12",
    "attribute[what]": "Die Laterne ist dunkel.",
}


async def stored_keys(settings: Settings, tenant: TenantFixture) -> list[ApiKey]:
    db = alchemy_config(settings)
    try:
        async with tenant_session(db, tenant.id) as session:
            return list(await session.scalars(select(ApiKey)))
    finally:
        await db.get_engine().dispose()


async def _admin(person: Any, tenant: TenantFixture) -> AsyncTestClient[Litestar]:
    admin = person(tenant.host)
    await admin.__aenter__()
    assert (await login(admin, tenant.admin_email, tenant.password)).status_code == 303
    return admin


async def test_admin_creates_a_key_that_is_shown_once_and_revokes_it(
    client: AsyncTestClient[Litestar], tenant: TenantFixture, settings: Settings, person: Any
) -> None:
    admin = await _admin(person, tenant)
    try:
        page = await admin.get("/staff/admin/api-keys")
        assert page.status_code == 200 and page.headers["cache-control"] == "no-store"
        assert 'href="/staff/admin/api-keys"' in (await admin.get("/staff/admin")).text
        made = await admin.post(
            "/staff/admin/api-keys",
            data={"_csrf_token": csrf_token(page.text), "name": "Bauhof-Software", "scopes": ["read", "write"]},
        )
        assert made.status_code == 200
        (secret,) = set(KEY_RE.findall(made.text))
        (key,) = await stored_keys(settings, tenant)
        assert key.key_hash == hash_key(secret) and secret not in (key.key_hash, key.prefix)
        assert key.scopes == "read,write" and key.created_by == "Anna Admin"
        again = await admin.get("/staff/admin/api-keys")
        assert secret not in again.text and "Bauhof-Software" in again.text and key.prefix in again.text

        works = await client.post("/open311/v2/requests.json", data={**POST, "api_key": secret})
        assert works.status_code == 201, works.text

        revoked = await admin.post(
            f"/staff/admin/api-keys/{key.id}/revoke",
            data={"_csrf_token": csrf_token(again.text)},
            follow_redirects=False,
        )
        assert revoked.status_code == 303 and revoked.headers["location"] == "/staff/admin/api-keys?revoked=1"
        refused = await client.post("/open311/v2/requests.json", data={**POST, "api_key": secret})
        assert refused.status_code == 403
        listing = await admin.get("/staff/admin/api-keys?revoked=1")
        assert f"/staff/admin/api-keys/{key.id}/revoke" not in listing.text
    finally:
        await admin.__aexit__(None, None, None)


async def test_the_form_names_its_problems_and_keeps_the_input(
    tenant: TenantFixture, settings: Settings, person: Any
) -> None:
    admin = await _admin(person, tenant)
    try:
        page = await admin.get("/staff/admin/api-keys")
        answer = await admin.post(
            "/staff/admin/api-keys", data={"_csrf_token": csrf_token(page.text), "name": "Geo-Portal"}
        )
        assert answer.status_code == 422
        assert 'value="Geo-Portal"' in answer.text and 'class="error-summary"' in answer.text
        nameless = await admin.post(
            "/staff/admin/api-keys", data={"_csrf_token": csrf_token(page.text), "name": " ", "scopes": "read"}
        )
        assert nameless.status_code == 422 and 'aria-invalid="true"' in nameless.text
        assert await stored_keys(settings, tenant) == []
    finally:
        await admin.__aexit__(None, None, None)


async def test_only_the_municipalitys_admins_manage_its_keys(
    tenant: TenantFixture, other_tenant: TenantFixture, settings: Settings, person: Any
) -> None:
    async with person(tenant.host) as clerk:
        assert (await login(clerk, tenant.clerk_email, tenant.password)).status_code == 303
        assert (await clerk.get("/staff/admin/api-keys")).status_code == 403
    other = await _admin(person, other_tenant)
    own = await _admin(person, tenant)
    try:
        page = await own.get("/staff/admin/api-keys")
        await own.post(
            "/staff/admin/api-keys", data={"_csrf_token": csrf_token(page.text), "name": "A", "scopes": "write"}
        )
        (key,) = await stored_keys(settings, tenant)
        their_page = await other.get("/staff/admin/api-keys")
        assert "A" not in re.findall(r"<td>([^<]*)", their_page.text)
        foreign = await other.post(
            f"/staff/admin/api-keys/{key.id}/revoke", data={"_csrf_token": csrf_token(their_page.text)}
        )
        assert foreign.status_code == 404
        assert (await stored_keys(settings, tenant))[0].revoked_at is None
    finally:
        await own.__aexit__(None, None, None)
        await other.__aexit__(None, None, None)


def _env(monkeypatch: pytest.MonkeyPatch, settings: Settings) -> None:
    monkeypatch.setenv("RATHAUS_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("RATHAUS_DATA_DIR", str(settings.data_dir))


async def test_operator_creates_lists_and_revokes_keys_from_the_command_line(
    monkeypatch: pytest.MonkeyPatch,
    settings: Settings,
    tenant: TenantFixture,
    other_tenant: TenantFixture,
    client: AsyncTestClient[Litestar],
    capsys: pytest.CaptureFixture[str],
    person: Any,
) -> None:
    _env(monkeypatch, settings)
    await asyncio.to_thread(main, ["apikey", "create", "--tenant", tenant.slug, "--scopes", "read,write"])
    out = capsys.readouterr().out
    (secret,) = KEY_RE.findall(out)
    assert out.startswith(secret) and "shown only this once" in out
    (key,) = await stored_keys(settings, tenant)
    assert key.key_hash == hash_key(secret) and key.scopes == "read,write"

    assert (await client.post("/open311/v2/requests.json", data={**POST, "api_key": secret})).status_code == 201
    async with person(other_tenant.host) as elsewhere:  # the key of one municipality is no key of another
        assert (await elsewhere.post("/open311/v2/requests.json", data={**POST, "api_key": secret})).status_code == 403

    await asyncio.to_thread(main, ["apikey", "list", "--tenant", tenant.slug])
    listing = capsys.readouterr().out
    assert str(key.id) in listing and key.prefix in listing and secret not in listing and "active" in listing

    with pytest.raises(SystemExit, match="no such key"):
        await asyncio.to_thread(main, ["apikey", "revoke", str(key.id), "--tenant", other_tenant.slug])
    await asyncio.to_thread(main, ["apikey", "revoke", str(key.id), "--tenant", tenant.slug])
    assert "revoked" in capsys.readouterr().out
    assert (await client.post("/open311/v2/requests.json", data={**POST, "api_key": secret})).status_code == 403

    for scopes, message in (("admin", "unknown scope"), (",", "at least one scope")):
        with pytest.raises(SystemExit, match=message):
            await asyncio.to_thread(main, ["apikey", "create", "--tenant", tenant.slug, "--scopes", scopes])
    with pytest.raises(SystemExit, match="no municipality"):
        await asyncio.to_thread(main, ["apikey", "create", "--tenant", "nowhere", "--scopes", "read"])
    with pytest.raises(SystemExit):
        await asyncio.to_thread(main, ["apikey", "create", "--scopes", "read"])  # --tenant is required
