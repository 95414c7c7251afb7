"""Saved views: a staff member names the inbox's filters, finds them as links on the inbox page, deletes them;
nobody else sees or deletes them."""

from __future__ import annotations

import datetime
import html
import re
from typing import Any

import pytest
from litestar import Litestar
from sqlalchemy import func, select

from backend.core.db import alchemy_config, unscoped_session
from backend.inbox import views as saved_views
from backend.inbox.models import SavedView
from backend.settings import Settings
from tests.conftest import Person, csrf_token
from tests.factories import TenantFixture
from tests.helpers import Client, login
from tests.integration.inbox.test_statistics import DAY, Spec, make_cases

VIEW_LINK = re.compile(r'<li><a href="(/staff[^"]*)"(?: aria-current="page")?>([^<]+)</a>')
DELETE = re.compile(r'action="(/staff/views/[0-9a-f-]{36}/delete)"')


async def _save(client: Client, name: str, query: str, page: str = "/staff") -> Any:
    token = csrf_token((await client.get(page)).text)
    return await client.post(
        "/staff/views", data={"_csrf_token": token, "name": name, "query": query}, follow_redirects=False
    )


def _views(page: str) -> list[tuple[str, str]]:
    return [(html.unescape(href), html.unescape(name)) for href, name in VIEW_LINK.findall(page)]


async def _count(settings: Settings) -> int:
    db = alchemy_config(settings)
    try:
        async with unscoped_session(db) as session:
            return int(await session.scalar(select(func.count()).select_from(SavedView)) or 0)
    finally:
        await db.get_engine().dispose()


async def test_a_saved_view_keeps_only_the_known_filters_and_opens_the_list_again(
    person: Person, app: Litestar, settings: Settings, tenant: TenantFixture
) -> None:
    now = datetime.datetime.now(datetime.UTC)
    await make_cases(
        settings,
        tenant,
        [Spec(DAY, "submitted", summary="Laterne dunkel"), Spec(2 * DAY, "in_review", summary="Laterne flackert")],
        now,
    )
    async with person(tenant.host) as clerk:
        await login(clerk, tenant.clerk_email, tenant.password)
        query = "status=submitted&q=Laterne&after=abc&bogus=1&sort=oldest&from=morgen"
        saved = await _save(clerk, "  Neue   Laternen ", query)
        assert saved.status_code == 303
        target = saved.headers["location"]
        assert target == "/staff?status=submitted&q=Laterne&sort=oldest&done=view-saved"
        page = (await clerk.get(target)).text
        assert "Die Ansicht wurde gespeichert." in page
        assert _views(page) == [("/staff?status=submitted&q=Laterne&sort=oldest", "Neue Laternen")]
        assert 'aria-current="page">Neue Laternen<' in page, "the view being looked at"
        listed = await clerk.get(_views(page)[0][0])
        assert '<p class="result-count">1 ' in listed.text and "Laterne dunkel" in listed.text
        # A second view, after the first; an empty filter is the whole list.
        assert (await _save(clerk, "Alles", "")).headers["location"] == "/staff?done=view-saved"
        assert [name for _href, name in _views((await clerk.get("/staff")).text)] == ["Neue Laternen", "Alles"]


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("", "Bitte geben Sie der Ansicht einen Namen."),
        ("x" * 81, "Der Name ist zu lang (höchstens 80 Zeichen)."),
        ("NEUE laternen", "Sie haben schon eine Ansicht mit diesem Namen."),
    ],
)
async def test_a_view_that_cannot_be_saved_is_explained_with_the_list_and_the_name_kept(
    name: str, message: str, person: Person, app: Litestar, settings: Settings, tenant: TenantFixture
) -> None:
    async with person(tenant.host) as clerk:
        await login(clerk, tenant.clerk_email, tenant.password)
        assert (await _save(clerk, "Neue Laternen", "status=submitted")).status_code == 303
        refused = await _save(clerk, name, "status=in_review&q=Laterne")
        assert refused.status_code == 422
        page = refused.text
        assert re.search(r'<div class="error-summary" role="alert"><p><a href="#view-name">' + re.escape(message), page)
        assert 'aria-invalid="true" aria-describedby="view-name-error"' in page
        assert f'value="{html.escape(name)}"' in page, "what was typed stays"
        assert '<option value="in_review" selected>' in page and 'value="Laterne"' in page, "the list of the filters"
        assert [n for _h, n in _views(page)] == ["Neue Laternen"]


