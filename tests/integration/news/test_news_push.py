"""News pushes: a device chooses categories (strict JSON, problem details), publishing queues exactly one push
per subscribed device in the same transaction, the local push service decrypts it, and nothing is sent twice."""

from __future__ import annotations

import datetime
import json
from typing import Any

from sqlalchemy import update

from backend.core.db import alchemy_config, unscoped_session
from backend.news.models import NewsItem, NewsSubscription
from backend.news.services import publish_due
from backend.notifications.delivery import Deliverer
from backend.notifications.models import PushSubscription
from backend.settings import Settings
from tests.conftest import Person, csrf_token
from tests.factories import TenantFixture
from tests.helpers import Client, login
from tests.integration.news.test_news_admin import LIST, fields, local, news_ids, save
from tests.integration.notifications.conftest import count, deliverer, empty_outbox, follow, outbox, push, submit_case
from tests.pushservice import PushService

__all__ = ["deliverer", "empty_outbox", "push"]  # fixtures of the notification tests, used here too


async def choose(client: Client, subscription: dict[str, Any], categories: list[str]) -> Any:
    """What /news/subscribe's script does when the citizen saves a choice."""
    page = await client.get("/news/subscribe")
    return await client.put(
        "/push/news",
        json={"subscription": subscription, "categories": categories},
        headers={"X-CSRFToken": csrf_token(page.text)},
    )


async def chosen(client: Client, endpoint: str) -> list[str]:
    page = await client.get("/news/subscribe")
    answer = await client.post(
        "/push/news/query", json={"endpoint": endpoint}, headers={"X-CSRFToken": csrf_token(page.text)}
    )
    assert answer.status_code == 200, answer.text
    return answer.json()["categories"]  # type: ignore[no-any-return]


async def test_a_device_chooses_and_drops_categories(client: Client, tenant: TenantFixture, push: PushService) -> None:
    page = await client.get("/news/subscribe")
    assert page.status_code == 200 and 'name="categories" value="waste"' in page.text
    assert "/static/js/news.js" in page.text
    device = push.subscribe()
    answer = await choose(client, device, ["waste", "warning", "waste"])
    assert answer.status_code == 200 and answer.json() == {"categories": ["warning", "waste"]}
    assert await chosen(client, device["endpoint"]) == ["warning", "waste"]
    assert (await choose(client, device, ["events"])).json() == {"categories": ["events"]}
    assert await chosen(client, device["endpoint"]) == ["events"]
    csrf = csrf_token(page.text)
    gone = await client.request(
        "DELETE", "/push/news", json={"endpoint": device["endpoint"]}, headers={"X-CSRFToken": csrf}
    )
    assert gone.status_code == 204
    assert await chosen(client, device["endpoint"]) == []
    assert await count(client.app.state.settings, PushSubscription, tenant_id=tenant.id) == 0


async def test_bad_subscription_input_gets_problem_details(
    client: Client, tenant: TenantFixture, push: PushService
) -> None:
    csrf = csrf_token((await client.get("/news/subscribe")).text)
    device = push.subscribe()
    bodies: list[tuple[str, bytes | str, str]] = [
        ("PUT", b"{not json", "application/json"),
        ("PUT", '{"subscription": {}, "categories": ["waste"]}', "application/json"),
        ("PUT", json.dumps({"subscription": device, "categories": ["gossip"]}), "application/json"),
        ("PUT", json.dumps({"subscription": device, "categories": ["waste"] * 6}), "application/json"),
        ("PUT", '{"subscription": null, "categories": [], "extra": 1}', "application/json"),
        ("PUT", "[" * 5000 + "]" * 5000, "application/json"),
        ("POST", '{"endpoint": ""}', "application/json"),
        ("DELETE", '{"endpoint": 5}', "application/json"),
    ]
    for method, body, media in bodies:
        path = "/push/news/query" if method == "POST" else "/push/news"
        answer = await client.request(method, path, content=body, headers={"X-CSRFToken": csrf, "Content-Type": media})
        assert answer.status_code == 400, (method, body[:80], answer.status_code, answer.text)
        assert answer.headers["content-type"].startswith("application/problem+json")
        problem = answer.json()
        assert problem["status"] == 400 and problem["title"]
    not_json = await client.put(
        "/push/news",
        content=b"categories=waste",
        headers={"X-CSRFToken": csrf, "Content-Type": "application/x-www-form-urlencoded"},
    )
    assert not_json.status_code == 415
    no_csrf = await client.put("/push/news", json={"subscription": device, "categories": ["waste"]})
    assert no_csrf.status_code == 403
    foreign = {**device, "endpoint": "https://evil.example/push/x"}
    refused = await choose(client, foreign, ["waste"])
    assert refused.status_code == 400 and refused.headers["content-type"].startswith("application/problem+json")
    assert await count(client.app.state.settings, NewsSubscription, tenant_id=tenant.id) == 0


