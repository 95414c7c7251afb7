"""A municipality goes live from one command and a few clicks: the operator rolls it in, its admin opens the
invitation, sets a password, uploads a logo, sets colours, adopts ten standard services, changes one field,
publishes, and posts a news item. A citizen's phone then shows the branded home with the news, installs icons
drawn from the logo, and the device subscribed to the news category gets the push. axe checks every page."""

from __future__ import annotations

import base64
import concurrent.futures
import io
import json
import re
import secrets
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from playwright.sync_api import Page, expect
from sqlalchemy import select

from backend.__main__ import main
from backend.core.db import alchemy_config, unscoped_session
from backend.settings import Settings
from backend.tenants.models import Tenant
from tests.e2e.conftest import DESKTOP, PHONE, LiveServer, check_a11y, run_async
from tests.e2e.test_admin_branding import FETCH_BASE64, LOGO_COLOUR, _logo
from tests.e2e.test_news import categories_of, deliver
from tests.e2e.test_pwa import FAKE_PUSH, wait_for_service_worker
from tests.factories import TenantFixture
from tests.pushservice import PushService

pytestmark = pytest.mark.browser

ADMIN_PASSWORD = "lantern-meadow-violet-42"
PRIMARY, ACCENT = "#0b6e4f", "#7a1f5c"
ADOPTED = 10
NEW_LABEL = "Wo genau steht die Leuchte?"


