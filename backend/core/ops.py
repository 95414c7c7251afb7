"""The operator's endpoints: ``GET /metrics`` (Prometheus) and ``GET /health/ready`` (readiness).

``/health`` (liveness, in backend.tenants.controllers) answers as long as the process serves; ``/health/ready``
also asks the database and, where uploads are in a bucket, the bucket, so a load balancer sends no requests to
an instance that cannot reach them.

``/metrics`` is for the monitoring only: it answers 401 unless the request carries ``Authorization: Bearer
<RATHAUS_METRICS_TOKEN>`` or comes from a network in ``RATHAUS_METRICS_NETWORKS``. Both endpoints answer on any
host (backend.core.tenancy.HOST_INDEPENDENT_PREFIXES), so a scraper may use the instance's own address.
"""

from __future__ import annotations

import asyncio
import hmac
import ipaddress
import logging
from typing import Any

from litestar import Controller, Request, Response, get
from litestar.datastructures import State
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric

from backend.core import metrics
from backend.core.db import database_reachable, unscoped_session
from backend.core.i18n import gettext as _
from backend.settings import Settings

log = logging.getLogger("rathaus.ops")

PROBE_TIMEOUT = 5.0


def metrics_allowed(request: Request[Any, Any, Any], settings: Settings) -> bool:
    """The configured bearer token, or a client address in an allowed network."""
    if settings.metrics_token:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() == "bearer" and hmac.compare_digest(token.strip().encode(), settings.metrics_token.encode()):
            return True
    client = request.scope.get("client")
    if not settings.metrics_networks or not client:
        return False
    try:
        address = ipaddress.ip_address(client[0])
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return any(address.version == net.version and address in net for net in settings.metrics_networks)


def _problem(status: int, title: str, detail: str, headers: dict[str, str] | None = None) -> Response[Any]:
    return Response(
        {"type": "about:blank", "title": title, "status": status, "detail": detail},
        status_code=status,
        media_type="application/problem+json",
        headers={"Cache-Control": "no-store", **(headers or {})},
    )


async def _probe_figures(state: State) -> list[Metric]:
    """What the registered probes read from the database now, and whether it could be read at all."""
    up = GaugeMetricFamily("rathaus_database_up", "1 when the figures below could be read from the database.")
    figures: list[Metric] = []

    async def read() -> None:
        async with unscoped_session(state.db) as session:
            for probe in metrics.probes():
                figures.extend(await probe(session))

    try:
        await asyncio.wait_for(read(), PROBE_TIMEOUT)
    except Exception as exc:  # the counters are still worth a scrape when the database is away
        log.warning("metrics: the database figures could not be read (%s)", type(exc).__name__)
        up.add_metric([], 0)
        return [up]
    up.add_metric([], 1)
    return [up, *figures]


class OpsController(Controller):
    include_in_schema = False

    @get("/metrics", cache_control=None, exclude_from_csrf=True)
    async def metrics(self, request: Request[Any, Any, Any], state: State) -> Response[Any]:
        settings: Settings = state.settings
        if not metrics_allowed(request, settings):
            return _problem(
                401,
                _("Access denied"),
                _("These figures are for the monitoring only: please send its token."),
                {"WWW-Authenticate": 'Bearer realm="metrics"'},
            )
        body = metrics.exposition(await _probe_figures(state), settings.metrics_dir)
        return Response(body, media_type=metrics.CONTENT_TYPE, headers={"Cache-Control": "no-store"})

    @get("/health/ready", cache_control=None, exclude_from_csrf=True)
    async def ready(self, state: State) -> Response[Any]:
        database, storage = await asyncio.gather(database_reachable(state.db), state.storage.reachable())
        if not database:
            return _problem(503, _("This service is not available"), _("The database cannot be reached."))
        if not storage:
            return _problem(503, _("This service is not available"), _("The file storage cannot be reached."))
        return Response("ready", media_type="text/plain", headers={"Cache-Control": "no-store"})
