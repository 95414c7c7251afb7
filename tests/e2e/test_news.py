"""News on a phone: a device subscribes to "waste", an admin publishes a waste announcement, the device gets the
push (through the local push service, which decrypts it) and the home page shows the item. axe checks every page."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from playwright.sync_api import expect

from backend.core.db import alchemy_config, tenant_session
from backend.news.models import NewsSubscription
from backend.notifications.delivery import Deliverer, RetryPolicy
from backend.notifications.models import PushSubscription
from backend.settings import Settings
from tests.e2e.conftest import DESKTOP, PHONE, LiveServer, Problems, check_a11y, run_async
from tests.e2e.test_pwa import FAKE_PUSH, DevtoolsPush, origin, wait_for_service_worker
from tests.factories import TenantFixture
from tests.pushservice import PushService

pytestmark = pytest.mark.browser


def categories_of(settings: Settings, tenant: TenantFixture, endpoint: str) -> list[str]:
    async def query() -> list[str]:
        db = alchemy_config(settings)
        try:
            async with tenant_session(db, tenant.id) as session:
                from sqlalchemy import select

                rows = await session.scalars(
                    select(NewsSubscription.category)
                    .join(PushSubscription, PushSubscription.id == NewsSubscription.subscription_id)
                    .where(PushSubscription.endpoint == endpoint)
                )
                return sorted(rows)
        finally:
            await db.get_engine().dispose()

    return run_async(query())


def deliver(settings: Settings) -> int:
    async def run() -> int:
        db = alchemy_config(settings)
        worker = Deliverer(db, settings, policy=RetryPolicy(base_delay=0.05, max_delay=0.2, max_attempts=3))
        try:
            return await worker.run_once()
        finally:
            await worker.aclose()
            await db.get_engine().dispose()

    return run_async(run())


def test_a_phone_subscribed_to_waste_gets_the_admins_waste_news(
    live_server: LiveServer, e2e_tenant: TenantFixture, open_context: Any, settings: Settings, problems: Problems
) -> None:
    push = PushService()
    try:
        device = push.subscribe()
        context, phone = open_context("citizen", **PHONE)
        site = origin(live_server, e2e_tenant)
        context.grant_permissions(["notifications"], origin=site)
        context.add_init_script(f"{FAKE_PUSH}({json.dumps(device)});")
        push_service = DevtoolsPush(context, phone, site)

        phone.goto(live_server.url(e2e_tenant, "/news/subscribe"))
        wait_for_service_worker(phone)
        form = phone.locator("[data-news-push]")
        expect(form).to_be_visible()
        expect(phone.locator("[data-news-unsupported]")).to_be_hidden()
        check_a11y(phone, "news subscription")
        phone.get_by_label(re.compile("Abfuhr|Müll|Waste", re.I)).check()
        phone.locator("[data-role=save]").click()
        expect(form.locator("[data-role=status]")).to_have_text(re.compile("Gespeichert|Saved"))
        expect(form.locator("[data-role=off]")).to_be_visible()
        assert categories_of(settings, e2e_tenant, device["endpoint"]) == ["waste"]
        check_a11y(phone, "news subscription saved")

        _, office = open_context("admin", **DESKTOP)
        office.goto(live_server.url(e2e_tenant, "/staff/login"))
        office.fill("#email", e2e_tenant.admin_email)
        office.fill("#password", e2e_tenant.password)
        office.click("main button[type=submit]")
        expect(office).to_have_url(re.compile(r"/staff$"))
        office.goto(live_server.url(e2e_tenant, "/staff/admin"))
        office.click("a[href='/staff/admin/news']")
        check_a11y(office, "news list (empty)")
        office.click("a[href='/staff/admin/news/new']")
        check_a11y(office, "new announcement")
        office.locator("#news-link").fill("javascript:alert(1)")
        office.click("main form[action='/staff/admin/news'] button[type=submit]")
        expect(office.locator(".error-summary")).to_be_visible()
        check_a11y(office, "new announcement with errors")
        problems.items.remove("admin: POST /staff/admin/news answered 422")
        office.locator("#news-title").fill("Restmüll wird am Samstag abgeholt")
        office.locator("#news-text").fill("Wegen des Feiertags kommt die Müllabfuhr einen Tag später.")
        office.locator("#news-link").fill("")
        office.locator("#news-category").select_option("waste")
        office.click("main form[action='/staff/admin/news'] button[type=submit]")
        expect(office.locator(".notice")).to_be_visible()
        check_a11y(office, "news list")
        office.click("text=Restmüll wird am Samstag abgeholt")
        check_a11y(office, "edit announcement")

        deliver(settings)  # other tests of this module may have left their own messages waiting, too
        [got] = push.delivered(device)
        assert got.problems == [] and got.payload is not None
        assert "Restmüll wird am Samstag abgeholt" in got.payload["body"]
        assert re.fullmatch(r"http://[^/]+/news#news-[0-9a-f-]{36}", got.payload["url"])

        # The push service hands the decrypted message to the browser, as a vendor's would.
        push_service.deliver(got.payload)
        shown = phone.evaluate(
            """async () => (await (await navigator.serviceWorker.ready).getNotifications())
                 .map(n => ({title: n.title, body: n.body, url: n.data.url}))"""
        )
        assert shown == [{"title": e2e_tenant.name, "body": got.payload["body"], "url": got.payload["url"]}]

        phone.goto(live_server.url(e2e_tenant, "/"))
        expect(phone.locator("section.news")).to_contain_text("Restmüll wird am Samstag abgeholt")
        check_a11y(phone, "home with news")
        phone.click("section.news a[href='/news']")
        expect(phone.locator("main")).to_contain_text("Wegen des Feiertags kommt die Müllabfuhr einen Tag später.")
        check_a11y(phone, "news page")
    finally:
        push.close()


def test_without_push_support_the_subscription_page_explains_why(
    live_server: LiveServer, e2e_tenant: TenantFixture, open_context: Any
) -> None:
    _, page = open_context("citizen", **{**PHONE, "java_script_enabled": False})
    page.goto(live_server.url(e2e_tenant, "/news/subscribe"))
    expect(page.locator("[data-news-unsupported]")).to_be_visible()
    expect(page.locator("[data-news-push]")).to_be_hidden()
