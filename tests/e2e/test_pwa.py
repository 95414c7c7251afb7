"""The municipality as an installed app on a phone: installable, works offline, queues requests, gets pushes.

These tests run against their own server (the app behind a meter that counts the bytes each host sends),
so the first visit's weight can be measured as the phone would see it.
"""

from __future__ import annotations

import base64
import json
import re
import secrets
import threading
import time
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from playwright.sync_api import BrowserContext, Locator, Page, Playwright, expect
from sqlalchemy import func, select

from backend.app import create_app
from backend.cases.models import Case
from backend.core.db import alchemy_config, tenant_session
from backend.notifications.models import CaseSubscription, PushSubscription
from backend.settings import Settings
from tests.e2e.conftest import (
    CHROMIUM,
    CHROMIUM_ARGS,
    PHONE,
    TIMEOUT_MS,
    LiveServer,
    check_a11y,
    run_async,
    serve_in_thread,
)
from tests.e2e.test_journey import expect_photo_loaded
from tests.factories import TenantFixture

pytestmark = pytest.mark.browser

ADDRESS = "Hauptstraße 12"
WHAT = "Die Laterne leuchtet seit drei Tagen nicht mehr."
OFFLINE_TITLE = re.compile(r"Sie sind offline|You are offline")
LAST_UPDATED = re.compile(r"(Sie sind offline\. Letzte Aktualisierung|You are offline\. Last updated): .*\d")
QUEUED = re.compile(r"auf diesem Gerät gespeichert und wird gesendet|saved on this device and will be sent")
# What the home page's first load fetches (compressed bodies), including the manifest and icons, and what
# installing the service worker adds once, in the background. Headers come on top (see the printout); over
# HTTP/2 the repeated ones shrink to a few bytes each.
PAGE_BUDGET = 28 * 1024
WORKER_INSTALL_BUDGET = 7 * 1024
WORKER_INSTALL = {"/sw.js", "/static/js/outbox.js", "/offline"}

SW_READY = """() => !!navigator.serviceWorker.controller && navigator.serviceWorker.controller.state === 'activated'"""
NOTIFIED = "async () => (await (await navigator.serviceWorker.ready).getNotifications()).length > 0"


# ---------------------------------------------------------------------------------------------
# A server that counts what it sends to each host


@dataclass
class Sent:
    path: str
    status: int
    headers: int = 0
    body: int = 0


class Meter:
    """ASGI wrapper: what the app sends for each request (compressed bodies, headers), per host."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.sent: dict[str, list[Sent]] = defaultdict(list)
        self.lock = threading.Lock()

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        host = dict(scope["headers"]).get(b"host", b"").decode().split(":")[0]
        sent = Sent(scope["path"], 0)

        async def metered(message: Any) -> None:
            if message["type"] == "http.response.start":
                sent.status = message["status"]
                sent.headers = 17 + sum(len(k) + len(v) + 4 for k, v in message.get("headers", []))
            elif message["type"] == "http.response.body":
                sent.body += len(message.get("body", b""))
            await send(message)

        await self.app(scope, receive, metered)
        with self.lock:
            self.sent[host].append(sent)


@pytest.fixture(scope="module")
def meter(settings: Settings) -> Meter:
    return Meter(create_app(settings))


@pytest.fixture(scope="module")
def live_server(meter: Meter) -> Iterator[LiveServer]:
    """Like the suite's live server, with the meter in front of the app."""
    with serve_in_thread(meter, name="e2e-pwa-uvicorn") as server:
        yield server


# ---------------------------------------------------------------------------------------------
# Helpers


def origin(live_server: LiveServer, tenant: TenantFixture) -> str:
    return live_server.url(tenant, "/").rstrip("/")


def wait_until(page: Page, script: str, arg: Any = None) -> None:
    """Poll an async page function until it gives a truthy value (wait_for_function takes a Promise as one)."""
    deadline = time.monotonic() + TIMEOUT_MS / 1000
    while not page.evaluate(script, arg):
        assert time.monotonic() < deadline, f"timed out waiting for {script}"
        page.wait_for_timeout(100)


