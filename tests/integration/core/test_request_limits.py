"""Request limits: small bodies except where files go; the server refuses huge heads and slow clients."""

from __future__ import annotations

import asyncio

import pytest
from litestar import Litestar

from backend.core import limits
from tests.conftest import csrf_token
from tests.factories import TenantFixture, jpeg_bytes
from tests.helpers import Client, open_form
from tests.integration.core.live import live_server


async def test_a_large_body_is_refused_on_routes_that_take_no_files(client: Client, tenant: TenantFixture) -> None:
    token = csrf_token((await client.get("/staff/login")).text)
    response = await client.post(
        "/staff/login",
        data={"_csrf_token": token, "email": "a@example.org", "password": "x" * (limits.DEFAULT_BODY_LIMIT + 1)},
    )
    assert response.status_code == 413


async def test_the_form_step_takes_bodies_larger_than_the_default_limit(client: Client, tenant: TenantFixture) -> None:
    token = await open_form(client, tenant)
    photo = jpeg_bytes() + b"\0" * (limits.DEFAULT_BODY_LIMIT * 2)
    response = await client.post(
        f"/s/{tenant.service_slug}/form",
        data={"_csrf_token": token, "idempotency_key": "device-key-0123456789abcdef"},
        files=[("photos", ("lamp.jpg", photo, "image/jpeg"))],
    )
    assert response.status_code == 200


def test_only_the_routes_that_take_files_get_the_upload_limit(app: Litestar) -> None:
    assert sorted(limits.upload_routes(app)) == [
        "/r/{token:str}/reply",
        "/s/{slug:str}/form",
        "/s/{slug:str}/submit",
        "/staff/admin/branding",
        "/staff/cases/{case_id:uuid}/messages",
    ]


async def _exchange(port: int, raw: bytes, *, wait: float = 5.0) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(raw)
        await writer.drain()
        async with asyncio.timeout(wait):
            return await reader.read()  # until the server closes the connection
    finally:
        writer.close()


def _status(answer: bytes) -> int:
    return int(answer.split(b" ", 2)[1]) if answer.startswith(b"HTTP/1.1 ") else 0


async def test_the_server_refuses_an_oversized_header(app: Litestar, tenant: TenantFixture) -> None:
    async with live_server(app) as port:
        huge = b"x" * (64 * 1024)
        answer = await _exchange(port, b"GET /health HTTP/1.1\r\nHost: localhost\r\nX-Big: " + huge + b"\r\n\r\n")
    assert _status(answer) in (400, 431)


async def test_the_server_refuses_too_many_headers(app: Litestar, tenant: TenantFixture) -> None:
    async with live_server(app) as port:
        fields = b"".join(b"X-%d: 1\r\n" % i for i in range(500))
        answer = await _exchange(port, b"GET /health HTTP/1.1\r\nHost: localhost\r\n" + fields + b"\r\n")
    assert _status(answer) == 431


async def test_the_server_still_answers_a_normal_request(app: Litestar, tenant: TenantFixture) -> None:
    async with live_server(app) as port:
        answer = await _exchange(port, b"GET /health HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
    assert _status(answer) == 200 and answer.endswith(b"ok")


async def test_a_head_that_trickles_in_is_cut_off(app: Litestar, tenant: TenantFixture) -> None:
    from backend.core.server import server_options

    async with live_server(app, **server_options(head_timeout=0.5)) as port:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            writer.write(b"GET /health HTTP/1.1\r\nHost: loc")
            await writer.drain()
            async with asyncio.timeout(5):
                answer = await reader.read()
        finally:
            writer.close()
    assert _status(answer) == 408


async def test_an_idle_connection_without_a_request_is_closed(app: Litestar, tenant: TenantFixture) -> None:
    from backend.core.server import server_options

    async with live_server(app, **server_options(head_timeout=0.5)) as port:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            async with asyncio.timeout(5):
                answer = await reader.read()
        finally:
            writer.close()
    assert _status(answer) == 408


async def test_a_body_that_stops_arriving_gets_408(
    app: Litestar, tenant: TenantFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(limits, "BODY_READ_TIMEOUT", 0.5)
    async with live_server(app) as port:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            writer.write(
                f"POST /staff/login HTTP/1.1\r\nHost: {tenant.host}\r\n"
                "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 1000\r\n\r\nemail=a".encode()
            )
            await writer.drain()
            async with asyncio.timeout(5):
                answer = await reader.read()
        finally:
            writer.close()
    assert _status(answer) == 408
