"""Following a case survives hostile and repeated input: strict keys and hosts, JSON only, no 500, no twins."""

from __future__ import annotations

import asyncio
import base64
import json

import httpx
import pytest
from litestar import Litestar

from backend.notifications.models import CaseSubscription, PushSubscription
from backend.notifications.push import PushError, check_endpoint, check_keys
from backend.settings import DEFAULT_PUSH_HOSTS, Settings
from tests.conftest import csrf_token
from tests.factories import TenantFixture
from tests.helpers import Client, submit_case
from tests.integration.notifications.conftest import count
from tests.pushservice import PushService


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


async def tracked(client: Client, tenant: TenantFixture) -> tuple[str, str]:
    """A submitted case: its tracking token and a CSRF token of its page."""
    tracking = await submit_case(client, tenant, photo=False)
    return tracking.rsplit("/", 1)[1], csrf_token((await client.get(tracking)).text)


async def test_deeply_nested_json_gets_problem_details_not_a_500(client: Client, tenant: TenantFixture) -> None:
    token, csrf = await tracked(client, tenant)
    depth = 20_000  # deep, yet under the 64 KB body limit, so the parser (not the limit) answers
    for body in (
        '{"subscription":' + "[" * depth + "]" * depth + f', "token": "{token}"}}',
        "[" * depth + "]" * depth,
        '{"subscription": {"endpoint": "x", "keys": {"p256dh": ' + "{" * depth + "}" * depth + "}}}",
    ):
        response = await client.post(
            "/push/subscriptions",
            content=body,
            headers={"X-CSRFToken": csrf, "Content-Type": "application/json"},
        )
        assert response.status_code == 400
        assert response.headers["content-type"].startswith("application/problem+json")


@pytest.mark.parametrize(
    ("content_type", "body", "status"),
    [
        ("application/x-www-form-urlencoded", "subscription=1&token=abcdefghijkl", 415),
        ("text/plain", "{}", 415),
        (None, "{}", 415),
        ("application/json", "{not json", 400),
        ("application/json", "", 400),
    ],
)
async def test_subscription_body_must_be_json(
    client: Client, tenant: TenantFixture, content_type: str | None, body: str, status: int
) -> None:
    _, csrf = await tracked(client, tenant)
    headers = {"X-CSRFToken": csrf}
    if content_type:
        headers["Content-Type"] = content_type
    response = await client.post("/push/subscriptions", content=body, headers=headers)
    assert response.status_code == status
    assert response.headers["content-type"].startswith("application/problem+json")


async def test_the_same_subscription_posted_ten_times_at_once_is_one_device(
    app: Litestar, tenant: TenantFixture, push: PushService, settings: Settings
) -> None:
    # The test client runs one request after the other; httpx's ASGI transport really interleaves them.
    async with (
        app.lifespan(),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url=f"http://{tenant.host}", follow_redirects=True
        ) as client,
    ):
        token, csrf = await tracked(client, tenant)  # type: ignore[arg-type]
        await client.get("/push/key")  # the key exists before the rush, as the page fetches it first
        body = json.dumps({"subscription": push.subscribe(), "token": token})
        headers = {"X-CSRFToken": csrf, "Content-Type": "application/json"}
        responses = await asyncio.gather(
            *(client.post("/push/subscriptions", content=body, headers=headers) for _ in range(10))
        )
    assert [r.status_code for r in responses] == [201] * 10, [r.text for r in responses if r.status_code != 201]
    assert await count(settings, PushSubscription, tenant_id=tenant.id) == 1
    assert await count(settings, CaseSubscription, tenant_id=tenant.id) == 1


def keys(p256dh: bytes, auth: bytes) -> tuple[str, str]:
    return b64(p256dh), b64(auth)


@pytest.mark.parametrize(
    ("p256dh", "auth"),
    [
        keys(b"\x04" + b"\x01" * 63, b"a" * 16),  # one byte short
        keys(b"\x04" + b"\x01" * 65, b"a" * 16),  # one byte too many
        keys(b"\x02" + b"\x01" * 64, b"a" * 16),  # not an uncompressed point
        ("", b64(b"a" * 16)),
        ("not base64!", b64(b"a" * 16)),
    ],
)
def test_p256dh_must_be_an_uncompressed_point_of_65_bytes(p256dh: str, auth: str) -> None:
    with pytest.raises(PushError):
        check_keys(p256dh, auth)