def wait_for_service_worker(page: Page) -> None:
    """Until the worker is active and controls this page (only then does going offline prove anything)."""
    page.wait_for_function(SW_READY)


class DevtoolsPush:
    """A push service for the page's worker, through DevTools: open it before the page loads the site."""

    def __init__(self, context: BrowserContext, page: Page, site: str) -> None:
        self.page, self.site = page, site
        self.cdp = context.new_cdp_session(page)
        self.versions: list[dict[str, Any]] = []
        self.cdp.on("ServiceWorker.workerVersionUpdated", lambda e: self.versions.extend(e["versions"]))
        self.cdp.send("ServiceWorker.enable")

    def registration(self) -> str:
        """The site's registration, once DevTools has seen its worker activated (the page may see it first)."""
        deadline = time.monotonic() + TIMEOUT_MS / 1000
        while not (ours := self._activated()):
            assert time.monotonic() < deadline, self.versions
            self.page.wait_for_timeout(50)
        (registration,) = ours
        return registration

    def _activated(self) -> set[str]:
        script = self.site + "/sw.js"
        return {v["registrationId"] for v in self.versions if v["scriptURL"] == script and v["status"] == "activated"}

    def deliver(self, payload: dict[str, Any]) -> None:
        """Deliver until a notification shows. DevTools gives no outcome of a delivery, and one can vanish while
        the worker starts: a repeat carries the same tag, so it replaces the notification and never doubles it."""
        registration = self.registration()
        message = {"origin": self.site, "registrationId": registration, "data": json.dumps(payload)}
        deadline = time.monotonic() + 2 * TIMEOUT_MS / 1000
        while True:
            self.cdp.send("ServiceWorker.deliverPushMessage", message)
            again = time.monotonic() + 3
            while not self.page.evaluate(NOTIFIED) and time.monotonic() < again:
                self.page.wait_for_timeout(100)
            if self.page.evaluate(NOTIFIED):
                return
            assert time.monotonic() < deadline, "no notification was shown"


def open_review(page: Page, live_server: LiveServer, tenant: TenantFixture, photo: Path | None = None) -> Locator:
    """Fill in the street-light form and continue to the review page; returns its "send" form."""
    page.goto(live_server.url(tenant, "/s/street-light/form"))
    page.locator("#where__address").fill(ADDRESS)
    page.locator("#what").fill(WHAT)
    if photo is not None:
        page.locator("#photos").set_input_files(photo)
    page.locator("button[name=action][value=review]").click()
    form = page.locator("form[action='/s/street-light/submit']")
    expect(form).to_be_visible()
    page.wait_for_load_state("load")  # its scripts are ready to catch "send" while offline
    return form


def submit_request(page: Page, live_server: LiveServer, tenant: TenantFixture, photo: Path | None = None) -> str:
    """Fill in and send the street-light form online; returns the idempotency key."""
    form = open_review(page, live_server, tenant, photo)
    key = form.locator("input[name=idempotency_key]").input_value()
    form.locator("button.button-primary").click()
    expect(page).to_have_url(re.compile(r"/r/[^/?]+\?new=1$"))
    return key


def send_while_offline(context: Any, page: Page, live_server: LiveServer, tenant: TenantFixture) -> tuple[Locator, str]:
    """Open the review page with the service worker in control, go offline and press "send".

    Returns the review form and the request's idempotency key; the request is then queued on the device.
    """
    page.goto(live_server.url(tenant, "/"))
    wait_for_service_worker(page)
    form = open_review(page, live_server, tenant)
    key = form.locator("input[name=idempotency_key]").input_value()
    context.set_offline(True)
    form.locator("button.button-primary").click()
    expect(form.locator("[data-submit-status]")).to_have_text(QUEUED)
    return form, key


def tracking_path(page: Page) -> str:
    href = page.locator(".confirmation .tracking-link a").get_attribute("href") or ""
    assert re.fullmatch(r"/r/[A-Za-z0-9_-]{16,}", href), href
    return href


