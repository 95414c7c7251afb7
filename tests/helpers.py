"""Steps a person takes through the HTTP client, with real cookies and CSRF tokens."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit

from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import event
from sqlalchemy.engine import Engine

from tests.conftest import csrf_token
from tests.factories import TenantFixture, jpeg_bytes

Client = AsyncTestClient[Litestar]

VALID_ANSWERS = {
    "where__address": "Hauptstraße 12",
    "where__description": "vor der Bäckerei",
    "what": "Die Laterne leuchtet seit Tagen nicht.",
    "kind": "dark",
    "email": "anna@example.org",
}


async def open_form(client: Client, tenant: TenantFixture) -> str:
    response = await client.get(f"/s/{tenant.service_slug}/form")
    assert response.status_code == 200
    return csrf_token(response.text)


async def post_form(
    client: Client,
    tenant: TenantFixture,
    answers: dict[str, Any],
    *,
    key: str = "device-key-0123456789abcdef",
    files: list[tuple[str, bytes]] | None = None,
    token: str | None = None,
) -> Any:
    token = token or await open_form(client, tenant)
    data = {"_csrf_token": token, "idempotency_key": key, **answers}
    upload = [("photos", (name, content, "image/jpeg")) for name, content in (files or [])]
    return await client.post(f"/s/{tenant.service_slug}/form", data=data, files=upload or None)


def hidden_fields(html: str) -> list[tuple[str, str]]:
    """The name/value pairs of the review page's hidden inputs, as the browser would send them."""
    form = html[html.index('action="/s/') :]
    return re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', form)


async def submit_from_review(client: Client, tenant: TenantFixture, review_html: str) -> Any:
    fields = hidden_fields(review_html)
    return await client.post(f"/s/{tenant.service_slug}/submit", data=_multi(fields), follow_redirects=False)


def _multi(pairs: list[tuple[str, str]]) -> Any:
    # httpx takes a list of pairs for repeated keys when given as a dict of lists
    out: dict[str, list[str]] = {}
    for k, v in pairs:
        out.setdefault(k, []).append(_unescape(v))
    return out


def _unescape(value: str) -> str:
    return (
        value.replace("&#34;", '"')
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
    )


async def submit_case(
    client: Client, tenant: TenantFixture, *, key: str = "device-key-0123456789abcdef", photo: bool = True
) -> str:
    """Fill in, review and submit a request; returns the tracking path /r/<token>."""
    review = await post_form(
        client, tenant, VALID_ANSWERS, key=key, files=[("lamp.jpg", jpeg_bytes())] if photo else None
    )
    assert review.status_code == 200
    assert 'action="/s/' in review.text and "/submit" in review.text, review.text
    done = await submit_from_review(client, tenant, review.text)
    assert done.status_code == 303
    return urlsplit(done.headers["location"]).path


async def login(client: Client, email: str, password: str) -> Any:
    page = await client.get("/staff/login")
    return await client.post(
        "/staff/login",
        data={"_csrf_token": csrf_token(page.text), "email": email, "password": password, "next": "/staff"},
        follow_redirects=False,
    )


async def staff_post(client: Client, page_path: str, action: str, data: dict[str, str]) -> Any:
    page = await client.get(page_path)
    return await client.post(
        action, data={"_csrf_token": csrf_token(page.text), **data}, follow_redirects=False
    )


@contextmanager
def statements_run() -> Iterator[list[str]]:
    """The SQL of every statement this process sends to a database inside the block (for round-trip tests)."""
    seen: list[str] = []

    def note(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        seen.append(statement)

    event.listen(Engine, "before_cursor_execute", note)
    try:
        yield seen
    finally:
        event.remove(Engine, "before_cursor_execute", note)
