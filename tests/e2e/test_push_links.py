"""A push whose link is the municipality's public address (absolute, as the server sends it) opens that page."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.conftest import PHONE, LiveServer
from tests.e2e.test_pwa import DevtoolsPush, origin, wait_for_service_worker
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
    push = DevtoolsPush(context, page, site)
    page.goto(live_server.url(e2e_tenant, "/"))
    wait_for_service_worker(page)
    push.deliver({"title": "Gemeinde", "body": "Neu", "url": url.format(site=site), "tag": "case-9"})
    shown = page.evaluate(
        "async () => (await (await navigator.serviceWorker.ready).getNotifications()).map(n => n.data.url)"
    )
    assert shown == [kept.format(site=site)]