def count_cases(settings: Settings, tenant: TenantFixture, key: str | None = None) -> int:
    async def count() -> int:
        db = alchemy_config(settings)
        try:
            async with tenant_session(db, tenant.id) as session:
                query = select(func.count()).select_from(Case)
                if key is not None:
                    query = query.where(Case.idempotency_key == key)
                return int(await session.scalar(query) or 0)
        finally:
            await db.get_engine().dispose()

    return run_async(count())


def inbox_count(page: Page, live_server: LiveServer, tenant: TenantFixture) -> int:
    page.goto(live_server.url(tenant, "/staff/login"))
    page.locator("#email").fill(tenant.clerk_email)
    page.locator("#password").fill(tenant.password)
    page.locator("form[action='/staff/login'] button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/staff/?$"))
    return page.locator("table.inbox tbody tr").count()


# ---------------------------------------------------------------------------------------------
# Installable, and light


def test_home_is_installable_and_its_first_visit_is_light(
    playwright_instance: Playwright,
    live_server: LiveServer,
    meter: Meter,
    e2e_tenant: TenantFixture,
    tmp_path: Path,
) -> None:
    # An incognito context always reports "in-incognito": installability needs a real profile.
    context = playwright_instance.chromium.launch_persistent_context(
        str(tmp_path / "profile"),
        executable_path=CHROMIUM,
        headless=True,
        args=CHROMIUM_ARGS,
        **{k: v for k, v in PHONE.items() if k != "bypass_csp"},
    )
    try:
        context.set_default_timeout(TIMEOUT_MS)
        page = context.pages[0] if context.pages else context.new_page()
        page.goto(live_server.url(e2e_tenant, "/"))
        wait_for_service_worker(page)
        cdp = context.new_cdp_session(page)
        errors = cdp.send("Page.getInstallabilityErrors")["installabilityErrors"]
        assert errors == [], errors
        manifest = cdp.send("Page.getAppManifest")
        assert not manifest.get("errors"), manifest
        assert json.loads(manifest["data"])["name"] == e2e_tenant.name
        page.wait_for_timeout(500)  # let the worker's install requests finish
    finally:
        context.close()

    sent = meter.sent[e2e_tenant.host]
    listing = "\n".join(f"  {r.status} {r.body:6d} + {r.headers:4d} {r.path}" for r in sent)
    paths = {r.path for r in sent}
    assert {"/manifest.webmanifest", "/sw.js", "/offline", "/icons/192.png"} <= paths, listing
    assert all(r.status < 400 for r in sent), listing
    # The page itself (HTML, styles, scripts, manifest, icons) and, once, the worker's install.
    install = [r for r in sent if r.path in WORKER_INSTALL or r.status == 304]
    page_bodies = sum(r.body for r in sent if r not in install)
    install_bodies = sum(r.body for r in install)
    headers = sum(r.headers for r in sent)
    print(
        f"\nfirst visit of a municipality home page, compressed bodies + headers (HTTP/1.1):\n{listing}\n"
        f"  page {page_bodies} B, worker install {install_bodies} B, headers {headers} B in {len(sent)} responses"
    )
    assert page_bodies <= PAGE_BUDGET, listing
    assert install_bodies <= WORKER_INSTALL_BUDGET, listing


# ---------------------------------------------------------------------------------------------
# Offline


