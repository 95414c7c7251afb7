"""Wording overrides: an admin words a text of the citizen pages their own way for one language; it shows for
that municipality and language only, keeps its placeholders, is never HTML, and an empty field removes it."""

from __future__ import annotations

import html
import re
from typing import Any

from tests.conftest import csrf_token
from tests.factories import TenantFixture
from tests.helpers import Client, login

EN = {"Accept-Language": "en"}
DE = {"Accept-Language": "de"}
PAGE = "/staff/admin/texts"
HOME_TEXT = "What can we do for you?"


async def _save(client: Client, msgid: str, q: str = "", **overrides: str) -> Any:
    page = await client.get(PAGE, params={"q": q}, headers=EN)
    assert page.status_code == 200 and page.headers["cache-control"] == "no-store"
    fields = {"_csrf_token": csrf_token(page.text), "msgid": msgid, "q": q, "override_de": "", "override_en": ""}
    fields.update(overrides)
    return await client.post(PAGE, data=fields, headers=EN, follow_redirects=False)


async def test_the_page_lists_citizen_texts_with_a_search_that_works_without_javascript(
    client: Client, tenant: TenantFixture
) -> None:
    assert (await login(client, tenant.admin_email, tenant.password)).status_code == 303
    found = await client.get(PAGE, params={"q": "can we do"}, headers=EN)
    assert found.status_code == 200
    assert f'name="msgid" value="{HOME_TEXT}"' in found.text
    assert "Was können wir für Sie tun?" in found.text  # the shared German wording
    # Found by the German wording too; staff-only texts are not offered.
    assert HOME_TEXT in (await client.get(PAGE, params={"q": "können wir"}, headers=EN)).text
    assert 'name="msgid" value="Log out"' not in (await client.get(PAGE, params={"q": "Log out"}, headers=EN)).text
    assert 'name="msgid"' not in (await client.get(PAGE, params={"q": "zzzz-nothing"}, headers=EN)).text


async def test_an_override_shows_for_its_municipality_and_language_only(
    client: Client, tenant: TenantFixture, other_tenant: TenantFixture, person: Any
) -> None:
    assert (await login(client, tenant.admin_email, tenant.password)).status_code == 303
    saved = await _save(client, HOME_TEXT, q="can we", override_en="How can the town hall help?")
    assert saved.status_code == 303 and saved.headers["location"] == "/staff/admin/texts?q=can+we&saved=1"
    async with person(tenant.host) as citizen:
        english = (await citizen.get("/", headers=EN)).text
        assert "How can the town hall help?" in english and HOME_TEXT not in english
        assert "Was können wir für Sie tun?" in (await citizen.get("/", headers=DE)).text
    async with person(other_tenant.host) as stranger:
        assert HOME_TEXT in (await stranger.get("/", headers=EN)).text
        assert "How can the town hall help?" not in (await stranger.get("/", headers=EN)).text
    # The admin page shows the override; an empty field removes it.
    page = (await client.get(PAGE, params={"q": "can we"}, headers=EN)).text
    assert 'value="How can the town hall help?"' in page
    assert (await _save(client, HOME_TEXT, override_en="")).status_code == 303
    assert HOME_TEXT in (await client.get("/", headers=EN)).text


async def test_the_same_app_shows_a_new_override_at_once(client: Client, tenant: TenantFixture) -> None:
    assert HOME_TEXT in (await client.get("/", headers=EN)).text  # loaded into the cache
    assert (await login(client, tenant.admin_email, tenant.password)).status_code == 303
    assert (await _save(client, HOME_TEXT, override_en="First wording")).status_code == 303
    assert "First wording" in (await client.get("/", headers=EN)).text
    assert (await _save(client, HOME_TEXT, override_en="Second wording")).status_code == 303
    assert "Second wording" in (await client.get("/", headers=EN)).text


