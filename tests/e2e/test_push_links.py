"""A push whose link is the municipality's public address (absolute, as the server sends it) opens that page."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from tests.e2e.conftest import PHONE, TIMEOUT_MS, LiveServer
from tests.e2e.test_pwa import origin, wait_for_service_worker
from tests.factories import TenantFixture

pytestmark = pytest.mark.browser


@pytest.mark.parametrize(
    ("url", "kept"),
    [
        ("{site}/r/abc123", "{site}/r/abc123"),  # the public address of this very site
        ("https://rathaus.example/r/abc123", "https://rathaus.example/r/abc123"),  # the custom host
        ("javascript:alert(1)", "/"),  # anything else falls back to the start page
    ],
)
def test_push_with_an_absolute_public_link_keeps_it(
    live_server: LiveServer, e2e_tenant: TenantFixture, open_context: Any, url: str, kept: str
) -> None:
    context, page = open_context("citizen", **PHONE)
    site = origin(live_server, e2e_tenant)
    context.grant_permissions(["notifications"], origin=site)
    cdp = context.new_cdp_session(page)
    registrations: list[dict[str, Any]] = []
    cdp.on("ServiceWorker.workerRegistrationUpdated", lambda e: registrations.extend(e["registrations"]))
    cdp.send("ServiceWorker.enable")
    page.goto(live_server.url(e2e_tenant, "/"))
    wait_for_service_worker(page)

    def ours() -> set[str]:
        return {r["registrationId"] for r in registrations if r["scopeURL"] == site + "/" and not r["isDeleted"]}

    deadline = time.monotonic() + TIMEOUT_MS / 1000
    while not ours():
        assert time.monotonic() < deadline, registrations
        page.wait_for_timeout(50)
    (registration,) = ours()
    payload = {"title": "Gemeinde", "body": "Neu", "url": url.format(site=site), "tag": "case-9"}
    shown_any = "async () => (await (await navigator.serviceWorker.ready).getNotifications()).length > 0"
    # A push delivered while the worker is still starting can be dropped: deliver again (same tag, so the
    # notification is replaced, never doubled) until one shows.
    deadline = time.monotonic() + 2 * TIMEOUT_MS / 1000
    while True:
        cdp.send(
            "ServiceWorker.deliverPushMessage",
            {"origin": site, "registrationId": registration, "data": json.dumps(payload)},
        )
        retry_at = time.monotonic() + 5
        while not page.evaluate(shown_any) and time.monotonic() < retry_at:
            page.wait_for_timeout(100)
        if page.evaluate(shown_any):
            break
        assert time.monotonic() < deadline, "no notification was shown"
    shown = page.evaluate(
        "async () => (await (await navigator.serviceWorker.ready).getNotifications()).map(n => n.data.url)"
    )
    assert shown == [kept.format(site=site)]
