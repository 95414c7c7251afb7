"""News: admins write announcements with checked input; citizens see exactly the current ones, warnings first;
clerks and other municipalities get nothing."""

from __future__ import annotations

import datetime
import re
from zoneinfo import ZoneInfo

from litestar import Litestar
from litestar.testing import AsyncTestClient

from tests.conftest import csrf_token
from tests.factories import TenantFixture
from tests.helpers import Client, login

LIST = "/staff/admin/news"
EN = {"Accept-Language": "en"}


def local(days: float) -> str:
    """A datetime-local value ``days`` from now in the municipalities' time zone (the test towns are German)."""
    when = datetime.datetime.now(ZoneInfo("Europe/Berlin")) + datetime.timedelta(days=days)
    return when.strftime("%Y-%m-%dT%H:%M")


def fields(**overrides: str) -> dict[str, str]:
    base = {
        "title": "Biotonne wird später geleert",
        "text": "Wegen des Feiertags kommt die Abfuhr einen Tag später.",
        "link": "",
        "category": "waste",
        "valid_from": "",
        "valid_until": "",
    }
    return {**base, **overrides}


async def save(client: Client, data: dict[str, str], path: str = LIST) -> object:
    page = await client.get(LIST + "/new", headers=EN)
    assert page.status_code == 200, page.text
    return await client.post(
        path, data={**data, "_csrf_token": csrf_token(page.text)}, headers=EN, follow_redirects=False
    )


async def news_ids(client: Client) -> list[str]:
    return re.findall(r'href="/staff/admin/news/([0-9a-f-]{36})"', (await client.get(LIST)).text)


async def admin(client: Client, tenant: TenantFixture) -> Client:
    assert (await login(client, tenant.admin_email, tenant.password)).status_code == 303
    return client


async def test_an_admin_publishes_news_and_citizens_see_it_on_the_home_and_news_pages(
    client: Client, tenant: TenantFixture
) -> None:
    await admin(client, tenant)
    saved = await save(client, fields(link="https://example.org/abfuhr"))
    assert saved.status_code == 303 and saved.headers["location"] == "/staff/admin/news?saved=1"
    listing = await client.get(LIST, headers=EN)
    assert listing.status_code == 200 and listing.headers["cache-control"] == "no-store"
    assert "Biotonne wird später geleert" in listing.text and "Visible" in listing.text
    home = (await client.get("/")).text
    assert "Biotonne wird später geleert" in home and 'href="/news"' in home
    assert home.index("Biotonne") < home.index('id="service-list"'), "news comes above the services"
    news = (await client.get("/news")).text
    assert "Wegen des Feiertags kommt die Abfuhr einen Tag später." in news
    assert 'href="https://example.org/abfuhr"' in news
    assert "<script" not in news.split("</head>")[1]


async def test_only_current_news_is_shown_and_warnings_come_first(client: Client, tenant: TenantFixture) -> None:
    await admin(client, tenant)
    for data in (
        fields(title="Sommerfest am Markt", category="events"),
        fields(title="Unwetterwarnung", category="warning"),
        fields(title="Künftige Baustelle", category="traffic", valid_from=local(2)),
        fields(title="Vergangene Sperrung", category="traffic", valid_from=local(-3), valid_until=local(-1)),
    ):
        assert (await save(client, data)).status_code == 303
    listing = (await client.get(LIST, headers=EN)).text
    assert "Scheduled" in listing and "Expired" in listing and "Visible" in listing
    for page in ("/", "/news"):
        text = (await client.get(page)).text
        assert "Künftige Baustelle" not in text and "Vergangene Sperrung" not in text
        assert text.index("Unwetterwarnung") < text.index("Sommerfest am Markt"), page


async def test_bad_input_is_refused_with_clear_messages_and_kept_values(client: Client, tenant: TenantFixture) -> None:
    await admin(client, tenant)
    cases = [
        (fields(title=""), "Please enter a title."),
        (fields(title="x" * 121), "at most 120 characters"),
        (fields(text=""), "Please enter the text of the announcement."),
        (fields(text="y" * 2001), "at most 2000 characters"),
        (fields(link="javascript:alert(1)"), "https://"),
        (fields(link="ftp://example.org/x"), "https://"),
        (fields(link="https://" + "a" * 600), "at most 500 characters"),
        (fields(category="gossip"), "Please choose a category."),
        (fields(valid_from="morgen"), "Please enter a date and time"),
        (fields(valid_until="2026-13-45T99:99"), "Please enter a date and time"),
        (fields(valid_from=local(2), valid_until=local(1)), "The end must be after the start."),
    ]
    for data, message in cases:
        answer = await save(client, {**data, "text": data["text"] or "", "title": data["title"]})
        assert answer.status_code == 422, (data, answer.status_code)
        assert message in answer.text, (message, answer.text[:2000])
        assert 'aria-invalid="true"' in answer.text and "aria-describedby=" in answer.text
        if data["text"] and len(data["text"]) < 100:
            assert data["text"] in answer.text, "the values are kept"
    # Not a form at all: still no 500.
    page = await client.get(LIST + "/new")
    odd = await client.post(
        LIST,
        content=b"title=%FF%FE&category=\xff",
        headers={"content-type": "application/x-www-form-urlencoded", "x-csrftoken": csrf_token(page.text)},
    )
    assert odd.status_code in (400, 422)
    assert await news_ids(client) == []


