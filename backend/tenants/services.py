"""Municipalities: finding one by host name, listing them, creating them."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from backend.cases.models import Case
from backend.catalogue.models import Service
from backend.core.db import ALL_TENANTS
from backend.core.tenancy import Resolver, TenantContext
from backend.tenants.models import Tenant, TenantHost

SLUG_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
HOST_RE = re.compile(r"^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
# The German states by their ISO 3166-2:DE code; all share one time zone, holidays differ per state.
STATES = ("BW", "BY", "BE", "BB", "HB", "HH", "HE", "MV", "NI", "NW", "RP", "SL", "SN", "ST", "SH", "TH")
STATE_TIMEZONE = "Europe/Berlin"
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
        disabled=not t.active,
        short_name=t.short_name or "",
        logo_key=t.logo_key or "",
        theme=t.theme or "",
        feedback_reopen_days=t.feedback_reopen_days if t.feedback_reopen_days is not None else 14,
    )


def host_resolver(session_maker: Callable[[], AsyncSession], base_domain: str) -> Resolver:
    suffix = "." + base_domain

    async def resolve(host: str) -> TenantContext | None:
        async with session_maker() as session:
            session.info[ALL_TENANTS] = True
            tenant: Tenant | None = None
            if host.endswith(suffix) and "." not in host[: -len(suffix)]:
                tenant = await session.scalar(select(Tenant).where(Tenant.slug == host[: -len(suffix)]))
            if tenant is None:
                tenant = await session.scalar(
                    select(Tenant).join(TenantHost, TenantHost.tenant_id == Tenant.id).where(TenantHost.host == host)
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
        state: str | None = None,
    ) -> Tenant:
        if not SLUG_RE.match(slug):
            raise TenantError("slug: lowercase letters, digits and dashes, at most 63 characters")
        if not name.strip():
            raise TenantError("the name must not be empty")
        if state is not None and state not in STATES:
            raise TenantError(f"state {state!r} is not a German state code ({' '.join(STATES)})")
        hosts = [h.strip().lower().rstrip(".") for h in hosts or []]
        for host in hosts:
            if not HOST_RE.match(host):
                raise TenantError(f"host {host!r} is not a valid host name")
        taken = await self.session.scalar(select(TenantHost.host).where(TenantHost.host.in_(hosts))) if hosts else None
        if taken:
            raise TenantError(f"the host {taken!r} belongs to another municipality already")
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
            state=state,
            timezone=STATE_TIMEZONE,
        )
        self.session.add(tenant)
        await self.session.flush()
        for host in hosts:
            self.session.add(TenantHost(tenant_id=tenant.id, host=host))
        await self.session.flush()
        return tenant

    async def overview(self) -> list[TenantSummary]:
        """Every municipality with its hosts and how many services and cases it has (for the operator)."""
        counts = {}
        for model in (Service, Case):
            rows = await self.session.execute(
                select(model.tenant_id, func.count()).group_by(model.tenant_id).execution_options(all_tenants=True)
            )
            counts[model] = dict(rows.tuples().all())
        hosts: dict[uuid.UUID, list[str]] = {}
        for tenant_id, host in await self.session.execute(select(TenantHost.tenant_id, TenantHost.host)):
            hosts.setdefault(tenant_id, []).append(host)
        tenants = await self.session.scalars(select(Tenant).order_by(Tenant.slug))
        return [
            TenantSummary(t, sorted(hosts.get(t.id, [])), counts[Service].get(t.id, 0), counts[Case].get(t.id, 0))
            for t in tenants
        ]

    async def set_active(self, slug: str, active: bool) -> Tenant:
        tenant = await self.by_slug(slug)
        if tenant is None:
            raise TenantError(f"no municipality with the slug {slug!r}")
        tenant.active = active
        await self.session.flush()
        return tenant

    async def set_theme(self, slug: str, theme: str | None, themes_dir: Path | None) -> Tenant:
        """Give a municipality one of the operator's themes (a folder in ``themes_dir``), or none."""
        tenant = await self.by_slug(slug)
        if tenant is None:
            raise TenantError(f"no municipality with the slug {slug!r}")
        if theme is not None:
            check_theme(theme, themes_dir)
        tenant.theme = theme
        await self.session.flush()
        return tenant


