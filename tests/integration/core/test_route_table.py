"""Promises every route keeps, checked over the app's whole route table (a new route is covered by itself):
malformed input never gives a 5xx, every GET answers HEAD, every response has the security headers, and
private responses are never stored; every state-changing route refuses a request without a CSRF token."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import func, select

from backend.accounts import throttle
from backend.app import CSRF_EXEMPT
from backend.core.db import Base, alchemy_config
from backend.open311 import controllers as open311
from backend.settings import Settings
from tests.integration.core.routes import (
    ALL_METHODS,
    ENDPOINTS,
    GET_ENDPOINTS,
    METHODS,
    UNSAFE_ENDPOINTS,
    Endpoint,
    World,
    fill,
    implausible,
)

pytestmark = pytest.mark.asyncio(loop_scope="module")

# Unsafe-method routes that take no CSRF token, with the reason (the push endpoints are called by the page's own
# script, which sends the token in a header, so they are not here). Keep in step with CSRF_EXEMPT in backend/app.py.
CSRF_EXEMPT_UNSAFE: dict[str, str] = {
    "/my-requests/status": "reads only; its reason is in CSRF_EXEMPT",
    "/r/{token:str}/unsubscribe": "mail programs post the one-click unsubscribe (RFC 8058) without a token; "
    "a signature in the link authorises it",
    "/open311/v2/requests.json": "no cookie: an api_key with the write scope in the request authorises it",
    "/open311/v2/requests.xml": "no cookie: an api_key with the write scope in the request authorises it",
    "/api/v1/cases/{reference:str}/status": "no cookie: a key with the write scope in the Authorization header",
    "/api/v1/cases/{reference:str}/messages": "no cookie: a key with the write scope in the Authorization header",
}
# Of those, the routes a key in the request authorises: without a key they refuse as a route without a token does
# (the JSON API with 401 and a WWW-Authenticate header, as RFC 6750 has it).
KEY_AUTHORISED = {
    "/open311/v2/requests.json",
    "/open311/v2/requests.xml",
    "/api/v1/cases/{reference:str}/status",
    "/api/v1/cases/{reference:str}/messages",
}

BAD_HOSTS = ["musterstadt.localhost:abc", "musterstadt.localhost:99999", "a:b:c", "[::1", "bad host\\name", ""]


@pytest.fixture(scope="module", autouse=True)
def no_login_delays() -> Iterator[None]:
    """Malformed logins are failures too; their growing delays would only make this module slow. The many calls
    of the API's routes would reach its rate limits, and a limit reached between a GET and its HEAD fails them."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(throttle, "FAILURE_DELAY_SECONDS", 0.0)
        patch.setattr(open311, "READS_PER_MINUTE", 1_000_000)
        patch.setattr(open311, "WRITES_PER_MINUTE", 1_000_000)
        yield


def _ids(endpoints: list[Endpoint]) -> list[str]:
    return [e.id for e in endpoints]


