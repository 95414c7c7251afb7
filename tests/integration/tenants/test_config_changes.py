"""A municipality's change saved on one app instance shows on every other instance at once (tenants/changes.py),
not only when that instance's caches run out (30 s)."""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import secrets
from collections.abc import AsyncIterator

import pytest
from litestar.testing import AsyncTestClient

from backend.__main__ import main
from backend.app import create_app
from backend.core.db import alchemy_config, tenant_session
from backend.news.models import NewsItem
from backend.settings import Settings
from tests.factories import TenantFixture
from tests.helpers import Client, login, staff_post


@contextlib.asynccontextmanager
async def two_instances(settings: Settings, tenant: TenantFixture) -> AsyncIterator[tuple[Client, Client]]:
    """Two app instances on one database, the second listening for announced changes."""
    one, two = create_app(settings), create_app(settings)
    base = f"http://{tenant.host}"
    async with AsyncTestClient(one, base_url=base) as first, AsyncTestClient(two, base_url=base) as second:
        await asyncio.wait_for(two.state.listening_for_changes.wait(), timeout=10)
        yield first, second


async def _changed_on_the_other(client: AsyncTestClient, path: str, wanted: str) -> bool:
    for _ in range(50):  # bounded: 5 s, far below the caches' 30 s
        if wanted in (await client.get(path)).text:
            return True
        await asyncio.sleep(0.1)
    return False


async def test_a_branding_and_a_wording_change_on_one_instance_show_on_another_at_once(
    settings: Settings, tenant: TenantFixture
) -> None:
    if settings.is_sqlite:
        pytest.skip("the embedded default is one process: there is no other instance to tell")
    async with two_instances(settings, tenant) as (admin, citizen):
        before = (await citizen.get("/", headers={"Accept-Language": "en"})).text
        assert "Stadt Nordhafen" not in before  # the other instance now holds the old branding in its cache

        assert (await login(admin, tenant.admin_email, tenant.password)).status_code == 303
        colours = {
            "primary_color": "#0b6e4f",
            "primary_color_text": "#0b6e4f",
            "accent_color": "#005a9c",
            "accent_color_text": "#005a9c",
        }
        branding = "/staff/admin/branding"
        saved = await staff_post(admin, branding, branding, {"name": "Stadt Nordhafen", **colours})
        assert saved.status_code == 303, saved.text
        assert await _changed_on_the_other(citizen, "/", "Stadt Nordhafen")

        # The municipality's own wording of a text (core/i18n.py's OverrideCache) follows the same way.
        assert "Womit dürfen wir helfen?" not in (await citizen.get("/")).text
        wording = {"msgid": "What can we do for you?", "q": "", "override_de": "Womit dürfen wir helfen?"}
        worded = await staff_post(admin, "/staff/admin/texts", "/staff/admin/texts", {**wording, "override_en": ""})
        assert worded.status_code == 303, worded.text
        assert await _changed_on_the_other(citizen, "/", "Womit dürfen wir helfen?")


@contextlib.asynccontextmanager
async def instance_beside_the_command(
    settings: Settings, host: str, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Client]:
    """A running instance that listens for changes, and the `rathaus` command set up for its database."""
    if settings.is_sqlite:
        pytest.skip("the embedded default is one process: there is no other instance to tell")
    monkeypatch.setenv("RATHAUS_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("RATHAUS_DATA_DIR", str(settings.data_dir))
    app = create_app(settings)
    async with AsyncTestClient(app, base_url=f"http://{host}") as client:
        await asyncio.wait_for(app.state.listening_for_changes.wait(), timeout=10)
        yield client


async def _home_answers(client: Client, status: int) -> bool:
    for _ in range(50):  # bounded: 5 s, far below the cache's 30 s
        if (await client.get("/")).status_code == status:
            return True
        await asyncio.sleep(0.1)
    return False


async def test_disabling_a_municipality_with_the_command_reaches_a_running_instance_at_once(
    settings: Settings, tenant: TenantFixture, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    async with instance_beside_the_command(settings, tenant.host, monkeypatch) as citizen:
        assert (await citizen.get("/")).status_code == 200  # the running instance now holds the town in its cache
        try:
            await asyncio.to_thread(main, ["tenant", "disable", tenant.slug])
            assert "told and show the change at once" in capsys.readouterr().out
            assert await _home_answers(citizen, 503)
        finally:
            await asyncio.to_thread(main, ["tenant", "enable", tenant.slug])
        assert (await citizen.get("/")).status_code == 200


async def test_a_municipality_rolled_in_with_the_command_answers_on_a_running_instance_at_once(
    settings: Settings, tenant: TenantFixture, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    slug = f"neu-{secrets.token_hex(4)}"
    async with instance_beside_the_command(settings, f"{slug}.{settings.base_domain}", monkeypatch) as citizen:
        # Someone tried the address before the roll-in: the instance now keeps it as unknown.
        assert (await citizen.get("/")).status_code == 404
        args = ["tenant", "create", slug, "--name", "Gemeinde Neuhausen", "--state", "BY"]
        await asyncio.to_thread(main, [*args, "--admin-email", f"admin@{slug}.example"])
        assert "told and show the change at once" in capsys.readouterr().out
        assert await _home_answers(citizen, 200)
        assert "Gemeinde Neuhausen" in (await citizen.get("/")).text


# --- what the home page keeps: services and current news ------------------------------------------------


async def test_a_service_adopted_on_one_instance_shows_on_every_instances_home_page_at_once(
    settings: Settings, tenant: TenantFixture
) -> None:
    async with two_instances(settings, tenant) as (admin, citizen):
        link = 'href="/s/hundeanmeldung"'
        # Both instances keep the home page's services now, without the dog registration.
        assert link not in (await admin.get("/")).text and link not in (await citizen.get("/")).text

        assert (await login(admin, tenant.admin_email, tenant.password)).status_code == 303
        adopted = await staff_post(admin, "/staff/admin/catalogue", "/staff/admin/catalogue/hundeanmeldung/adopt", {})
        assert adopted.status_code == 303
        assert link in (await admin.get("/")).text, "the instance that saved it forgets at once"
        if settings.is_sqlite:
            return  # one process serves the embedded default: there is no other instance to tell
        assert await _changed_on_the_other(citizen, "/", link)


async def test_an_announcement_shows_on_the_home_page_when_it_starts_though_the_page_is_kept(
    settings: Settings, tenant: TenantFixture
) -> None:
    app = create_app(settings)
    async with AsyncTestClient(app, base_url=f"http://{tenant.host}") as citizen:
        starts = datetime.datetime.now(datetime.UTC) + datetime.timedelta(seconds=1.5)
        db = alchemy_config(settings)
        async with tenant_session(db, tenant.id) as session:
            session.add(
                NewsItem(
                    tenant_id=tenant.id,
                    title="Wasserrohrbruch in der Hauptstraße",
                    text="Bitte umfahren.",
                    category="traffic",
                    valid_from=starts,
                    push_round=1,
                    pushed_round=1,
                )
            )
        await db.get_engine().dispose()
        assert "Wasserrohrbruch" not in (await citizen.get("/")).text  # kept now, but only until it starts
        await asyncio.sleep(max(0.0, (starts - datetime.datetime.now(datetime.UTC)).total_seconds()) + 0.2)
        assert "Wasserrohrbruch" in (await citizen.get("/")).text
