"""Webhooks: an admin registers an endpoint; case events reach a receiver on loopback, signed so that an
independent HMAC computation verifies them; 500 is retried; private addresses are refused unless allowed."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import os
import re
import threading
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import func, select

from backend.app import create_app
from backend.core.db import alchemy_config, unscoped_session
from backend.notifications.delivery import Deliverer
from backend.notifications.models import WebhookEndpoint
from backend.settings import Settings
from tests.conftest import Person, csrf_token
from tests.factories import TenantFixture
from tests.helpers import Client, login, submit_case
from tests.integration.notifications.conftest import FAST, outbox

PAGE = "/staff/admin/webhooks"


@dataclass
class Receiver:
    """An HTTP server on loopback that records what it is sent and answers with the next of ``codes``."""

    codes: list[int] = field(default_factory=list)
    received: list[tuple[dict[str, str], bytes]] = field(default_factory=list)

    def start(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - the name http.server calls
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                receiver.received.append(({k.lower(): v for k, v in self.headers.items()}, body))
                code = receiver.codes.pop(0) if receiver.codes else 200
                self.send_response(code)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/rathaus-events"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    found = Receiver()
    found.start()
    yield found
    found.close()


@pytest.fixture
async def admin(person: Person, tenant: TenantFixture) -> AsyncIterator[Client]:
    async with person(tenant.host) as client:
        assert (await login(client, tenant.admin_email, tenant.password)).status_code == 303
        yield client


def independent_secret() -> str:
    return "whsec_" + base64.b64encode(os.urandom(32)).decode()


def verify(secret: str, headers: dict[str, str], body: bytes) -> bool:
    """The receiver's check, written from the Standard Webhooks specification, not from our code."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = headers["webhook-id"].encode() + b"." + headers["webhook-timestamp"].encode() + b"." + body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    given = [part.split(",", 1)[1] for part in headers["webhook-signature"].split() if part.startswith("v1,")]
    return any(hmac.compare_digest(expected, sig) for sig in given)


async def register(admin: Client, url: str, events: list[str], secret: str = "") -> Any:
    page = await admin.get(PAGE)
    data: dict[str, Any] = {"_csrf_token": csrf_token(page.text), "url": url, "events": events, "secret": secret}
    return await admin.post(PAGE, data=data, follow_redirects=False)


async def register_ok(admin: Client, url: str, events: list[str], secret: str = "") -> str:
    made = await register(admin, url, events, secret)
    assert made.status_code == 303, made.text
    return made.headers["location"].split("?")[0]


async def deliver_all(settings: Settings, rounds: int = 60) -> None:
    """Run the worker until nothing is pending (the fast retry policy makes retries due within moments)."""
    worker = Deliverer(alchemy_config(settings), settings, policy=FAST)
    try:
        for _ in range(rounds):
            await worker.run_once()
            pending = [m for m in await outbox(settings, channel="webhook") if m.status == "pending"]
            if not pending:
                return
            await asyncio.sleep(0.05)
    finally:
        await worker.aclose()
        await worker.db.get_engine().dispose()


async def test_case_events_arrive_signed_and_verifiable_by_an_independent_hmac(
    settings: Settings, tenant: TenantFixture, admin: Client, client: Client, clerk_of: Any, receiver: Receiver
) -> None:
    secret = independent_secret()
    page_path = await register_ok(
        admin, receiver.url, ["case.created", "case.status_changed", "case.message_added"], secret
    )
    tracking = await submit_case(client, tenant, photo=False)
    clerk = await clerk_of(tenant)
    assert (await clerk.set_status("in_review")).status_code == 303
    assert (await clerk.message("Wir kümmern uns darum.")).status_code == 303
    await deliver_all(settings)

    assert len(receiver.received) == 3
    bodies = []
    for headers, body in receiver.received:
        assert verify(secret, headers, body)
        assert headers["content-type"] == "application/json"
        assert re.fullmatch(r"\d+", headers["webhook-timestamp"])
        bodies.append(json.loads(body))
        # A wrong secret or a changed body does not verify.
        assert not verify(independent_secret(), headers, body)
        assert not verify(secret, headers, body + b" ")
    # One of each; a round sends them concurrently, so they may arrive in any order (receivers order by time).
    by_type = {b["type"]: b for b in bodies}
    assert sorted(by_type) == ["case.created", "case.message_added", "case.status_changed"]
    assert by_type["case.status_changed"]["data"]["status"] == "in_review"
    assert by_type["case.message_added"]["data"]["message"] == "Wir kümmern uns darum."
    assert {b["data"]["reference"] for b in bodies} == {by_type["case.created"]["data"]["reference"]}
    assert by_type["case.created"]["data"]["service"]["code"] == tenant.service_slug
    # Nothing about the citizen: no tracking link, no contact details, no answers.
    everything = b"".join(body for _, body in receiver.received).decode()
    assert tracking.rsplit("/", 1)[1] not in everything and "@" not in everything

    log = await admin.get(page_path)
    assert log.status_code == 200
    assert log.text.count("HTTP 200") == 3


