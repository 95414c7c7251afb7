"""Conditional GET: a page the browser already has is answered with 304 and no body."""

from __future__ import annotations

import dataclasses

from litestar import Litestar
from litestar.testing import AsyncTestClient

from backend.app import create_app
from backend.settings import Settings
from tests.factories import TenantFixture

GZIP = {"accept-encoding": "gzip"}


async def test_an_unchanged_home_page_costs_only_headers(client: AsyncTestClient[Litestar]) -> None:
    first = await client.get("/", headers=GZIP)
    assert first.status_code == 200
    etag = first.headers["etag"]
    assert etag.startswith('W/"')

    again = await client.get("/", headers={**GZIP, "if-none-match": etag})
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["etag"] == etag
    assert again.headers["cache-control"] == "no-cache"
    assert {"cookie", "accept-language", "hx-request"} <= {v.strip().lower() for v in again.headers["vary"].split(",")}

    # The tag is the page's, not the compressed bytes': gzip's time stamp does not change it.
    plain = await client.get("/", headers={"accept-encoding": "identity", "if-none-match": etag})
    assert plain.status_code == 304
    # Several tags, weak or strong, as caches send them.
    listed = await client.get("/", headers={"if-none-match": f'"other", {etag.removeprefix("W/")}'})
    assert listed.status_code == 304
    head = await client.head("/", headers={"if-none-match": etag})
    assert head.status_code == 304


async def test_a_changed_page_is_sent_in_full(client: AsyncTestClient[Litestar]) -> None:
    german = await client.get("/")
    stale = await client.get("/", headers={"if-none-match": 'W/"0123456789abcdef01234567"'})
    assert stale.status_code == 200 and stale.text == german.text

    client.cookies.set("rathaus_lang", "en")
    english = await client.get("/", headers={"if-none-match": german.headers["etag"]})
    assert english.status_code == 200
    assert english.headers["etag"] != german.headers["etag"]


async def test_private_pages_and_errors_are_never_tagged(client: AsyncTestClient[Litestar]) -> None:
    login = await client.get("/staff/login")
    assert login.headers["cache-control"] == "no-store"
    assert "etag" not in login.headers
    missing = await client.get("/s/no-such-service")
    assert missing.status_code == 404
    assert "etag" not in missing.headers


async def test_behind_a_compressing_proxy_pages_leave_uncompressed_and_still_tagged(
    settings: Settings, tenant: TenantFixture
) -> None:
    """RATHAUS_GZIP_LEVEL=0: the proxy compresses; the app's pages keep their tags and 304 answers."""
    plain_app = create_app(dataclasses.replace(settings, gzip_level=0))
    async with AsyncTestClient(plain_app, base_url=f"http://{tenant.host}") as client:
        first = await client.get("/", headers=GZIP)
        assert first.status_code == 200
        assert "content-encoding" not in first.headers
        assert int(first.headers["content-length"]) == len(first.content) > 512
        again = await client.get("/", headers={**GZIP, "if-none-match": first.headers["etag"]})
        assert again.status_code == 304 and again.content == b""
        private = await client.get("/staff/login", headers=GZIP)
        assert private.status_code == 200 and "etag" not in private.headers

    fast_app = create_app(dataclasses.replace(settings, gzip_level=1))
    async with AsyncTestClient(fast_app, base_url=f"http://{tenant.host}") as client:
        packed = await client.get("/", headers=GZIP)
        assert packed.headers["content-encoding"] == "gzip"
        assert packed.headers["etag"] == first.headers["etag"], "the tag is the page's, whatever the compression"