def test_worker_controls_the_page_and_offline_shows_the_offline_page_and_saved_requests(
    live_server: LiveServer, e2e_tenant: TenantFixture, open_context: Any, small_photo: Path
) -> None:
    context, page = open_context("citizen", **PHONE)
    page.goto(live_server.url(e2e_tenant, "/"))
    wait_for_service_worker(page)
    assert page.evaluate("async () => (await navigator.serviceWorker.ready).active.state") == "activated"
    assert page.evaluate("() => navigator.serviceWorker.controller.scriptURL").endswith("/sw.js")
    check_a11y(page, "home with manifest and worker")

    submit_request(page, live_server, e2e_tenant, small_photo)
    track = tracking_path(page)
    wait_until(page, "async path => !!(await (await caches.open('rathaus-pages')).match(path))", track)
    reference = (page.locator(".confirmation .reference").text_content() or "").strip()
    expect_photo_loaded(page, "dl.answers .photos")  # seen online: kept with the page

    context.set_offline(True)
    page.goto(live_server.url(e2e_tenant, "/"))
    expect(page.locator("h1")).to_have_text(OFFLINE_TITLE)
    expect(page).to_have_title(re.compile(re.escape(e2e_tenant.name)))
    saved = page.locator("[data-saved-pages]")
    expect(saved).to_be_visible()
    expect(saved.locator(f"a[href='{track}']")).to_contain_text(reference)
    check_a11y(page, "offline page")

    saved.locator(f"a[href='{track}']").click()
    expect(page).to_have_url(re.compile(re.escape(track) + "$"))
    note = page.locator("[data-offline-note]")
    expect(note).to_be_visible()
    expect(note).to_have_text(LAST_UPDATED)
    expect(page.locator("strong.reference")).to_have_text(reference)
    expect(page.locator(".confirmation")).to_be_hidden()  # it was saved from the page right after sending
    expect(page.locator(".timeline li")).to_have_count(1)
    expect_photo_loaded(page, "dl.answers .photos")
    check_a11y(page, "tracking page offline")

    # Another page that was never opened: the offline page, with the browser's error page nowhere.
    page.goto(live_server.url(e2e_tenant, "/s/street-light"))
    expect(page.locator("h1")).to_have_text(OFFLINE_TITLE)

    # The connection is back: the page the offline page stood for loads by itself.
    context.set_offline(False)
    expect(page.locator("h1")).not_to_have_text(OFFLINE_TITLE)
    expect(page).to_have_url(re.compile(r"/s/street-light$"))
    page.goto(live_server.url(e2e_tenant, track))
    expect(page.locator("[data-offline-note]")).to_be_hidden()


def test_tracking_page_open_when_the_connection_drops_says_since_when_it_is_offline(
    live_server: LiveServer, e2e_tenant: TenantFixture, open_context: Any
) -> None:
    context, page = open_context("citizen", **PHONE)
    page.goto(live_server.url(e2e_tenant, "/"))
    wait_for_service_worker(page)
    submit_request(page, live_server, e2e_tenant)
    page.wait_for_load_state("load")  # the page's scripts listen for the connection now
    note = page.locator("[data-offline-note]")
    expect(note).to_be_hidden()
    context.set_offline(True)
    expect(note).to_have_text(LAST_UPDATED)
    context.set_offline(False)
    expect(note).to_be_hidden()


def test_request_sent_while_offline_is_queued_and_sent_once_when_back_online(
    live_server: LiveServer, e2e_tenant: TenantFixture, open_context: Any, settings: Settings
) -> None:
    context, page = open_context("citizen", **PHONE)
    form, key = send_while_offline(context, page, live_server, e2e_tenant)
    queued = page.evaluate("async () => (await RathausOutbox.all()).map(e => [e.key, e.state || null])")
    assert queued == [[key, None]], queued
    check_a11y(page, "review page with the request queued")
    assert count_cases(settings, e2e_tenant, key) == 0

    context.set_offline(False)  # the page (and the worker's background sync) send it now
    expect(page).to_have_url(re.compile(r"/r/[^/?]+\?new=1$"))
    expect(page.locator(".confirmation")).to_be_visible()
    tracking_path(page)
    page.wait_for_timeout(1000)  # room for a late second sender, which must not make a second case
    assert count_cases(settings, e2e_tenant, key) == 1
    assert count_cases(settings, e2e_tenant) == 1
    assert page.evaluate("async () => (await RathausOutbox.all()).length") == 0
    assert page.evaluate("() => localStorage.getItem('rathaus-draft:street-light')") is None

    _, desk = open_context("clerk", **PHONE)
    assert inbox_count(desk, live_server, e2e_tenant) == 1