async def test_a_citizens_own_step_is_an_event_without_their_words(
    settings: Settings, tenant: TenantFixture, admin: Client, client: Client, receiver: Receiver
) -> None:
    await register_ok(admin, receiver.url, ["case.status_changed"])
    tracking = await submit_case(client, tenant, photo=False)
    page = await client.get(tracking + "/withdraw")
    data = {"_csrf_token": csrf_token(page.text), "reason": "Ich bin umgezogen nach Beispielweg 7."}
    assert (await client.post(tracking + "/withdraw", data=data, follow_redirects=False)).status_code == 303
    await deliver_all(settings)

    [(_, body)] = receiver.received
    event = json.loads(body)
    assert event["type"] == "case.status_changed"
    assert event["data"]["status"] == "withdrawn" and event["data"]["changed_by"] == "citizen"
    assert "message" not in event["data"] and b"Beispielweg" not in body


async def test_a_500_is_retried_until_the_receiver_takes_it(
    settings: Settings, tenant: TenantFixture, admin: Client, client: Client, receiver: Receiver
) -> None:
    secret = independent_secret()
    await register_ok(admin, receiver.url, ["case.created"], secret)
    receiver.codes = [500, 503]
    await submit_case(client, tenant, photo=False)
    await deliver_all(settings)

    assert len(receiver.received) == 3
    ids = {headers["webhook-id"] for headers, _ in receiver.received}
    assert len(ids) == 1  # the same message each time, so a receiver can tell a retry
    assert all(verify(secret, headers, body) for headers, body in receiver.received)
    (row,) = await outbox(settings, channel="webhook")
    assert (row.status, row.attempts, row.response_code) == ("sent", 3, 200)


async def test_a_private_address_is_refused_when_not_allowed(
    settings: Settings, tenant: TenantFixture, admin: Client, client: Client, receiver: Receiver, person: Person
) -> None:
    strict = replace(settings, webhook_allow_private=False)
    # When saving: the admin is told, in their language, and what they typed stays.
    async with AsyncTestClient(create_app(strict), base_url=f"http://{tenant.host}") as strict_admin:
        await login(strict_admin, tenant.admin_email, tenant.password)
        for url in (receiver.url, "http://10.1.2.3/hook", "http://[::1]:8080/hook", "http://169.254.169.254/"):
            refused = await register(strict_admin, url, ["case.created"])
            assert refused.status_code == 422
            assert "privates Netz" in refused.text
            assert f'value="{url}"' in refused.text.replace("&#34;", '"')

    # When delivering: an endpoint saved while allowed (or whose name now resolves privately) gets nothing.
    await register_ok(admin, receiver.url, ["case.created"])
    await submit_case(client, tenant, photo=False)
    await deliver_all(strict)
    assert receiver.received == []
    (row,) = await outbox(settings, channel="webhook")
    assert row.status == "failed"
    assert "not allowed" in row.last_error


