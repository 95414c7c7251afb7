"""Following a case on a device: only real push services are accepted, and bad input gets problem details."""

from __future__ import annotations

import pytest

from backend.notifications.models import PushSubscription
from backend.settings import Settings
from tests.conftest import csrf_token
from tests.factories import TenantFixture
from tests.helpers import Client, submit_case
from tests.integration.notifications.conftest import count, follow
from tests.pushservice import PushService


async def test_public_key_is_an_application_server_key(client: Client) -> None:
    from backend.notifications.push import b64url_decode

    response = await client.get("/push/key")
    assert response.status_code == 200
    key = b64url_decode(response.json()["publicKey"])
    assert len(key) == 65 and key[0] == 4, "uncompressed P-256 point"
    assert (await client.get("/push/key")).json() == response.json(), "made once, then kept"


@pytest.mark.parametrize(
    "endpoint",
    [
        "https://evil.example/push/1",  # not a push service
        "http://fcm.googleapis.com/fcm/send/1",  # plain http to a real push host
        "https://10.0.0.1/push/1",  # private address
        "https://169.254.169.254/latest/meta-data",  # cloud metadata
        "http://localhost:{port}/push/1",  # loopback, but not on the allowlist
        "ftp://127.0.0.1/push/1",
        "not a url",
    ],
)
async def test_endpoints_of_unknown_hosts_are_rejected_and_never_called(
    client: Client, tenant: TenantFixture, push: PushService, settings: Settings, endpoint: str
) -> None:
    tracking = await submit_case(client, tenant, photo=False)
    subscription = push.subscribe()
    port = push.origin.rsplit(":", 1)[1]
    subscription["endpoint"] = endpoint.format(port=port)
    response = await follow(client, tracking, subscription)
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["status"] == 400 and response.json()["detail"]
    assert push.requests == 0
    assert await count(settings, PushSubscription, tenant_id=tenant.id) == 0


async def test_allowlisted_push_service_hosts_by_default() -> None:
    from backend.notifications.push import PushError, check_endpoint
    from backend.settings import DEFAULT_PUSH_HOSTS

    for ok in (
        "https://fcm.googleapis.com/fcm/send/abc",
        "https://updates.push.services.mozilla.com/wpush/v2/abc",
        "https://web.push.apple.com/abc",
        "https://wns2-par02p.notify.windows.com/w/?token=abc",
    ):
        check_endpoint(ok, DEFAULT_PUSH_HOSTS)
    for bad in ("https://notify.windows.com.evil.example/x", "https://push.apple.com.attacker.net/x"):
        with pytest.raises(PushError):
            check_endpoint(bad, DEFAULT_PUSH_HOSTS)


@pytest.mark.parametrize(
    "body",
    [
        {"token": "x" * 20},
        {"subscription": {"endpoint": "https://fcm.googleapis.com/x"}, "token": "x" * 20},
        {"subscription": {"endpoint": 5, "keys": {}}, "token": "x" * 20},
        {"subscription": {}, "token": "short"},
        {"subscription": {}, "token": "x" * 20, "extra": 1},
    ],
)
async def test_malformed_subscriptions_get_problem_details(client: Client, tenant: TenantFixture, body: dict) -> None:
    tracking = await submit_case(client, tenant, photo=False)
    page = await client.get(tracking)
    response = await client.post("/push/subscriptions", json=body, headers={"X-CSRFToken": csrf_token(page.text)})
    assert response.status_code in (400, 404)
    assert response.headers["content-type"].startswith("application/problem+json")


async def test_subscribing_needs_a_valid_tracking_token_and_csrf(
    client: Client, tenant: TenantFixture, push: PushService
) -> None:
    tracking = await submit_case(client, tenant, photo=False)
    page = await client.get(tracking)
    response = await client.post(
        "/push/subscriptions",
        json={"subscription": push.subscribe(), "token": "no-such-token-000000"},
        headers={"X-CSRFToken": csrf_token(page.text)},
    )
    assert response.status_code == 404
    response = await client.post(
        "/push/subscriptions", json={"subscription": push.subscribe(), "token": tracking.rsplit("/", 1)[1]}
    )
    assert response.status_code == 403
    assert response.headers["content-type"].startswith("application/problem+json")