def test_request_queued_on_one_page_is_reported_on_the_next_once_sent(
    live_server: LiveServer, e2e_tenant: TenantFixture, open_context: Any, settings: Settings
) -> None:
    context, page = open_context("citizen", **PHONE)
    form, key = send_while_offline(context, page, live_server, e2e_tenant)

    # The citizen leaves the review page while still offline; the connection comes back elsewhere.
    page.goto(live_server.url(e2e_tenant, "/"))
    expect(page.locator("h1")).to_have_text(OFFLINE_TITLE)
    context.set_offline(False)
    notice = page.locator("[data-outbox-notice]")
    expect(notice).to_be_visible()
    link = notice.locator("a")
    expect(link).to_have_attribute("href", re.compile(r"/r/[^/?]+\?new=1$"))
    check_a11y(page, "offline page telling that the saved request was sent")
    link.click()
    expect(page.locator(".confirmation")).to_be_visible()
    assert count_cases(settings, e2e_tenant, key) == 1
    page.goto(live_server.url(e2e_tenant, "/"))
    expect(page.locator("[data-outbox-notice]")).to_be_hidden()


def test_service_worker_sends_a_queued_request_in_the_background_and_notifies(
    live_server: LiveServer, e2e_tenant: TenantFixture, open_context: Any, settings: Settings
) -> None:
    """The citizen closes the page while offline; Background Sync wakes the worker once online."""
    context, page = open_context("citizen", **PHONE)
    site = origin(live_server, e2e_tenant)
    context.grant_permissions(["notifications", "background-sync"], origin=site)
    form, key = send_while_offline(context, page, live_server, e2e_tenant)
    wait_until(page, "async () => (await (await navigator.serviceWorker.ready).sync.getTags()).length > 0")
    tags = page.evaluate("async () => (await navigator.serviceWorker.ready).sync.getTags()")
    assert tags == ["rathaus-submissions"], tags

    # No page of the municipality is open when the connection comes back: only the worker can send it.
    page.close()
    context.set_offline(False)
    deadline = time.monotonic() + TIMEOUT_MS / 1000
    while count_cases(settings, e2e_tenant, key) == 0:
        assert time.monotonic() < deadline, "the worker did not send the queued request"
        time.sleep(0.2)

    page = context.new_page()
    page.goto(live_server.url(e2e_tenant, "/"))
    wait_until(page, NOTIFIED)
    shown = page.evaluate(
        "async () => (await (await navigator.serviceWorker.ready).getNotifications()).map(n => [n.title, n.data.url])"
    )
    assert len(shown) == 1 and re.fullmatch(r"/r/[^/?]+\?new=1|http://[^/]+/r/[^/?]+\?new=1", shown[0][1]), shown
    assert re.search(r"Ihr Anliegen wurde gesendet|Your request was sent", shown[0][0]), shown
    notice = page.locator("[data-outbox-notice]")
    expect(notice).to_be_visible()
    notice.locator("a").click()
    expect(page.locator(".confirmation")).to_be_visible()
    assert count_cases(settings, e2e_tenant, key) == 1