async def test_placeholders_must_be_kept(client: Client, tenant: TenantFixture) -> None:
    assert (await login(client, tenant.admin_email, tenant.password)).status_code == 303
    msgid = next(
        m
        for m in re.findall(r'name="msgid" value="([^"]*)"', (await client.get(PAGE, params={"q": "%("})).text)
        if "%(" in m
    )
    msgid = html.unescape(msgid)
    placeholder = re.search(r"%\(\w+\)s", msgid)
    assert placeholder
    dropped = await _save(client, msgid, override_en="No placeholder at all", override_de="Ohne")
    assert dropped.status_code == 422
    assert "Please keep the placeholders" in dropped.text and html.escape(placeholder.group(0)) in dropped.text
    assert 'value="No placeholder at all"' in dropped.text and 'aria-invalid="true"' in dropped.text
    added = await _save(client, msgid, override_en=f"{placeholder.group(0)} %(secret)s")
    assert added.status_code == 422 and "%(secret)s" in added.text
    lone = await _save(client, msgid, override_en=f"{placeholder.group(0)} 100%")
    assert lone.status_code == 422 and "percent sign" in lone.text
    kept = await _save(client, msgid, override_en=f"Now: {placeholder.group(0)} (100%%)")
    assert kept.status_code == 303


async def test_an_override_is_text_not_html(client: Client, tenant: TenantFixture) -> None:
    assert (await login(client, tenant.admin_email, tenant.password)).status_code == 303
    assert (await _save(client, HOME_TEXT, override_en="<b>Bold</b> & <script>x()</script>")).status_code == 303
    page = (await client.get("/", headers=EN)).text
    assert "<script>x()" not in page and "&lt;b&gt;Bold&lt;/b&gt; &amp; &lt;script&gt;" in page


async def test_an_unknown_text_is_refused(client: Client, tenant: TenantFixture) -> None:
    assert (await login(client, tenant.admin_email, tenant.password)).status_code == 303
    refused = await _save(client, "Log out", override_en="Leave")
    assert refused.status_code == 422 and "not one of the texts of the citizen pages" in refused.text
    assert "Leave" not in (await client.get("/staff", headers=EN)).text.split("</nav>", 1)[0]


async def test_email_wording_in_the_texts_column_is_left_alone(
    client: Client, tenant: TenantFixture, settings: Any
) -> None:
    from backend.core.db import alchemy_config, unscoped_session
    from backend.tenants.models import Tenant

    db = alchemy_config(settings)
    try:
        async with unscoped_session(db) as session:
            row = await session.get(Tenant, tenant.id)
            assert row is not None
            row.texts = {"email_greeting": {"en": "Dear neighbour"}}
        assert (await login(client, tenant.admin_email, tenant.password)).status_code == 303
        assert (await _save(client, HOME_TEXT, override_en="Own words")).status_code == 303
        async with unscoped_session(db) as session:
            row = await session.get(Tenant, tenant.id)
            assert row is not None and row.texts == {"email_greeting": {"en": "Dear neighbour"}}
    finally:
        await db.get_engine().dispose()


async def test_removing_an_override_leaves_another_municipalitys_alone(
    client: Client, tenant: TenantFixture, other_tenant: TenantFixture, person: Any
) -> None:
    assert (await login(client, tenant.admin_email, tenant.password)).status_code == 303
    assert (await _save(client, HOME_TEXT, override_en="Ours")).status_code == 303
    async with person(other_tenant.host) as other:
        assert (await login(other, other_tenant.admin_email, other_tenant.password)).status_code == 303
        assert (await _save(other, HOME_TEXT, override_en="Theirs")).status_code == 303
        assert (await _save(client, HOME_TEXT, override_en="")).status_code == 303
        assert "Theirs" in (await other.get("/", headers=EN)).text
        page = (await other.get(PAGE, params={"q": "can we"}, headers=EN)).text
        assert 'value="Theirs"' in page and 'value="Ours"' not in page
    assert HOME_TEXT in (await client.get("/", headers=EN)).text
