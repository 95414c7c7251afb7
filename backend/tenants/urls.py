"""The one place that builds links leaving the app (e-mails, push notifications): a municipality's public address."""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.db import ALL_TENANTS
from backend.settings import Settings
from backend.tenants.models import TenantHost


def public_origin(settings: Settings, slug: str, custom_host: str | None = None) -> str:
    """scheme://host[:port] of a municipality: its primary custom host if it has one, else <slug>.<base domain>.

    The port is the one people reach the app on (Settings.link_port): the served port in development,
    none behind a production proxy, or RATHAUS_PUBLIC_PORT.
    """
    scheme = "https" if settings.https else "http"
    host = custom_host or f"{slug}.{settings.base_domain}"
    port = settings.link_port
    return f"{scheme}://{host}" + (f":{port}" if port else "")


def public_url(settings: Settings, slug: str, custom_host: str | None, path: str) -> str:
    """An absolute link to a page of the municipality (``path`` is a path of this site, e.g. /r/<token>)."""
    if not path.startswith("/") or path.startswith("//"):
        path = "/"
    return public_origin(settings, slug, custom_host) + path


async def primary_hosts(session: AsyncSession, tenant_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, str]:
    """Each municipality's primary custom host name: the one added first (later ones are aliases)."""
    rows = await session.execute(
        select(TenantHost.tenant_id, TenantHost.host)
        .where(TenantHost.tenant_id.in_(list(tenant_ids)))
        .order_by(TenantHost.created_at.desc(), TenantHost.host.desc())
        .execution_options(**{ALL_TENANTS: True})
    )
    # Newest first, so the oldest host of each municipality is written last and wins.
    return {tenant_id: host for tenant_id, host in rows.all()}