def test_form_answers_are_kept_as_a_draft_until_the_request_is_sent(
    live_server: LiveServer, e2e_tenant: TenantFixture, open_context: Any
) -> None:
    context, page = open_context("citizen", **PHONE)
    form_url = live_server.url(e2e_tenant, "/s/street-light/form")
    page.goto(form_url)
    key = page.locator("input[name=idempotency_key]").input_value()
    page.locator("#where__address").fill(ADDRESS)
    page.locator("#what").fill(WHAT)
    page.get_by_label("Flackert").check()

    # The citizen comes back later: everything is there, and so is the device key of the draft.
    page.goto(live_server.url(e2e_tenant, "/"))
    page.goto(form_url)
    notice = page.locator("[data-draft-notice]")
    expect(notice).to_be_visible()
    expect(page.locator("#where__address")).to_have_value(ADDRESS)
    expect(page.locator("#what")).to_have_value(WHAT)
    expect(page.get_by_label("Flackert")).to_be_checked()
    expect(page.locator("input[name=idempotency_key]")).to_have_value(key)
    check_a11y(page, "form with a restored draft")

    # "Discard" empties the form and starts a new request.
    notice.locator("[data-role=discard]").click()
    expect(notice).to_be_hidden()
    expect(page.locator("#what")).to_have_value("")
    expect(page.get_by_label("Flackert")).not_to_be_checked()
    assert page.locator("input[name=idempotency_key]").input_value() not in ("", key)
    page.goto(form_url)
    expect(page.locator("[data-draft-notice]")).to_be_hidden()

    # Offline, "continue" keeps the citizen on the form instead of the browser's error page.
    page.goto(live_server.url(e2e_tenant, "/"))
    wait_for_service_worker(page)
    page.goto(form_url)
    page.locator("#what").fill(WHAT)
    context.set_offline(True)
    page.locator("button[name=action][value=review]").click()
    expect(page.locator("[data-upload-status]")).to_have_text(re.compile(r"offline"))
    expect(page.locator("#what")).to_have_value(WHAT)
    context.set_offline(False)

    # Sent: the draft is gone.
    page.locator("#where__address").fill(ADDRESS)
    page.locator("button[name=action][value=review]").click()
    page.locator("form[action='/s/street-light/submit'] button.button-primary").click()
    expect(page.locator(".confirmation")).to_be_visible()
    # The confirmation page's deferred script forgets the draft; on a busy machine it runs a moment later.
    page.wait_for_function("() => localStorage.getItem('rathaus-draft:street-light') === null", timeout=10_000)
    page.goto(form_url)
    expect(page.locator("[data-draft-notice]")).to_be_hidden()
    expect(page.locator("#what")).to_have_value("")


def test_offline_features_work_under_the_apps_own_csp(
    live_server: LiveServer, e2e_tenant: TenantFixture, open_context: Any, settings: Settings
) -> None:
    """The other tests bypass the Content-Security-Policy for axe; this one keeps it and fails on any violation."""
    context, page = open_context("citizen under CSP", **{**PHONE, "bypass_csp": False})
    context.add_init_script(
        """document.addEventListener('securitypolicyviolation', e => {
             (window.__csp = window.__csp || []).push(e.violatedDirective + ' ' + e.blockedURI);
           });"""
    )
    violations: list[str] = []
    page.on("console", lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None)

    def collect() -> None:
        violations.extend(page.evaluate("() => window.__csp || []"))

    page.goto(live_server.url(e2e_tenant, "/"))
    wait_for_service_worker(page)
    form = open_review(page, live_server, e2e_tenant)
    key = form.locator("input[name=idempotency_key]").input_value()
    collect()
    context.set_offline(True)
    form.locator("button.button-primary").click()
    expect(form.locator("[data-submit-status]")).to_have_text(QUEUED)
    collect()
    context.set_offline(False)
    expect(page.locator(".confirmation")).to_be_visible()
    track = tracking_path(page)
    wait_until(page, "async path => !!(await (await caches.open('rathaus-pages')).match(path))", track)
    collect()
    context.set_offline(True)
    page.goto(live_server.url(e2e_tenant, "/"))
    expect(page.locator(f"[data-saved-pages] a[href='{track}']")).to_be_visible()
    collect()
    page.goto(live_server.url(e2e_tenant, track))
    expect(page.locator("[data-offline-note]")).to_be_visible()
    collect()
    context.set_offline(False)
    assert count_cases(settings, e2e_tenant, key) == 1
    assert not violations, violations


# ---------------------------------------------------------------------------------------------
# Push


