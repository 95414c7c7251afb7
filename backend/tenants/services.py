"""Municipalities: finding one by host name, listing them, creating them."""

from __future__ import annotations

import re
from collections.abc import Callable

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.db import ALL_TENANTS
from backend.core.tenancy import Resolver, TenantContext
from backend.tenants.models import Tenant, TenantHost

SLUG_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
COLOR_RE = re.compile(r"^#[0-9a-fA-F]{6}$")


class TenantError(ValueError):
    pass


def to_context(t: Tenant) -> TenantContext:
    return TenantContext(
        id=t.id,
        slug=t.slug,
        name=t.name,
        primary_color=t.primary_color,
        accent_color=t.accent_color,
        default_language=t.default_language,
        languages=list(t.languages or ["de"]),
        timezone=t.timezone,
        texts=dict(t.texts or {}),
    )


def host_resolver(session_maker: Callable[[], AsyncSession], base_domain: str) -> Resolver:
    suffix = "." + base_domain

    async def resolve(host: str) -> TenantContext | None:
        async with session_maker() as session:
            session.info[ALL_TENANTS] = True
            tenant: Tenant | None = None
            if host.endswith(suffix) and "." not in host[: -len(suffix)]:
                tenant = await session.scalar(
                    select(Tenant).where(Tenant.slug == host[: -len(suffix)], Tenant.active.is_(True))
                )
            if tenant is None:
                tenant = await session.scalar(
                    select(Tenant)
                    .join(TenantHost, TenantHost.tenant_id == Tenant.id)
                    .where(TenantHost.host == host, Tenant.active.is_(True))
                )
            return to_context(tenant) if tenant else None

    return resolve


class TenantService:
    """Platform-level operations; the session here spans municipalities on purpose."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def list_active(self) -> list[Tenant]:
        return list(await self.session.scalars(select(Tenant).where(Tenant.active.is_(True)).order_by(Tenant.name)))

    async def by_slug(self, slug: str) -> Tenant | None:
        return await self.session.scalar(select(Tenant).where(Tenant.slug == slug))  # type: ignore[no-any-return]

    async def create(
        self,
        *,
        slug: str,
        name: str,
        primary_color: str = "#1d4f91",
        accent_color: str = "#b3261e",
        default_language: str = "de",
        languages: list[str] | None = None,
        hosts: list[str] | None = None,
        texts: dict[str, dict[str, str]] | None = None,
    ) -> Tenant:
        if not SLUG_RE.match(slug):
            raise TenantError("slug: lowercase letters, digits and dashes, at most 63 characters")
        for color in (primary_color, accent_color):
            if not COLOR_RE.match(color):
                raise TenantError(f"colour {color!r} must look like #1d4f91")
        if await self.by_slug(slug):
            raise TenantError(f"a municipality with the slug {slug!r} exists already")
        tenant = Tenant(
            slug=slug,
            name=name,
            primary_color=primary_color,
            accent_color=accent_color,
            default_language=default_language,
            languages=languages or ["de", "en"],
            texts=texts or {},
        )
        self.session.add(tenant)
        await self.session.flush()
        for host in hosts or []:
            self.session.add(TenantHost(tenant_id=tenant.id, host=host.lower()))
        await self.session.flush()
        return tenant
