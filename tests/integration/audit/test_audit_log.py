"""Every staff action that changed something is in the municipality's audit log (who, what, when, from where);
admins read it and download it as CSV; nothing of another municipality shows; reads and refusals are not logged."""

from __future__ import annotations

import re

from sqlalchemy import update

from backend.accounts.models import User
from backend.core.db import alchemy_config, unscoped_session
from backend.settings import Settings
from tests.conftest import Person, csrf_token
from tests.factories import TenantFixture
from tests.helpers import Client, login, staff_post, submit_case

PAGE = "/staff/admin/audit"


async def _case_path(client: Client) -> str:
    found = re.search(r'href="(/staff/cases/[0-9a-f-]{36})"', (await client.get("/staff")).text)
    assert found
    return found.group(1)


async def test_a_status_change_is_logged_with_person_route_and_address(
    client: Client, tenant: TenantFixture, person: Person
) -> None:
    async with person(tenant.host) as citizen:
        await submit_case(citizen, tenant, photo=False)
    async with person(tenant.host) as clerk:
        await login(clerk, tenant.clerk_email, tenant.password)
        case = await _case_path(clerk)
        await clerk.get(case)  # reading is not logged
        refused = await staff_post(clerk, case, f"{case}/status", {"to_status": ""})
        assert refused.status_code == 422  # nor is a refused change
        assert (await staff_post(clerk, case, f"{case}/status", {"to_status": "in_review"})).status_code == 303
    await login(client, tenant.admin_email, tenant.password)
    page = (await client.get(PAGE, headers={"Accept-Language": "en"})).text
    rows = re.findall(r"<tr>\s*<td>.*?</tr>", page, re.S)
    actions = [re.findall(r"<code>(.*?)</code>", row, re.S) for row in rows]
    assert [a[0] for a in actions] == [
        "POST /staff/login",  # the admin, just now
        "POST /staff/cases/{case_id}/status",
        "POST /staff/login",
    ]
    assert actions[1][1] == f"{case}/status"
    assert "Clara Clerk" in rows[1] and "testclient" in rows[1]


async def test_logging_out_is_logged_for_the_person_who_left(client: Client, tenant: TenantFixture) -> None:
    await login(client, tenant.clerk_email, tenant.password)
    page = await client.get("/staff")
    await client.post("/staff/logout", data={"_csrf_token": csrf_token(page.text)})
    await login(client, tenant.admin_email, tenant.password)
    text = (await client.get(PAGE)).text
    assert text.count("POST /staff/logout") == 1


async def test_only_this_municipalitys_admins_read_it(
    client: Client, tenant: TenantFixture, other_tenant: TenantFixture, person: Person
) -> None:
    await login(client, tenant.admin_email, tenant.password)
    async with person(other_tenant.host) as stranger:
        await login(stranger, other_tenant.admin_email, other_tenant.password)
        theirs = (await stranger.get(PAGE)).text
        assert tenant.slug not in theirs and theirs.count("POST /staff/login") == 1
    async with person(tenant.host) as clerk:
        await login(clerk, tenant.clerk_email, tenant.password)
        assert (await clerk.get(PAGE, follow_redirects=False)).status_code == 403
        assert (await clerk.get(f"{PAGE}/export.csv", follow_redirects=False)).status_code == 403


async def test_the_csv_download_is_safe_against_formulas(
    client: Client, tenant: TenantFixture, settings: Settings
) -> None:
    db = alchemy_config(settings)
    try:
        async with unscoped_session(db) as session:
            await session.execute(
                update(User).where(User.email == tenant.admin_email).values(display_name="=HYPERLINK(1)")
            )
    finally:
        await db.get_engine().dispose()
    await login(client, tenant.admin_email, tenant.password)
    download = await client.get(f"{PAGE}/export.csv", headers={"Accept-Language": "en"})
    assert download.status_code == 200
    assert download.headers["content-type"].startswith("text/csv")
    assert download.headers["cache-control"] == "no-store"
    text = download.content.decode("utf-8")
    assert text.startswith("\ufeffTime;Person;Action")
    assert "'=HYPERLINK(1);POST /staff/login" in text


async def test_pages_of_the_log_go_back_in_time(client: Client, tenant: TenantFixture, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from backend.audit import services

    monkeypatch.setattr(services, "PAGE_SIZE", 2)
    for _ in range(3):
        await login(client, tenant.admin_email, tenant.password)
    first = (await client.get(PAGE)).text
    older = re.search(r'href="(/staff/admin/audit\?before=[^"]+)"', first)
    assert older and first.count("POST /staff/login") == 2
    second = (await client.get(older.group(1).replace("&amp;", "&"))).text
    assert second.count("POST /staff/login") == 1
    assert (await client.get(f"{PAGE}?before=not-a-cursor")).status_code == 200
