"""A local push service that plays the browser vendor's part, checking what we send with independent code.

It mints subscriptions (a P-256 key pair and an auth secret, as a browser would), verifies the VAPID
header (ES256 signature against `k`, `aud` = the endpoint's origin including the port, `exp` in the
future and at most 24 h ahead, `sub` present), decrypts the body with `http_ece`, and answers what a
test tells it to: 201 by default, or 404, 410, 429 with Retry-After, 500.
"""

from __future__ import annotations

import base64
import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import http_ece
import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass
class Device:
    id: str
    private_key: ec.EllipticCurvePrivateKey
    auth: bytes
    answers: list[tuple[int, dict[str, str]]] = field(default_factory=list)


@dataclass
class Received:
    device_id: str
    status: int
    headers: dict[str, str]
    payload: dict[str, Any] | None
    problems: list[str]
    vapid_key: str


class PushService:
    def __init__(self, host: str = "127.0.0.1") -> None:
        self.devices: dict[str, Device] = {}
        self.received: list[Received] = []
        self.requests = 0
        self.delay = 0.0  # seconds before each answer: a slow push service
        self.in_flight = self.most_in_flight = 0  # requests being answered now, and the most at once
        self._lock = threading.Lock()
        service = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                with service._lock:
                    service.in_flight += 1
                    service.most_in_flight = max(service.most_in_flight, service.in_flight)
                try:
                    service._handle(self)
                finally:
                    with service._lock:
                        service.in_flight -= 1

            def log_message(self, *args: Any) -> None:
                pass

        class Server(ThreadingHTTPServer):
            # Workers open many connections at once; the default backlog of 5 refuses some under load.
            request_queue_size = 256
            daemon_threads = True

        self.server = Server((host, 0), Handler)
        self.origin = f"http://{host}:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def subscribe(self) -> dict[str, Any]:
        """A PushSubscription.toJSON() as a browser would hand it to the page."""
        device = Device(
            id=secrets.token_hex(8), private_key=ec.generate_private_key(ec.SECP256R1()), auth=secrets.token_bytes(16)
        )
        self.devices[device.id] = device
        public = device.private_key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        return {
            "endpoint": f"{self.origin}/push/{device.id}",
            "expirationTime": None,
            "keys": {"p256dh": _b64(public), "auth": _b64(device.auth)},
        }

    def answer(self, subscription: dict[str, Any], *answers: int | tuple[int, dict[str, str]]) -> None:
        """Queue the next answers for this device (later ones get 201)."""
        device = self.devices[subscription["endpoint"].rsplit("/", 1)[1]]
        device.answers.extend(a if isinstance(a, tuple) else (a, {}) for a in answers)

    def for_device(self, subscription: dict[str, Any]) -> list[Received]:
        device_id = subscription["endpoint"].rsplit("/", 1)[1]
        return [r for r in self.received if r.device_id == device_id]

    def delivered(self, subscription: dict[str, Any]) -> list[Received]:
        return [r for r in self.for_device(subscription) if r.status == 201]

    # --- the push service's side of RFC 8030/8291/8292 -----------------------------------------------

    def _handle(self, request: BaseHTTPRequestHandler) -> None:
        with self._lock:
            self.requests += 1
        length = int(request.headers.get("Content-Length") or 0)
        body = request.rfile.read(length)
        device = self.devices.get(request.path.rsplit("/", 1)[-1])
        if device is None:
            request.send_response(404)
            request.end_headers()
            return
        headers = {k.lower(): v for k, v in request.headers.items()}
        problems, vapid_key = self._check_headers(headers)
        payload = None
        try:
            plain = http_ece.decrypt(body, private_key=device.private_key, auth_secret=device.auth, version="aes128gcm")
            payload = json.loads(plain)
        except Exception as exc:  # noqa: BLE001 - reported to the test as a problem
            problems.append(f"cannot decrypt: {exc!r}")
        if self.delay:
            time.sleep(self.delay)
        with self._lock:
            status, extra = device.answers.pop(0) if device.answers else (201, {})
            if problems:
                status = 400
            self.received.append(Received(device.id, status, headers, payload, problems, vapid_key))
        request.send_response(status)
        for name, value in extra.items():
            request.send_header(name, value)
        request.send_header("Content-Length", "0")
        request.end_headers()

    def _check_headers(self, headers: dict[str, str]) -> tuple[list[str], str]:
        problems: list[str] = []
        if headers.get("content-encoding") != "aes128gcm":
            problems.append("Content-Encoding is not aes128gcm")
        ttl = headers.get("ttl")
        if ttl is None or not ttl.isdigit():
            problems.append("TTL header missing")
        urgency = headers.get("urgency", "normal")
        if urgency not in ("very-low", "low", "normal", "high"):
            problems.append(f"bad Urgency {urgency!r}")
        topic = headers.get("topic")
        if topic is not None and (len(topic) > 32 or not all(c.isalnum() or c in "-_" for c in topic)):
            problems.append(f"bad Topic {topic!r}")
        auth = headers.get("authorization", "")
        if not auth.startswith("vapid "):
            return problems + ["Authorization is not vapid"], ""
        parts = dict(p.strip().split("=", 1) for p in auth[len("vapid ") :].split(","))
        token, key = parts.get("t", ""), parts.get("k", "")
        try:
            public = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), _unb64(key))
            claims = jwt.decode(token, public, algorithms=["ES256"], audience=self.origin, options={"require": ["exp"]})
        except Exception as exc:  # noqa: BLE001
            return problems + [f"VAPID token invalid: {exc!r}"], key
        if not 0 < claims["exp"] - time.time() <= 24 * 3600:
            problems.append("VAPID exp not within 24 h")
        if not str(claims.get("sub", "")).startswith(("mailto:", "https:")):
            problems.append("VAPID sub missing")
        return problems, key