def check_theme(theme: str, themes_dir: Path | None) -> None:
    if themes_dir is None:
        raise TenantError("no themes: set RATHAUS_THEMES_DIR to the folder that holds the theme folders")
    if not SLUG_RE.match(theme) or not (themes_dir / theme).is_dir():
        known = sorted(p.name for p in themes_dir.iterdir() if p.is_dir()) if themes_dir.is_dir() else []
        raise TenantError(f"no theme {theme!r} in {themes_dir} (there are: {', '.join(known) or 'none'})")


@dataclass(frozen=True)
class TenantSummary:
    tenant: Tenant
    hosts: list[str]
    services: int
    cases: int


async def update_branding(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    *,
    name: str,
    primary: str,
    accent: str,
    short_name: str | None = None,
) -> None:
    """Save a municipality's name, short name and colours (already checked by the caller)."""
    tenant = await _tenant(session, tenant_id)
    tenant.name, tenant.primary_color, tenant.accent_color = name, primary, accent
    tenant.short_name = short_name or None
    await session.flush()


async def set_logo(session: AsyncSession, tenant_id: uuid.UUID, key: str | None) -> str | None:
    """Point the municipality at a new stored logo (or none); returns the old key, to delete after commit."""
    tenant = await _tenant(session, tenant_id)
    old, tenant.logo_key = tenant.logo_key, key
    await session.flush()
    return old


async def set_languages(session: AsyncSession, tenant_id: uuid.UUID, languages: list[str], default: str) -> None:
    """Save the enabled languages and the default (already checked by the caller: default among them)."""
    tenant = await _tenant(session, tenant_id)
    tenant.languages, tenant.default_language = list(languages), default
    await session.flush()


async def _tenant(session: AsyncSession, tenant_id: uuid.UUID) -> Tenant:
    tenant = await session.get(Tenant, tenant_id)
    if tenant is None:
        raise TenantError("unknown municipality")
    return tenant


# --- host names ---------------------------------------------------------------------------------


class HostRefused(TenantError):
    """A host name a municipality cannot add; ``reason`` is "invalid", "platform" or "taken"."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def normalise_host(raw: str) -> str:
    """A host name as stored: lower case, IDNA (xn--) form, no trailing dot; HostRefused("invalid") otherwise."""
    text = raw.strip().rstrip(".")
    if not text or len(text) > 253 or any(c in text for c in "/:@ \t") or text.startswith("."):
        raise HostRefused("invalid")
    try:
        host = text.encode("idna").decode("ascii").lower()
    except UnicodeError:
        raise HostRefused("invalid") from None
    if not HOST_RE.match(host) or host.rsplit(".", 1)[-1].isdigit():  # a name, never an IPv4 address
        raise HostRefused("invalid")
    return host


async def custom_hosts(session: AsyncSession, tenant_id: uuid.UUID) -> list[str]:
    """The municipality's own host names, the primary one (added first) first."""
    rows = await session.scalars(
        select(TenantHost.host)
        .where(TenantHost.tenant_id == tenant_id)
        .order_by(TenantHost.created_at, TenantHost.host)
    )
    return list(rows)


async def add_host(session: AsyncSession, tenant_id: uuid.UUID, raw: str, base_domain: str) -> str:
    """Adds a custom host name; refuses one under the platform's domain or one any municipality has."""
    host = normalise_host(raw)
    base = base_domain.lower().rstrip(".")
    if host == base or host.endswith("." + base):
        raise HostRefused("platform")
    taken = await session.scalar(
        select(TenantHost.id).where(TenantHost.host == host).execution_options(**{ALL_TENANTS: True})
    )
    if taken is not None:
        raise HostRefused("taken")
    session.add(TenantHost(tenant_id=tenant_id, host=host))
    try:
        await session.flush()
    except IntegrityError:  # added by another request in the meantime
        await session.rollback()
        raise HostRefused("taken") from None
    return host


async def remove_host(session: AsyncSession, tenant_id: uuid.UUID, host: str) -> bool:
    """Removes one of this municipality's host names; False if it has no such host."""
    row = await session.scalar(
        select(TenantHost).where(TenantHost.tenant_id == tenant_id, TenantHost.host == host.strip().lower())
    )
    if row is None:
        return False
    await session.delete(row)
    await session.flush()
    return True
