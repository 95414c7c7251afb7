"""Prometheus metrics and the request id: what every request leaves behind for the operator's monitoring.

``RequestObserver`` wraps the whole app (outside everything, so the router's own 404s and every error page are
counted too). Per request it

- takes the client's ``X-Request-ID`` when it is a plain identifier (letters, digits, ``._:-``, at most 128
  characters), else makes one, puts it into every log line of the request and echoes it in the response;
- counts the request and its duration by method, **route template** (``/r/{token}``, never the path, so no
  token ever reaches the metrics) and status;
- writes one access log line (logger ``rathaus.access``, level INFO) with the same fields and the municipality.

``GET /metrics`` (backend.core.ops) shows these counters together with figures read from the database at scrape
time by the probes the domains register (the outbox: depth, age, worker lag), so those are the same whichever
instance is asked. Several server processes (``RATHAUS_WORKERS``) share their counters through prometheus'
multiprocess mode (``PROMETHEUS_MULTIPROC_DIR``, set up by ``rathaus serve``).
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import Awaitable, Callable, Iterable
from pathlib import Path
from typing import Any

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.metrics_core import Metric
from prometheus_client.multiprocess import MultiProcessCollector
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.logs import REQUEST_ID

CONTENT_TYPE = "text/plain; version=0.0.4"  # Litestar adds the charset
UNMATCHED = "unmatched"  # the route label of a request no route took (the router's 404): never its path
REQUEST_ID_HEADER = "x-request-id"
_SANE_ID = re.compile(rb"^[A-Za-z0-9._:-]{1,128}$")
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

REQUESTS = Counter(
    "rathaus_http_requests",
    "HTTP requests answered, by method, route template and status.",
    ["method", "route", "status"],
)
DURATION = Histogram(
    "rathaus_http_request_duration_seconds",
    "Time from receiving a request to its last response byte, by method and route template.",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)

access_log = logging.getLogger("rathaus.access")

# One labelled child per (method, route, status): looking it up is a dict hit instead of prometheus' own
# locked lookup on every request. Bounded: routes, methods and statuses are finite sets.
_children: dict[tuple[str, str, int], tuple[Any, Any]] = {}


def record(method: str, route: str, status: int, seconds: float) -> None:
    key = (method, route, status)
    pair = _children.get(key)
    if pair is None:
        pair = (REQUESTS.labels(method, route, str(status)), DURATION.labels(method, route))
        _children[key] = pair
    pair[0].inc()
    pair[1].observe(seconds)


def _request_id(scope: Any) -> str:
    for name, value in scope.get("headers", ()):
        if name == b"x-request-id":
            if _SANE_ID.match(value):
                return value.decode("ascii")
            break
    return uuid.uuid4().hex


class RequestObserver:
    """The outermost layer of the app: request id, request metrics and the access log (see the module's doc)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = _request_id(scope)
        reset = REQUEST_ID.set(request_id)
        method = scope["method"] if scope["method"] in _METHODS else "OTHER"
        start = time.perf_counter()
        status = 500  # what the client sees when the app fails without answering
        echo = (REQUEST_ID_HEADER.encode(), request_id.encode())

        async def send_with_id(message: Any) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", ()), echo]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            seconds = time.perf_counter() - start
            route = scope.get("path_template") or UNMATCHED
            record(method, route, status, seconds)
            if access_log.isEnabledFor(logging.INFO):
                tenant = (scope.get("state") or {}).get("tenant")
                fields = {
                    "method": method,
                    "route": route,
                    "status": status,
                    "duration_ms": round(seconds * 1000, 2),
                    "tenant": tenant.slug if tenant is not None else None,
                }
                access_log.info("%s %s %s", method, route, status, extra={"fields": fields})
            REQUEST_ID.reset(reset)


# --- figures read at scrape time ------------------------------------------------------------------------------

Probe = Callable[[AsyncSession], Awaitable[Iterable[Metric]]]
_probes: list[Probe] = []


def register_probe(probe: Probe) -> None:
    """Add a function that reads figures from the database when /metrics is asked (once per probe)."""
    if probe not in _probes:
        _probes.append(probe)


def probes() -> list[Probe]:
    return list(_probes)


class _Fixed:
    """A collector that yields metrics made beforehand (the probes' figures of this scrape)."""

    def __init__(self, metrics: list[Metric]) -> None:
        self.metrics = metrics

    def collect(self) -> Iterable[Metric]:
        return self.metrics


def exposition(extra: list[Metric], multiprocess_dir: Path | None) -> bytes:
    """The text format: this process's (or, in multiprocess mode, all processes') counters, then ``extra``."""
    if multiprocess_dir is not None:
        registry = CollectorRegistry()
        MultiProcessCollector(registry, path=str(multiprocess_dir))  # type: ignore[no-untyped-call]
        body = generate_latest(registry)
    else:
        body = generate_latest(REGISTRY)
    fixed = CollectorRegistry(auto_describe=False)
    fixed.register(_Fixed(extra))  # type: ignore[arg-type]
    return body + generate_latest(fixed)