async def test_editing_changes_the_item_and_deleting_removes_it(client: Client, tenant: TenantFixture) -> None:
    await admin(client, tenant)
    assert (await save(client, fields())).status_code == 303
    [news_id] = await news_ids(client)
    form = await client.get(f"{LIST}/{news_id}", headers=EN)
    assert form.status_code == 200 and "Biotonne wird später geleert" in form.text
    assert form.headers["cache-control"] == "no-store"
    bad = await save(client, fields(title=""), path=f"{LIST}/{news_id}")
    assert bad.status_code == 422
    assert (await save(client, fields(title="Biotonne: neuer Termin"), path=f"{LIST}/{news_id}")).status_code == 303
    assert "Biotonne: neuer Termin" in (await client.get("/")).text
    deleted = await save(client, {}, path=f"{LIST}/{news_id}/delete")
    assert deleted.status_code == 303
    assert "Biotonne" not in (await client.get("/news")).text
    assert (await client.get(f"{LIST}/{news_id}")).status_code == 404


async def test_a_clerk_is_refused(client: Client, tenant: TenantFixture, person) -> None:  # type: ignore[no-untyped-def]
    async with person(tenant.host) as boss:
        await admin(boss, tenant)
        assert (await save(boss, fields())).status_code == 303
        [news_id] = await news_ids(boss)
    assert (await login(client, tenant.clerk_email, tenant.password)).status_code == 303
    token = csrf_token((await client.get("/staff")).text)
    for path in (LIST, LIST + "/new", f"{LIST}/{news_id}"):
        assert (await client.get(path, follow_redirects=False)).status_code == 403, path
    for path in (LIST, f"{LIST}/{news_id}", f"{LIST}/{news_id}/delete"):
        answer = await client.post(path, data={**fields(), "_csrf_token": token}, follow_redirects=False)
        assert answer.status_code == 403, path
    assert "Biotonne wird später geleert" in (await client.get("/news")).text, "nothing was changed"


async def test_another_municipality_never_sees_or_changes_the_news(
    app: Litestar, tenant: TenantFixture, other_tenant: TenantFixture
) -> None:
    async with AsyncTestClient(app, base_url=f"http://{tenant.host}") as mine:
        await admin(mine, tenant)
        assert (await save(mine, fields(title="Nur in unserer Stadt"))).status_code == 303
        [news_id] = await news_ids(mine)
    async with AsyncTestClient(app, base_url=f"http://{other_tenant.host}") as theirs:
        await admin(theirs, other_tenant)
        for page in ("/", "/news", LIST):
            assert "Nur in unserer Stadt" not in (await theirs.get(page)).text, page
        assert (await theirs.get(f"{LIST}/{news_id}")).status_code == 404
        for path in (f"{LIST}/{news_id}", f"{LIST}/{news_id}/delete"):
            answer = await save(theirs, fields(title="Übernommen"), path=path)
            assert answer.status_code == 404, path
    async with AsyncTestClient(app, base_url=f"http://{tenant.host}") as mine:
        news = (await mine.get("/news")).text
        assert "Nur in unserer Stadt" in news and "Übernommen" not in news


async def test_the_first_visit_with_news_stays_under_30_kb(client: Client, tenant: TenantFixture) -> None:
    """The home page with three long announcements, and what it loads (styles, scripts, manifest), as sent."""
    await admin(client, tenant)
    for n, category in enumerate(("warning", "traffic", "waste", "events")):
        assert (
            await save(client, fields(title=f"{n} " + "Ä" * 110, text="z" * 2000, category=category))
        ).status_code == 303
    client.cookies.clear()
    gzip = {"Accept-Encoding": "gzip"}
    home = await client.get("/", headers=gzip)
    assert home.text.count('href="/news#news-') == 3, "the home shows the three most important"
    assets = re.findall(r'(?:href|src)="(/(?:static|theme\.css|manifest)[^"]*)"', home.text)
    assert any(a.endswith(".css") for a in assets) and any(a.endswith(".js") for a in assets)
    total = home.num_bytes_downloaded
    for asset in set(assets):
        answer = await client.get(asset.replace("&amp;", "&"), headers=gzip)
        assert answer.status_code == 200, asset
        total += answer.num_bytes_downloaded
    assert total < 30 * 1024, total