async def test_publishing_sends_one_push_per_subscribed_device_and_never_twice(
    person: Person,
    client: Client,
    tenant: TenantFixture,
    other_tenant: TenantFixture,
    push: PushService,
    deliverer: Deliverer,
    settings: Settings,
) -> None:
    phone, tablet, traffic_only, elsewhere = push.subscribe(), push.subscribe(), push.subscribe(), push.subscribe()
    for device, categories in ((phone, ["waste"]), (tablet, ["waste", "warning"]), (traffic_only, ["traffic"])):
        assert (await choose(client, device, categories)).status_code == 200
    async with person(other_tenant.host) as theirs:
        assert (await choose(theirs, elsewhere, ["waste"])).status_code == 200

    async with person(tenant.host) as office:
        assert (await login(office, tenant.admin_email, tenant.password)).status_code == 303
        assert (await save(office, fields())).status_code == 303
        [news_id] = await news_ids(office)
        rows = await outbox(settings, tenant_id=tenant.id)
        assert len(rows) == 2 and {r.status for r in rows} == {"pending"}, "written with the save"
        assert {str(r.news_id) for r in rows} == {news_id} and all(r.case_id is None for r in rows)
        assert await outbox(settings, tenant_id=other_tenant.id) == []

        assert await deliverer.run_once() == 2
        for device in (phone, tablet):
            [got] = push.for_device(device)
            assert got.problems == [] and got.status == 201
            assert got.payload is not None and got.payload["title"] == tenant.name
            assert "Biotonne wird später geleert" in got.payload["body"]
            assert got.payload["url"] == f"http://{tenant.slug}.localhost:8000/news#news-{news_id}"
            assert got.payload["tag"] == f"news-{news_id}"
            assert got.headers["urgency"] == "normal"
        assert push.for_device(traffic_only) == [] and push.for_device(elsewhere) == []

        # Saving again does not send again; the worker's round does not either.
        assert (await save(office, fields(title="Biotonne: neuer Termin"), path=f"{LIST}/{news_id}")).status_code == 303
        db = alchemy_config(settings)
        try:
            assert await publish_due(db) == 0
        finally:
            await db.get_engine().dispose()
        assert len(await outbox(settings, tenant_id=tenant.id)) == 2
        # Unless the admin asks for it: one more push per device.
        again = fields(title="Biotonne: neuer Termin", send_again="1")
        assert (await save(office, again, path=f"{LIST}/{news_id}")).status_code == 303
        assert len(await outbox(settings, tenant_id=tenant.id)) == 4
        await deliverer.run_once()
        assert [len(push.delivered(d)) for d in (phone, tablet, traffic_only)] == [2, 2, 0]


async def test_a_scheduled_item_is_pushed_once_when_its_time_comes(
    client: Client, tenant: TenantFixture, push: PushService, deliverer: Deliverer, settings: Settings
) -> None:
    device = push.subscribe()
    assert (await choose(client, device, ["warning"])).status_code == 200
    assert (await login(client, tenant.admin_email, tenant.password)).status_code == 303
    assert (await save(client, fields(category="warning", title="Sturm", valid_from=local(1)))).status_code == 303
    assert await outbox(settings, tenant_id=tenant.id) == [], "not yet shown, not yet sent"
    db = alchemy_config(settings)
    try:
        assert await publish_due(db) == 0
        async with unscoped_session(db) as session:
            await session.execute(
                update(NewsItem)
                .where(NewsItem.tenant_id == tenant.id)
                .values(valid_from=datetime.datetime.now(datetime.UTC) - datetime.timedelta(minutes=1))
            )
        assert await publish_due(db) == 1
        assert await publish_due(db) == 0
    finally:
        await db.get_engine().dispose()
    await deliverer.run_once()
    [got] = push.delivered(device)
    assert got.headers["urgency"] == "high", "warnings are urgent"
    assert "Sturm" in got.payload["body"]  # type: ignore[index]


async def test_a_gone_device_is_forgotten_and_nothing_is_mailed(
    client: Client, tenant: TenantFixture, push: PushService, deliverer: Deliverer, settings: Settings
) -> None:
    device = push.subscribe()
    assert (await choose(client, device, ["waste"])).status_code == 200
    push.answer(device, 410)
    assert (await login(client, tenant.admin_email, tenant.password)).status_code == 303
    assert (await save(client, fields())).status_code == 303
    await deliverer.run_once()
    assert [(r.channel, r.status) for r in await outbox(settings, tenant_id=tenant.id)] == [("push", "gone")]
    assert await count(settings, PushSubscription, tenant_id=tenant.id) == 0
    assert await count(settings, NewsSubscription, tenant_id=tenant.id) == 0


async def test_news_and_request_notifications_share_the_device_but_stay_separate(
    client: Client, tenant: TenantFixture, push: PushService, settings: Settings
) -> None:
    tracking = await submit_case(client, tenant, photo=False)
    device = push.subscribe()
    assert (await follow(client, tracking, device)).status_code == 201
    assert (await choose(client, device, ["waste"])).status_code == 200
    assert await count(settings, PushSubscription, tenant_id=tenant.id) == 1, "one device, one row"
    page = await client.get(tracking)
    stop_case = await client.request(
        "DELETE",
        "/push/subscriptions",
        json={"endpoint": device["endpoint"], "token": tracking.rsplit("/", 1)[1]},
        headers={"X-CSRFToken": csrf_token(page.text)},
    )
    assert stop_case.status_code == 204
    assert await chosen(client, device["endpoint"]) == ["waste"], "turning off the request's notifications keeps news"
    assert (await choose(client, device, [])).json() == {"categories": []}
    assert await count(settings, PushSubscription, tenant_id=tenant.id) == 0