async def test_admin_creates_edits_redelivers_and_deletes_an_endpoint(
    settings: Settings, tenant: TenantFixture, admin: Client, client: Client, receiver: Receiver
) -> None:
    # Mistakes are named in German, and nothing typed is lost.
    bad = await register(admin, "", [], "whsec_kurz")
    assert bad.status_code == 422
    assert "Bitte geben Sie die Adresse ein" in bad.text
    assert "Bitte wählen Sie mindestens ein Ereignis" in bad.text
    assert "whsec_" in bad.text and 'value="whsec_kurz"' in bad.text
    bad = await register(admin, "ftp://example.org/x", ["case.created"])
    assert bad.status_code == 422 and "vollständige Webadresse" in bad.text

    page_path = await register_ok(admin, receiver.url, ["case.created"])
    page = await admin.get(page_path)
    assert page.status_code == 200
    made_secret = re.search(r"whsec_[A-Za-z0-9+/=]+", page.text)
    assert made_secret
    listing = await admin.get(PAGE)
    assert receiver.url in listing.text
    assert PAGE in (await admin.get("/staff/admin")).text

    # Edit: new events and a secret of the admin's own; an empty secret field keeps the current one.
    secret = independent_secret()
    data = {"_csrf_token": csrf_token(page.text), "url": receiver.url, "events": ["case.status_changed"]}
    saved = await admin.post(page_path, data={**data, "secret": secret}, follow_redirects=False)
    assert saved.status_code == 303
    saved = await admin.post(page_path, data=data, follow_redirects=False)
    assert saved.status_code == 303
    invalid = await admin.post(page_path, data={**data, "events": []}, follow_redirects=False)
    assert invalid.status_code == 422 and "Bitte wählen Sie mindestens ein Ereignis" in invalid.text
    db = alchemy_config(settings)
    async with unscoped_session(db) as session:
        endpoint = await session.scalar(select(WebhookEndpoint).where(WebhookEndpoint.tenant_id == tenant.id))
    await db.get_engine().dispose()
    assert endpoint is not None and endpoint.secret == secret and endpoint.event_list == ["case.status_changed"]

    # Redeliver: the log gets a new row with the same webhook-id; the receiver gets it again.
    data = {"_csrf_token": csrf_token(page.text), "url": receiver.url, "events": ["case.created"]}
    assert (await admin.post(page_path, data=data, follow_redirects=False)).status_code == 303
    await submit_case(client, tenant, photo=False)
    await deliver_all(settings)
    page = await admin.get(page_path)
    found = re.search(r'action="(/staff/admin/webhooks/[0-9a-f-]{36}/deliveries/[0-9a-f-]{36}/redeliver)"', page.text)
    assert found
    again = await admin.post(found.group(1), data={"_csrf_token": csrf_token(page.text)}, follow_redirects=False)
    assert again.status_code == 303
    await deliver_all(settings)
    assert len(receiver.received) == 2
    assert receiver.received[0][0]["webhook-id"] == receiver.received[1][0]["webhook-id"]
    assert receiver.received[0][1] == receiver.received[1][1]
    assert all(verify(secret, headers, body) for headers, body in receiver.received)

    # Delete: the endpoint and its log are gone.
    page = await admin.get(page_path)
    gone = await admin.post(page_path + "/delete", data={"_csrf_token": csrf_token(page.text)}, follow_redirects=False)
    assert gone.status_code == 303
    assert (await admin.get(page_path)).status_code == 404
    assert await outbox(settings, channel="webhook") == []


async def test_another_municipalitys_endpoints_are_not_found(
    settings: Settings, tenant: TenantFixture, other_tenant: TenantFixture, admin: Client, person: Person
) -> None:
    page_path = await register_ok(admin, "http://127.0.0.1:9/hook", ["case.created"])
    async with person(other_tenant.host) as other:
        assert (await login(other, other_tenant.admin_email, other_tenant.password)).status_code == 303
        assert (await other.get(page_path)).status_code == 404
        assert "127.0.0.1:9" not in (await other.get(PAGE)).text
        token = csrf_token((await other.get(PAGE)).text)
        data = {"_csrf_token": token, "url": "http://127.0.0.1:9/taken", "events": "case.created"}
        assert (await other.post(page_path, data=data, follow_redirects=False)).status_code == 404
        assert (await other.post(page_path + "/delete", data=data, follow_redirects=False)).status_code == 404
        redeliver = f"{page_path}/deliveries/{uuid.uuid4()}/redeliver"
        assert (await other.post(redeliver, data=data, follow_redirects=False)).status_code == 404
    db = alchemy_config(settings)
    async with unscoped_session(db) as session:
        kept = await session.scalar(
            select(func.count()).select_from(WebhookEndpoint).where(WebhookEndpoint.tenant_id == tenant.id)
        )
    await db.get_engine().dispose()
    assert kept == 1