def _nested_json(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


async def _send(world: World, endpoint: Endpoint, path: str, **kwargs: Any) -> Any:
    await world.ensure_staff_login(endpoint)
    client = world.client(endpoint)
    return await client.request(endpoint.method, path, follow_redirects=False, **kwargs)


def _bodies(token: str) -> list[dict[str, Any]]:
    csrf = {"x-csrftoken": token}
    return [
        {
            "content": b"email=%FF%FE&password=\xff\xfe&what=\xc3\x28",
            "headers": {**csrf, "content-type": "application/x-www-form-urlencoded"},
        },
        {
            "content": b'--B\r\nContent-Disposition: form-data; name="what"\r\n\r\n\xff\xfe\xc3\x28\r\n--B--\r\n',
            "headers": {**csrf, "content-type": "multipart/form-data; boundary=B"},
        },
        {
            "content": b'--B\r\nContent-Disposition: form-data; name="\xff"; filename="\xfe.jpg"\r\n\r\nxx\r\n'
            b"--B--\r\n",
            "headers": {**csrf, "content-type": "multipart/form-data; boundary=B"},
        },
        {"content": b"--B\r\nbroken", "headers": {**csrf, "content-type": "multipart/form-data; boundary=B"}},
        {"content": b"{not json", "headers": {**csrf, "content-type": "application/json"}},
        {"content": b"\xff\xfe", "headers": {**csrf, "content-type": "application/json"}},
        {"content": _nested_json(20_000), "headers": {**csrf, "content-type": "application/json"}},
        {
            "content": json.dumps({"subscription": [1, 2], "token": {"a": None}}).encode(),
            "headers": {**csrf, "content-type": "application/json"},
        },
    ]


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=_ids(ENDPOINTS))
async def test_no_route_answers_malformed_input_with_a_server_error(world: World, endpoint: Endpoint) -> None:
    problems: list[str] = []

    def check(what: str, response: Any) -> None:
        if response.status_code >= 500:
            problems.append(f"{what}: {response.status_code}")

    for path in (fill(endpoint.path, world.values), implausible(endpoint.path)):
        for host in BAD_HOSTS:
            check(f"Host {host!r} {path}", await _send(world, endpoint, path, headers={"host": host}))
        query = "&".join(f"q{i}={'%FF' * 20}" for i in range(800))  # about 50 KB
        check(f"huge query {path}", await _send(world, endpoint, f"{path}?{query}"))
        check(f"bad query {path}", await _send(world, endpoint, f"{path}?new=maybe&q=%FF&next=%00"))
        if endpoint.method in ("POST", "PUT", "PATCH", "DELETE"):
            for i, body in enumerate(_bodies(world.token(endpoint))):
                check(f"body {i} {path}", await _send(world, endpoint, path, **body))
        for method in ALL_METHODS:
            if method not in METHODS[endpoint.path]:
                response = await world.client(endpoint).request(method, path, follow_redirects=False)
                check(f"{method} {path}", response)
                assert response.status_code in (403, 404, 405), f"{method} {path}: {response.status_code}"
    assert not problems, problems


@pytest.mark.parametrize("endpoint", GET_ENDPOINTS, ids=_ids(GET_ENDPOINTS))
async def test_every_get_route_answers_head_without_a_body(world: World, endpoint: Endpoint) -> None:
    path = fill(endpoint.path, world.values)
    await world.ensure_staff_login(endpoint)
    client = world.client(endpoint)
    get = await client.get(path, follow_redirects=False)
    head = await client.head(path, follow_redirects=False)
    assert head.status_code == get.status_code != 405, (get.status_code, head.status_code)
    assert head.content == b""
    # A request id is new for every request (backend/core/metrics.py), so HEAD and GET never share one.
    ignore = {"date", "set-cookie", "content-length", "etag", "x-request-id"}
    assert {k: v for k, v in head.headers.items() if k not in ignore} == {
        k: v for k, v in get.headers.items() if k not in ignore
    }


def _assert_security_headers(response: Any, what: str) -> None:
    headers = response.headers
    assert headers.get("x-content-type-options") == "nosniff", what
    content_type = headers.get("content-type", "")
    if response.status_code >= 400 or content_type.startswith(("text/html", "application/problem+json")):
        assert "frame-ancestors 'none'" in headers.get("content-security-policy", ""), what
        assert headers.get("x-frame-options") == "DENY", what


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=_ids(ENDPOINTS))
async def test_every_route_sends_the_security_headers(world: World, endpoint: Endpoint) -> None:
    for path in (fill(endpoint.path, world.values), implausible(endpoint.path)):
        response = await _send(world, endpoint, path)
        _assert_security_headers(response, f"{endpoint.method} {path} -> {response.status_code}")


PRIVATE = [e for e in GET_ENDPOINTS if e.staff or "/files/" in e.path]


@pytest.mark.parametrize("endpoint", PRIVATE, ids=_ids(PRIVATE))
async def test_staff_pages_and_attachments_are_never_stored(world: World, endpoint: Endpoint) -> None:
    response = await _send(world, endpoint, fill(endpoint.path, world.values))
    assert response.status_code == 200, response.status_code
    assert response.headers.get("cache-control") == "no-store"


async def test_the_special_responses_send_the_security_headers(world: World) -> None:
    citizen, staff = world.citizen, world.staff
    special = {
        "router 404": await citizen.get("/no/such/page"),
        "router 405": await citizen.put("/"),
        "unknown host 404": await citizen.get("/", headers={"host": "nowhere.localhost"}),
        "platform 404": await citizen.get("/theme.css", headers={"host": "localhost"}),
        "csrf 403": await staff.post("/staff/logout"),
        "bad host 400": await citizen.get("/", headers={"host": "a:b:c"}),
        "problem 404": await citizen.get("/push/nothing"),
        "413": await citizen.post("/staff/login", data={"_csrf_token": world.citizen_token, "password": "x" * 100_000}),
    }
    for what, response in special.items():
        assert response.status_code >= 400, what
        _assert_security_headers(response, what)