def test_push_from_the_server_shows_a_notification_that_links_to_the_request(
    live_server: LiveServer, e2e_tenant: TenantFixture, open_context: Any
) -> None:
    context, page = open_context("citizen", **PHONE)
    site = origin(live_server, e2e_tenant)
    context.grant_permissions(["notifications"], origin=site)
    push = DevtoolsPush(context, page, site)
    page.goto(live_server.url(e2e_tenant, "/"))
    wait_for_service_worker(page)
    payload = {
        "title": "Ihr Anliegen 2026-00042",
        "body": "Status: In Bearbeitung",
        "url": "/r/abc123",
        "tag": "case-1",
    }
    push.deliver(payload)
    shown = page.evaluate(
        """async () => (await (await navigator.serviceWorker.ready).getNotifications())
             .map(n => ({title: n.title, body: n.body, tag: n.tag, url: n.data.url, icon: n.icon}))"""
    )
    assert len(shown) == 1, shown
    assert shown[0]["title"] == payload["title"] and shown[0]["body"] == payload["body"]
    assert shown[0]["url"] == "/r/abc123" and shown[0]["tag"] == "case-1"
    assert shown[0]["icon"].endswith("/icons/192.png")


# The browser's push service, replaced: subscribe() resolves with the subscription given.
FAKE_PUSH = """
(subscription => {
  if (!window.PushManager) return;
  const sub = {endpoint: subscription.endpoint, toJSON: () => subscription};
  let current = null;
  PushManager.prototype.getSubscription = function () { return Promise.resolve(current); };
  PushManager.prototype.subscribe = function (options) {
    window.__applicationServerKey = btoa(String.fromCharCode(...new Uint8Array(options.applicationServerKey)))
      .replace(/\\+/g, '-').replace(/\\//g, '_').replace(/=+$/, '');
    window.__userVisibleOnly = options.userVisibleOnly;
    current = sub;
    return Promise.resolve(sub);
  };
})"""


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def device_subscription() -> dict[str, Any]:
    """What a browser's pushManager.subscribe() gives: an endpoint on a push service the server accepts (the
    tests allow only 127.0.0.1; nothing is sent there, the test server runs no delivery worker), and keys."""
    point = (
        ec.generate_private_key(ec.SECP256R1())
        .public_key()
        .public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    )
    return {
        "endpoint": f"http://127.0.0.1:9/push/e2e-{secrets.token_urlsafe(12)}",
        "expirationTime": None,
        "keys": {"p256dh": b64url(point), "auth": b64url(secrets.token_bytes(16))},
    }


def devices_following(settings: Settings, tenant: TenantFixture, token: str) -> list[str]:
    async def query() -> list[str]:
        db = alchemy_config(settings)
        try:
            async with tenant_session(db, tenant.id) as session:
                rows = await session.scalars(
                    select(PushSubscription.endpoint)
                    .join(CaseSubscription, CaseSubscription.subscription_id == PushSubscription.id)
                    .join(Case, Case.id == CaseSubscription.case_id)
                    .where(Case.tracking_token == token)
                )
                return list(rows)
        finally:
            await db.get_engine().dispose()

    return run_async(query())