async def test_at_most_thirty_views_per_person(
    person: Person, app: Litestar, settings: Settings, tenant: TenantFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(saved_views, "MAX_VIEWS", 3)
    assert saved_views.MAX_VIEWS == 3
    async with person(tenant.host) as clerk:
        await login(clerk, tenant.clerk_email, tenant.password)
        for n in range(3):
            assert (await _save(clerk, f"Ansicht {n}", f"q=wort{n}")).status_code == 303
        refused = await _save(clerk, "Eine zu viel", "q=mehr")
        assert refused.status_code == 422
        assert "Sie haben 3 gespeicherte Ansichten, mehr sind nicht möglich." in refused.text
    async with person(tenant.host) as admin:
        await login(admin, tenant.admin_email, tenant.password)
        assert (await _save(admin, "Ansicht 0", "q=wort0")).status_code == 303, "per person"


def test_the_real_limit_is_thirty() -> None:
    assert saved_views.MAX_VIEWS == 30


async def test_a_view_belongs_to_its_person_only(
    person: Person, app: Litestar, settings: Settings, tenant: TenantFixture, other_tenant: TenantFixture
) -> None:
    async with person(tenant.host) as clerk:
        await login(clerk, tenant.clerk_email, tenant.password)
        await _save(clerk, "Meine Ansicht", "status=submitted")
        delete = DELETE.search((await clerk.get("/staff")).text)
        assert delete
    before = await _count(settings)
    async with person(tenant.host) as admin:
        await login(admin, tenant.admin_email, tenant.password)
        page = (await admin.get("/staff")).text
        assert "Meine Ansicht" not in page and not DELETE.search(page)
        token = csrf_token(page)
        refused = await admin.post(delete.group(1), data={"_csrf_token": token}, follow_redirects=False)
        assert refused.status_code == 404
    async with person(other_tenant.host) as stranger:
        await login(stranger, other_tenant.admin_email, other_tenant.password)
        token = csrf_token((await stranger.get("/staff")).text)
        refused = await stranger.post(delete.group(1), data={"_csrf_token": token}, follow_redirects=False)
        assert refused.status_code == 404
    assert await _count(settings) == before
    async with person(tenant.host) as clerk:
        await login(clerk, tenant.clerk_email, tenant.password)
        token = csrf_token((await clerk.get("/staff")).text)
        deleted = await clerk.post(delete.group(1), data={"_csrf_token": token}, follow_redirects=False)
        assert deleted.status_code == 303 and deleted.headers["location"] == "/staff?done=view-deleted"
        page = (await clerk.get(deleted.headers["location"])).text
        assert "Die Ansicht wurde gelöscht." in page and "Meine Ansicht" not in page
        again = await clerk.post(delete.group(1), data={"_csrf_token": token}, follow_redirects=False)
        assert again.status_code == 404
    assert await _count(settings) == before - 1


async def test_saving_needs_a_login_and_a_csrf_token(
    person: Person, app: Litestar, settings: Settings, tenant: TenantFixture
) -> None:
    before = await _count(settings)
    async with person(tenant.host) as clerk:
        await login(clerk, tenant.clerk_email, tenant.password)
        refused = await clerk.post("/staff/views", data={"name": "x", "query": ""}, follow_redirects=False)
        assert refused.status_code == 403
    async with person(tenant.host) as stranger:
        token = csrf_token((await stranger.get("/staff/login")).text)
        response = await stranger.post(
            "/staff/views", data={"_csrf_token": token, "name": "x", "query": ""}, follow_redirects=False
        )
        assert response.status_code == 303 and response.headers["location"].startswith("/staff/login")
    assert await _count(settings) == before
