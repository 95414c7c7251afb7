"""What the operator's monitoring sees: /metrics behind a token or an allowed network, labelled by route template
and never by a private link; the outbox figures; JSON log lines with the request id and no personal data; the
readiness check that asks the database."""

from __future__ import annotations

import io
import ipaddress
import json
import logging
import re
import socket
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace

import httpx
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from prometheus_client.parser import text_string_to_metric_families

from backend.app import create_app, csrf_exclusions
from backend.core.db import alchemy_config
from backend.core.logs import JsonFormatter
from backend.notifications.delivery import Deliverer, RetryPolicy
from backend.settings import Settings
from tests.factories import TenantFixture
from tests.helpers import VALID_ANSWERS, submit_case

TOKEN = "metrics-token-for-the-tests-0123456789"
BEARER = {"authorization": f"Bearer {TOKEN}"}


@pytest.fixture
def watched(settings: Settings) -> Settings:
    return replace(settings, metrics_token=TOKEN)


@pytest.fixture
async def client(watched: Settings, tenant: TenantFixture) -> AsyncIterator[AsyncTestClient[Litestar]]:
    async with AsyncTestClient(create_app(watched), base_url=f"http://{tenant.host}") as c:
        yield c


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def _value(text: str, name: str, **labels: str) -> float:
    return _samples(text).get((name, tuple(sorted(labels.items()))), 0.0)


async def test_metrics_answer_401_without_the_token(client: AsyncTestClient[Litestar]) -> None:
    for headers in ({}, {"authorization": "Bearer wrong-token-0123456789"}, {"authorization": TOKEN}):
        response = await client.get("/metrics", headers=headers)
        assert response.status_code == 401, headers
        assert response.headers["content-type"].startswith("application/problem+json")
        assert response.headers["www-authenticate"].startswith("Bearer")
        assert "rathaus_" not in response.text


async def test_metrics_without_any_token_configured_are_closed(settings: Settings, tenant: TenantFixture) -> None:
    async with AsyncTestClient(create_app(settings), base_url=f"http://{tenant.host}") as c:
        assert (await c.get("/metrics", headers={"authorization": "Bearer "})).status_code == 401


async def test_metrics_count_requests_by_route_template_and_never_show_a_token(
    client: AsyncTestClient[Litestar], tenant: TenantFixture
) -> None:
    tracking = await submit_case(client, tenant, photo=False)
    token = tracking.rsplit("/", 1)[1]
    assert (await client.get(tracking)).status_code == 200
    assert (await client.get("/no/such/page")).status_code == 404

    response = await client.get("/metrics", headers=BEARER)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    text = response.text
    assert token not in text
    assert tracking not in text and "/no/such/page" not in text
    assert _value(text, "rathaus_http_requests_total", method="GET", route="/r/{token}", status="200") >= 1
    assert _value(text, "rathaus_http_requests_total", method="GET", route="unmatched", status="404") >= 1
    assert _value(text, "rathaus_http_request_duration_seconds_count", method="GET", route="/r/{token}") >= 1
    assert _value(text, "rathaus_database_up") == 1


async def test_metrics_show_the_outbox_depth_and_the_deliveries(
    client: AsyncTestClient[Litestar], tenant: TenantFixture, watched: Settings
) -> None:
    before = (await client.get("/metrics", headers=BEARER)).text
    await submit_case(client, tenant, key="obsv-outbox-key-0123456789", photo=False)  # queues the receipt
    queued = (await client.get("/metrics", headers=BEARER)).text
    assert (
        _value(queued, "rathaus_outbox_pending", channel="email")
        >= _value(before, "rathaus_outbox_pending", channel="email") + 1
    )
    assert _value(queued, "rathaus_outbox_oldest_pending_age_seconds", channel="email") >= 0
    assert ("rathaus_worker_lag_seconds", (("channel", "email"),)) in _samples(queued)

    # No SMTP settings: the worker writes the e-mails into the data folder, and counts them as sent.
    db = alchemy_config(watched)
    worker = Deliverer(db, watched, policy=RetryPolicy(base_delay=0.05, max_delay=0.2))
    try:
        await worker.run_once(limit=1000)
    finally:
        await worker.aclose()
        await db.get_engine().dispose()
    delivered = (await client.get("/metrics", headers=BEARER)).text
    assert (
        _value(delivered, "rathaus_deliveries_total", channel="email", outcome="sent")
        >= _value(queued, "rathaus_deliveries_total", channel="email", outcome="sent") + 1
    )
    assert _value(delivered, "rathaus_outbox_pending", channel="email") < _value(
        queued, "rathaus_outbox_pending", channel="email"
    )


def _direct(app: Litestar, address: str) -> httpx.AsyncClient:
    """A client whose requests come from ``address`` (the test client always says "testclient")."""
    transport = httpx.ASGITransport(app=app, client=(address, 40000))
    return httpx.AsyncClient(transport=transport, base_url="http://localhost")