async def _row_counts(settings: Settings) -> dict[str, int]:
    db = alchemy_config(settings)
    try:
        async with db.get_engine().connect() as conn:
            return {
                t.name: (await conn.execute(select(func.count()).select_from(t))).scalar_one()
                for t in Base.metadata.sorted_tables
            }
    finally:
        await db.get_engine().dispose()


async def test_the_csrf_exemptions_are_only_routes_that_change_nothing() -> None:
    for endpoint in UNSAFE_ENDPOINTS:
        exempt = endpoint.csrf_exempt or any(endpoint.path.startswith(prefix) for prefix in CSRF_EXEMPT)
        assert not exempt or endpoint.path in CSRF_EXEMPT_UNSAFE, f"{endpoint.id} skips CSRF without a reason"


@pytest.mark.parametrize("endpoint", UNSAFE_ENDPOINTS, ids=_ids(UNSAFE_ENDPOINTS))
async def test_every_state_changing_route_refuses_a_request_without_a_csrf_token(
    world: World, endpoint: Endpoint, settings: Settings
) -> None:
    if endpoint.path in CSRF_EXEMPT_UNSAFE and endpoint.path not in KEY_AUTHORISED:
        pytest.skip(CSRF_EXEMPT_UNSAFE[endpoint.path])
    path = fill(endpoint.path, world.values)
    form = {
        "email": world.tenant.clerk_email,
        "password": world.tenant.password,
        "status": "in_progress",
        "body": "Hallo",
        "reason": "test",
        "idempotency_key": "csrf-test-key-0123456789ab",
        "what": "Die Laterne ist dunkel.",
    }
    before = await _row_counts(settings)
    for attempt in ({"data": form}, {"data": {**form, "_csrf_token": "forged"}}, {"json": {"endpoint": "x"}}):
        response = await _send(world, endpoint, path, **attempt)  # type: ignore[arg-type]
        refused = 401 if endpoint.path.startswith("/api/") else 403
        assert response.status_code == refused, (attempt, response.status_code)
    assert await _row_counts(settings) == before, "a refused request changed nothing"


@pytest.mark.parametrize("endpoint", GET_ENDPOINTS, ids=_ids(GET_ENDPOINTS))
async def test_every_page_varies_by_language_cookie_and_htmx(world: World, endpoint: Endpoint) -> None:
    response = await _send(world, endpoint, fill(endpoint.path, world.values), headers={"accept-encoding": "gzip"})
    if not response.headers.get("content-type", "").startswith("text/html"):
        return
    vary = {v.strip().lower() for v in response.headers.get("vary", "").split(",")}
    assert {"cookie", "accept-language", "hx-request"} <= vary, (endpoint.id, vary)


@pytest.mark.parametrize("endpoint", GET_ENDPOINTS, ids=_ids(GET_ENDPOINTS))
async def test_every_unchanged_page_is_answered_with_not_modified(world: World, endpoint: Endpoint) -> None:
    """A repeat visit of a page that did not change costs headers only (a weak connection's budget)."""
    path = fill(endpoint.path, world.values)
    first = await _send(world, endpoint, path, headers={"accept-encoding": "gzip"})
    html = first.headers.get("content-type", "").startswith("text/html")
    if first.headers.get("cache-control") == "no-store":
        assert not html or "etag" not in first.headers, endpoint.id  # private pages are never tagged (nor stored)
        return
    if first.status_code != 200 or not html:
        return  # files and the manifest carry their own validators
    etag = first.headers["etag"]
    again = await _send(world, endpoint, path, headers={"accept-encoding": "gzip", "if-none-match": etag})
    if again.status_code == 200:  # the page changed in between (it shows the time, a fresh token, ...)
        assert again.headers["etag"] != etag, endpoint.id
        return
    assert again.status_code == 304, endpoint.id
    assert again.content == b""
    assert again.headers["etag"] == etag
    assert "no-cache" in again.headers.get("cache-control", "")
    assert {"cookie", "accept-language", "hx-request"} <= {
        v.strip().lower() for v in again.headers.get("vary", "").split(",")
    }