def test_notify_button_subscribes_this_device_for_the_request(
    live_server: LiveServer, e2e_tenant: TenantFixture, open_context: Any, settings: Settings
) -> None:
    """Against the server's real push routes; only the browser's push service is a stand-in."""
    context, page = open_context("citizen", **PHONE)
    context.grant_permissions(["notifications"], origin=origin(live_server, e2e_tenant))
    page.goto(live_server.url(e2e_tenant, "/"))
    wait_for_service_worker(page)
    track = tracking_path_of_new_request(page, live_server, e2e_tenant)
    token = track.rsplit("/", 1)[1]
    subscription = device_subscription()
    context.add_init_script(f"{FAKE_PUSH}({json.dumps(subscription)});")
    sent: list[dict[str, Any]] = []
    page.on(
        "request",
        lambda r: (
            sent.append({"method": r.method, "body": r.post_data_json, "csrf": r.headers.get("x-csrftoken")})
            if r.url.endswith("/push/subscriptions")
            else None
        ),
    )
    page.goto(live_server.url(e2e_tenant, track))
    csrf = page.locator("meta[name=csrf-token]").get_attribute("content")

    box = page.locator("[data-push]")
    status = box.locator("[data-role=status]")
    expect(box).to_be_visible()
    check_a11y(page, "tracking page with the notification button")
    box.locator("[data-role=on]").click()
    expect(status).to_have_text(re.compile(r"Benachrichtigungen für dieses Anliegen sind an|Notifications are on"))
    expect(box.locator("[data-role=off]")).to_be_focused()
    assert sent == [{"method": "POST", "body": {"subscription": subscription, "token": token}, "csrf": csrf}], sent
    server_key = page.evaluate("async () => (await (await fetch('/push/key')).json()).publicKey")
    assert page.evaluate("() => [window.__applicationServerKey, window.__userVisibleOnly]") == [server_key, True]
    assert devices_following(settings, e2e_tenant, token) == [subscription["endpoint"]]

    page.reload()  # the page remembers that this device follows the request
    expect(box.locator("[data-role=off]")).to_be_visible()
    expect(box.locator("[data-role=on]")).to_be_hidden()
    box.locator("[data-role=off]").click()
    expect(status).to_have_text(re.compile(r"Benachrichtigungen für dieses Anliegen sind aus|are off"))
    assert sent[-1] == {
        "method": "DELETE",
        "body": {"endpoint": subscription["endpoint"], "token": token},
        "csrf": csrf,
    }
    assert devices_following(settings, e2e_tenant, token) == []
    expect(box.locator("[data-role=on]")).to_be_visible()
    check_a11y(page, "tracking page after turning notifications off")


def test_notify_button_says_so_when_the_browser_cannot_subscribe(
    live_server: LiveServer, e2e_tenant: TenantFixture, open_context: Any
) -> None:
    """This Chromium has no push service: subscribe() fails (headless) or never settles (with a window)."""
    context, page = open_context("citizen", **PHONE)
    context.grant_permissions(["notifications"], origin=origin(live_server, e2e_tenant))
    page.goto(live_server.url(e2e_tenant, "/"))
    wait_for_service_worker(page)
    track = tracking_path_of_new_request(page, live_server, e2e_tenant)
    page.goto(live_server.url(e2e_tenant, track))
    box = page.locator("[data-push]")
    status = box.locator("[data-role=status]")
    box.evaluate("box => { box.dataset.timeout = '1500'; }")
    box.locator("[data-role=on]").click()
    expect(status).to_have_text(re.compile(r"konnten nicht eingeschaltet werden|could not be turned on"))
    expect(box.locator("[data-role=on]")).to_be_enabled()

    # A subscription that never settles: the page stops waiting and says why.
    context.add_init_script("PushManager.prototype.subscribe = () => new Promise(() => {});")
    page.reload()
    box.evaluate("box => { box.dataset.timeout = '1500'; }")
    box.locator("[data-role=on]").click()
    expect(status).to_have_text(re.compile(r"nicht rechtzeitig geantwortet|did not answer in time"))
    expect(box.locator("[data-role=on]")).to_be_enabled()
    expect(box.locator("[data-role=off]")).to_be_hidden()


def test_notify_button_is_hidden_where_notifications_are_blocked(
    live_server: LiveServer, e2e_tenant: TenantFixture, open_context: Any
) -> None:
    context, page = open_context("citizen", **PHONE)
    page.goto(live_server.url(e2e_tenant, "/"))
    track = tracking_path_of_new_request(page, live_server, e2e_tenant)
    context.add_init_script("Object.defineProperty(Notification, 'permission', {get: () => 'denied'});")
    page.goto(live_server.url(e2e_tenant, track))
    expect(page.locator("h1")).to_be_visible()
    page.wait_for_load_state("load")
    expect(page.locator("[data-push]")).to_be_hidden()


def tracking_path_of_new_request(page: Page, live_server: LiveServer, tenant: TenantFixture) -> str:
    submit_request(page, live_server, tenant)
    return tracking_path(page)