async def test_metrics_are_open_to_an_allowed_network_only(settings: Settings) -> None:
    allowed = replace(settings, metrics_networks=(ipaddress.ip_network("10.0.0.0/8"),))
    app = create_app(allowed)
    try:
        async with _direct(app, "10.20.30.40") as inside, _direct(app, "192.0.2.7") as outside:
            response = await inside.get("/metrics")
            assert response.status_code == 200
            assert "rathaus_http_requests_total" in response.text
            assert (await outside.get("/metrics")).status_code == 401
        async with _direct(app, "::ffff:10.1.1.1") as mapped:
            assert (await mapped.get("/metrics")).status_code == 200
    finally:
        await app.state.db.get_engine().dispose()


@pytest.fixture
def log_lines() -> Iterator[io.StringIO]:
    """Every log record of the app as the JSON formatter writes it."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    yield stream
    root.removeHandler(handler)
    root.setLevel(level)


async def test_log_lines_are_json_with_the_request_id_and_no_personal_data(
    client: AsyncTestClient[Litestar], tenant: TenantFixture, log_lines: io.StringIO
) -> None:
    address = VALID_ANSWERS["email"]
    tracking = await submit_case(client, tenant, key="obsv-loglns-key-0123456789", photo=False)
    token = tracking.rsplit("/", 1)[1]
    visit = await client.get(tracking, headers={"x-request-id": "req-tracking-0001"})
    assert visit.status_code == 200
    assert visit.headers["x-request-id"] == "req-tracking-0001"
    # An id that is not a plain identifier is replaced, never echoed or logged.
    odd = await client.get("/", headers={"x-request-id": f"{address} <script>"})
    assert odd.headers["x-request-id"] != f"{address} <script>" and len(odd.headers["x-request-id"]) == 32
    # Something of ours logs an address and a private link: the formatter blanks both.
    logging.getLogger("rathaus.test").warning("mail to %s about %s failed", address, tracking)

    text = log_lines.getvalue()
    entries = [json.loads(line) for line in text.splitlines() if line.strip()]
    assert entries
    assert address not in text and token not in text
    access = [e for e in entries if e["logger"] == "rathaus.access"]
    assert {"request_id", "method", "route", "status", "duration_ms", "tenant"} <= set(access[0])
    [visit_line] = [e for e in access if e["request_id"] == "req-tracking-0001"]
    assert (visit_line["route"], visit_line["status"], visit_line["tenant"]) == ("/r/{token}", 200, tenant.slug)
    assert any(e["route"] == "/s/{slug}/submit" and e["status"] == 303 for e in access)
    assert all(e["request_id"] for e in access)
    [warning] = [e for e in entries if e["logger"] == "rathaus.test"]
    assert warning["msg"] == "mail to <email> about /r/<token> failed"


async def test_readiness_answers_200_when_the_database_answers(client: AsyncTestClient[Litestar]) -> None:
    response = await client.get("/health/ready")
    assert response.status_code == 200
    assert response.text == "ready"
    assert (await client.get("/health")).text == "ok"


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])  # nothing listens there once the socket is closed


async def test_readiness_answers_503_with_a_problem_when_the_database_is_unreachable(settings: Settings) -> None:
    broken = replace(settings, database_url=f"postgresql+asyncpg://postgres@127.0.0.1:{_closed_port()}/rathaus")
    app = create_app(broken)
    try:
        async with _direct(app, "127.0.0.1") as monitor:
            response = await monitor.get("/health/ready", headers={"accept-language": "en"})
            assert (await monitor.get("/health")).status_code == 200  # liveness does not ask the database
    finally:
        await app.state.db.get_engine().dispose()
    assert response.status_code == 503
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert problem["status"] == 503
    assert problem["detail"] == "The database cannot be reached."


def test_csrf_exemptions_match_their_own_paths_only() -> None:
    pattern = re.compile("|".join(csrf_exclusions()))
    for path in ("/metrics", "/health", "/health/ready", "/static/css/app.css", "/my-requests/status"):
        assert pattern.findall(path), path
    for path in ("/s/health-card/form", "/s/metrics/submit", "/s/x/review/metrics-key-0123456789", "/staticx"):
        assert not pattern.findall(path), path


async def test_readiness_asks_the_bucket_where_uploads_are_in_one(s3_settings: Settings) -> None:
    app = create_app(s3_settings)
    try:
        async with _direct(app, "127.0.0.1") as monitor:
            assert (await monitor.get("/health/ready")).status_code == 200
    finally:
        await app.state.db.get_engine().dispose()
    gone = replace(s3_settings, s3_endpoint=f"http://127.0.0.1:{_closed_port()}").with_defaults()
    app = create_app(gone)
    try:
        async with _direct(app, "127.0.0.1") as monitor:
            response = await monitor.get("/health/ready", headers={"accept-language": "de"})
            assert (await monitor.get("/health")).status_code == 200
    finally:
        await app.state.db.get_engine().dispose()
    assert response.status_code == 503
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["detail"] == "Der Dateispeicher ist nicht erreichbar."
