"""The installable app over HTTP: manifest, icons, service worker and offline page, per municipality host."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import re
from pathlib import Path

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from PIL import Image

from backend.core.db import alchemy_config, unscoped_session
from backend.settings import Settings
from backend.tenants.models import Tenant
from tests.conftest import Person
from tests.factories import TenantFixture
from tests.helpers import submit_case

APP_PATHS = ("/manifest.webmanifest", "/icons/192.png", "/icons/maskable-512.png", "/sw.js", "/offline")


async def test_manifest_describes_the_municipality(person: Person, app: Litestar, tenant: TenantFixture) -> None:
    async with person(tenant.host) as c:
        response = await c.get("/manifest.webmanifest")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/manifest+json")
    assert response.headers["cache-control"] == "public, max-age=300"  # like the theme: a change shows soon
    assert "set-cookie" not in response.headers
    manifest = json.loads(response.content)
    assert manifest["name"] == tenant.name
    assert manifest["short_name"] == tenant.slug  # "Gemeinde <slug>" without the generic word
    assert manifest["start_url"] == "/?source=pwa" and manifest["scope"] == "/" and manifest["id"] == "/"
    assert manifest["display"] == "standalone" and manifest["theme_color"] == "#1d4f91"
    assert {(i["sizes"], i["purpose"]) for i in manifest["icons"]} == {
        ("192x192", "any"),
        ("512x512", "any"),
        ("512x512", "maskable"),
    }


async def test_manifest_answers_304_to_a_matching_etag(person: Person, app: Litestar, tenant: TenantFixture) -> None:
    async with person(tenant.host) as c:
        first = await c.get("/manifest.webmanifest")
        again = await c.get("/manifest.webmanifest", headers={"If-None-Match": first.headers["etag"]})
    assert again.status_code == 304 and again.content == b""


async def test_icons_are_pngs_of_their_size_cached_for_a_day_when_versioned(
    person: Person, app: Litestar, tenant: TenantFixture
) -> None:
    async with person(tenant.host) as c:
        manifest = (await c.get("/manifest.webmanifest")).json()
        for entry in manifest["icons"]:
            response = await c.get(entry["src"])
            assert response.status_code == 200, entry
            assert response.headers["content-type"] == "image/png"
            assert response.headers["cache-control"] == "public, max-age=86400"
            assert re.fullmatch(r'"[0-9a-f]{20}"', response.headers["etag"])
            assert "set-cookie" not in response.headers
            img = Image.open(io.BytesIO(response.content))
            assert img.format == "PNG" and f"{img.width}x{img.height}" == entry["sizes"]
            cached = await c.get(entry["src"], headers={"If-None-Match": response.headers["etag"]})
            assert cached.status_code == 304
        # The page links the apple-touch-icon without a version: checked with the server every time.
        plain = await c.get("/icons/192.png")
        assert plain.headers["cache-control"] == "public, no-cache"
        assert (await c.get("/icons/favicon.png")).status_code == 404


async def test_service_worker_is_served_at_the_root_with_its_version_filled_in(
    person: Person, app: Litestar, settings: Settings, tenant: TenantFixture
) -> None:
    async with person(tenant.host) as c:
        response = await c.get("/sw.js")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/javascript")
    assert response.headers["service-worker-allowed"] == "/"
    assert response.headers["cache-control"] == "no-cache"
    assert "set-cookie" not in response.headers
    source = response.text
    assert "__VERSION__" not in source and "__SHELL__" not in source
    assert re.search(r'const VERSION = "[0-9a-f]{12}";', source), source[:400]
    shell = dict(json.loads(re.search(r"const SHELL = (\[.*?\]);", source).group(1)))  # type: ignore[union-attr]
    assert {"/offline", "/static/js/app.js", "/static/css/app.css", "/icons/192.png"} <= set(shell)
    assert "/static/vendor/htmx.min.js" not in shell, "htmx is fetched when first used, not on install"
    assert shell["/offline"] == ""  # always from the server
    static = Path(settings.static_dir)
    expected = base64.b64encode(hashlib.sha256((static / "js" / "app.js").read_bytes()).digest()).decode()
    assert shell["/static/js/app.js"] == "sha256-" + expected
    (theme,) = [url for url in shell if url.startswith("/theme.css?v=")]
    async with person(tenant.host) as c:
        css = (await c.get(theme)).content
    assert shell[theme] == "sha256-" + base64.b64encode(hashlib.sha256(css).digest()).decode()


async def test_service_worker_version_follows_the_branding(
    app: Litestar, settings: Settings, tenant: TenantFixture
) -> None:
    async def version() -> str:
        async with AsyncTestClient(app, base_url=f"http://{tenant.host}") as c:
            return re.search(r'const VERSION = "(\w+)"', (await c.get("/sw.js")).text).group(1)  # type: ignore[union-attr]

    async def set_color(color: str) -> None:
        db = alchemy_config(settings)
        async with unscoped_session(db) as session:
            row = await session.get(Tenant, tenant.id)
            assert row is not None
            row.primary_color = color
        await db.get_engine().dispose()
        app.state.host_cache.clear()

    before = await version()
    assert before == await version()
    await set_color("#2e6b30")
    after = await version()
    assert after != before


async def test_offline_page_is_a_translated_page_of_the_municipality(
    person: Person, app: Litestar, tenant: TenantFixture
) -> None:
    async with person(tenant.host) as c:
        german = await c.get("/offline")
        english = await c.get("/offline", headers={"Accept-Language": "en"})
    assert german.status_code == 200 and german.headers["content-type"].startswith("text/html")
    assert german.headers["cache-control"] == "no-cache"
    assert tenant.name in german.text and "Sie sind offline" in german.text
    assert "You are offline" in english.text
    assert '<link rel="manifest" href="/manifest.webmanifest">' in german.text


async def test_pages_link_the_manifest_and_icons(person: Person, app: Litestar, tenant: TenantFixture) -> None:
    async with person(tenant.host) as c:
        home = await c.get("/")
    assert '<link rel="manifest" href="/manifest.webmanifest">' in home.text
    assert '<meta name="theme-color" content="#1d4f91">' in home.text
    assert '<link rel="apple-touch-icon" href="/icons/192.png">' in home.text
    assert '<link rel="icon" href="/icons/192.png" type="image/png">' in home.text


async def test_pages_that_send_json_carry_a_csrf_token_for_it(
    person: Person, app: Litestar, tenant: TenantFixture
) -> None:
    """The tracking page (notifications) and the offline page (a token for requests sent after a restart)."""
    async with person(tenant.host) as c:
        tracking = await submit_case(c, tenant, photo=False)
        pages = {path: (await c.get(path)).text for path in (tracking, "/offline", "/")}
    token = re.compile(r'<meta name="csrf-token" content="[^"]{20,}">')
    assert token.search(pages[tracking]) and token.search(pages["/offline"])
    assert not token.search(pages["/"]), "only where a script needs it: every byte of the home page counts"


async def test_platform_page_has_no_manifest(app: Litestar, tenant: TenantFixture) -> None:
    async with AsyncTestClient(app, base_url="http://localhost.") as c:
        page = await c.get("/", headers={"Host": "localhost:8000"})
        app_files = [await c.get(path, headers={"Host": "localhost:8000"}) for path in APP_PATHS]
    assert page.status_code == 200 and "manifest" not in page.text and "/static/js/pwa.js" not in page.text
    assert [r.status_code for r in app_files] == [404] * len(APP_PATHS)


@pytest.mark.parametrize("path", APP_PATHS)
async def test_unknown_host_gets_404_for_the_app_files(app: Litestar, tenant: TenantFixture, path: str) -> None:
    async with AsyncTestClient(app, base_url="http://nowhere.localhost") as c:
        response = await c.get(path)
    assert response.status_code == 404
    assert tenant.slug not in response.text and tenant.name not in response.text