def test_a_town_goes_live_from_one_command_and_a_few_clicks(
    live_server: LiveServer,
    open_context: Any,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    # The operator: one command.
    monkeypatch.setenv("RATHAUS_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("RATHAUS_DATA_DIR", str(settings.data_dir))
    slug = f"auenbach-{secrets.token_hex(3)}"
    admin_email = f"buergermeisterin@{slug}.example"
    command = ["tenant", "create", slug, "--name", "Gemeinde Auenbach", "--state", "RP", "--admin-email", admin_email]
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:  # the CLI runs its own event loop
        pool.submit(main, command).result(timeout=60)
    invite = re.search(r"/staff/invite/[A-Za-z0-9_-]+", capsys.readouterr().out)
    assert invite
    town = _rolled_in(settings, slug, admin_email)

    # The admin: the invitation, a password, the branding.
    _, desk = open_context("admin", **{**DESKTOP, "locale": "de-DE"})
    desk.goto(live_server.url(town, invite.group(0)))
    check_a11y(desk, "invitation")
    desk.fill("#password", ADMIN_PASSWORD)
    desk.fill("#password_repeat", ADMIN_PASSWORD)
    desk.click("main button[type=submit]")
    expect(desk).to_have_url(re.compile(r"/staff$"))
    desk.goto(live_server.url(town, "/staff/admin/branding"))
    desk.fill("#short_name", "Auenbach")
    desk.fill("#primary_color_text", PRIMARY)
    desk.fill("#accent_color_text", ACCENT)
    desk.set_input_files("#logo", str(_logo(tmp_path / "logo.png")))
    desk.click("#branding-form button[type=submit]")
    expect(desk.locator(".notice")).to_be_visible()
    check_a11y(desk, "branding saved")

    # Ten standard services, adopted at once; one of them gets a field changed and is published.
    desk.goto(live_server.url(town, "/staff/admin/catalogue"))
    boxes = desk.locator("input[name=templates]")
    chosen = [boxes.nth(i).get_attribute("value") for i in range(ADOPTED)]
    if "strassenlaterne-defekt" not in chosen:
        chosen[-1] = "strassenlaterne-defekt"
    for value in chosen:
        desk.check(f"#choose-{value}")
    desk.click("#adopt-many-button")
    expect(desk.locator(".notice")).to_be_visible()
    check_a11y(desk, "catalogue with ten adopted")
    desk.locator("#template-strassenlaterne-defekt a[href$='/form']").click()
    expect(desk).to_have_url(re.compile(r"/staff/admin/services/[0-9a-f-]{36}/form$"))
    desk.locator("ol.builder-fields > li a.button").first.click()
    desk.fill("#label_de", NEW_LABEL)
    desk.get_by_role("button", name="Feld speichern").click()
    expect(desk.locator("ol.builder-fields")).to_contain_text(NEW_LABEL)
    desk.get_by_role("button", name="Formular veröffentlichen").click()
    expect(desk.locator("p.notice")).to_contain_text("Veröffentlicht")
    check_a11y(desk, "form published")

    # The citizen's phone subscribes to waste news before the admin posts one.
    push = PushService()
    try:
        device = push.subscribe()
        context, phone = open_context("citizen", **PHONE)
        site = live_server.url(town, "").rstrip("/")
        context.grant_permissions(["notifications"], origin=site)
        context.add_init_script(f"{FAKE_PUSH}({json.dumps(device)});")
        phone.goto(live_server.url(town, "/news/subscribe"))
        wait_for_service_worker(phone)
        phone.get_by_label(re.compile("Abfuhr|Müll", re.I)).check()
        phone.locator("[data-role=save]").click()
        expect(phone.locator("[data-news-push] [data-role=status]")).to_have_text(re.compile("Gespeichert"))
        assert categories_of(settings, town, device["endpoint"]) == ["waste"]

        desk.goto(live_server.url(town, "/staff/admin/news/new"))
        desk.locator("#news-title").fill("Gelbe Säcke am Freitag")
        desk.locator("#news-text").fill("Die Abholung verschiebt sich wegen des Feiertags um einen Tag.")
        desk.locator("#news-category").select_option("waste")
        desk.click("main form[action='/staff/admin/news'] button[type=submit]")
        expect(desk.locator(".notice")).to_be_visible()

        deliver(settings)
        [got] = push.delivered(device)
        assert got.problems == [] and got.payload is not None
        assert "Gelbe Säcke am Freitag" in got.payload["body"]
    finally:
        push.close()

    # The branded home: logo, colours, news, the ten services; the manifest and icons come from the logo.
    phone.goto(live_server.url(town, "/"))
    expect(phone.locator("header img.brand-logo")).to_have_attribute("alt", "Gemeinde Auenbach")
    expect(phone.locator("section.news")).to_contain_text("Gelbe Säcke am Freitag")
    assert phone.locator("main a[href^='/s/']").count() >= ADOPTED
    header = phone.evaluate("() => getComputedStyle(document.querySelector('.site-header')).backgroundColor")
    assert header == "rgb(11, 110, 79)"
    check_a11y(phone, "branded home with news")
    manifest = phone.evaluate("async () => (await fetch(document.querySelector('link[rel=manifest]').href)).json()")
    assert manifest["name"] == "Gemeinde Auenbach" and manifest["short_name"] == "Auenbach"
    assert manifest["theme_color"] == PRIMARY
    for entry in manifest["icons"]:
        icon = Image.open(io.BytesIO(_fetch(phone, entry["src"]))).convert("RGB")
        assert icon.getpixel((icon.width // 2, icon.height // 2)) == LOGO_COLOUR, entry
    phone.goto(live_server.url(town, "/s/strassenlaterne-defekt/form"))
    expect(phone.locator("main form")).to_contain_text(NEW_LABEL)
    check_a11y(phone, "the changed form")


def _fetch(page: Page, src: str) -> bytes:
    return base64.b64decode(page.evaluate(FETCH_BASE64, src))


def _rolled_in(settings: Settings, slug: str, admin_email: str) -> TenantFixture:
    """The new town as the test fixtures describe one."""

    async def lookup() -> Tenant:
        db = alchemy_config(settings)
        try:
            async with unscoped_session(db) as session:
                tenant = await session.scalar(select(Tenant).where(Tenant.slug == slug))
                assert tenant is not None
                return tenant
        finally:
            await db.get_engine().dispose()

    tenant = run_async(lookup())
    return TenantFixture(tenant.id, slug, tenant.name, "", "", admin_email)