@pytest.mark.parametrize("auth", [b"a" * 15, b"a" * 17, b"a" * 32, b""])
def test_auth_secret_must_be_exactly_16_bytes(push: PushService, auth: bytes) -> None:
    good = push.subscribe()["keys"]
    check_keys(good["p256dh"], good["auth"])
    with pytest.raises(PushError):
        check_keys(good["p256dh"], b64(auth))


@pytest.mark.parametrize(
    "endpoint",
    [
        "https://fcm.googleapis.com;evil/fcm/send/1",
        "https://fcm.googleapis.com%2eevil.example/fcm/send/1",
        "https://fcm%2egoogleapis.com/fcm/send/1",
        "https://fcm .googleapis.com/fcm/send/1",
        "https://fcm.googleapis.com /fcm/send/1",
        "https://user@fcm.googleapis.com/fcm/send/1",
        "https://user:pw@fcm.googleapis.com/fcm/send/1",
        "https://@fcm.googleapis.com/fcm/send/1",
        "https://fcm.googleapis.com:8443/fcm/send/1",
        "https://fcm.googleapis.com:80/fcm/send/1",
        "https://fcm_googleapis.com/fcm/send/1",
        "https://-fcm.googleapis.com/fcm/send/1",
        "https://fcm.googleapis.com\t/fcm/send/1",
        "https://evilnotify.windows.com/w/?token=1",
        "https://notify.windows.com/w/?token=1",
        "https://fcm.googleapis.com/fcm/send/1#x",
        "https://fcm.googleapis.com#x/fcm/send/1",
        "https:/fcm.googleapis.com/fcm/send/1",
        "fcm.googleapis.com/fcm/send/1",
        "https://[::1/fcm/send/1",
    ],
)
def test_push_endpoints_need_a_plain_dns_name_on_port_443(endpoint: str) -> None:
    with pytest.raises(PushError):
        check_endpoint(endpoint, DEFAULT_PUSH_HOSTS)


def test_allowlist_wildcards_match_only_on_a_dot_boundary() -> None:
    check_endpoint("https://wns2-par02p.notify.windows.com/w/?token=1", DEFAULT_PUSH_HOSTS)
    check_endpoint("https://fcm.googleapis.com:443/fcm/send/1", DEFAULT_PUSH_HOSTS)
    for bad in ("https://evilnotify.windows.com/w/", "https://xpush.apple.com/x", "https://apple.com/x"):
        with pytest.raises(PushError):
            check_endpoint(bad, DEFAULT_PUSH_HOSTS)


def test_loopback_push_services_keep_their_test_ports() -> None:
    check_endpoint("http://127.0.0.1:41234/push/1", ("127.0.0.1",))
    check_endpoint("http://push.localhost:8080/push/1", ("*.localhost",))
    with pytest.raises(PushError):
        check_endpoint("http://127.0.0.1:41234/push/1", ("127.0.0.1:9999",))
    # The verdict on an origin is kept per allowlist: the same origin is judged anew under another one, and a
    # good origin still refuses a path that ends in a fragment.
    check_endpoint("http://127.0.0.1:41234/push/2", ("127.0.0.1",))
    with pytest.raises(PushError):
        check_endpoint("http://127.0.0.1:41234/push/2#x", ("127.0.0.1",))
    with pytest.raises(PushError):
        check_endpoint("http://127.0.0.1:41234/push/2", ())


async def test_a_subscription_with_a_short_auth_secret_is_refused_over_http(
    client: Client, tenant: TenantFixture, push: PushService, settings: Settings
) -> None:
    token, csrf = await tracked(client, tenant)
    subscription = push.subscribe()
    subscription["keys"]["auth"] = b64(b"a" * 12)
    response = await client.post(
        "/push/subscriptions", json={"subscription": subscription, "token": token}, headers={"X-CSRFToken": csrf}
    )
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("application/problem+json")
    assert await count(settings, PushSubscription, tenant_id=tenant.id) == 0
