"""Which municipality a request is for, decided once from the Host header, and its language."""

from __future__ import annotations

import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import msgspec
from litestar.datastructures import Headers
from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Receive, Scope, Send

from backend.core import i18n
from backend.core.errors import NotFound


class TenantContext(msgspec.Struct, frozen=True):
    """What every request knows about its municipality; loaded once per host and cached briefly."""

    id: uuid.UUID
    slug: str
    name: str
    primary_color: str
    accent_color: str
    default_language: str
    languages: list[str]
    timezone: str
    texts: dict[str, dict[str, str]] = {}


Resolver = Callable[[str], Awaitable[TenantContext | None]]

# Paths that answer the same on every host and need no municipality.
HOST_INDEPENDENT_PREFIXES = ("/health", "/static/", "/favicon.ico", "/robots.txt")


def split_host(raw_host: str) -> str:
    host = raw_host.strip().lower()
    if host.startswith("["):  # IPv6 literal
        return host.split("]")[0] + "]"
    return host.rsplit(":", 1)[0] if ":" in host else host


class HostCache:
    """Host → municipality, cached for a short time so a branding change shows within seconds."""

    def __init__(self, resolver: Resolver, ttl: float = 30.0) -> None:
        self._resolver = resolver
        self._ttl = ttl
        self._entries: dict[str, tuple[float, TenantContext | None]] = {}

    async def get(self, host: str) -> TenantContext | None:
        now = time.monotonic()
        hit = self._entries.get(host)
        if hit and hit[0] > now:
            return hit[1]
        tenant = await self._resolver(host)
        if len(self._entries) > 10_000:
            self._entries.clear()
        self._entries[host] = (now + self._ttl, tenant)
        return tenant

    def clear(self) -> None:
        self._entries.clear()


class TenancyMiddleware(ASGIMiddleware):
    """Sets ``state.tenant`` (None on the platform's own host) and ``state.language``.

    An unknown host ends here with a plain 404 that names no municipality.
    """

    scopes = ("http",)  # type: ignore[assignment]

    def __init__(self, base_domain: str) -> None:
        self.base_domain = base_domain

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        state = scope.setdefault("state", {})
        path = scope.get("path", "")
        headers = Headers.from_scope(scope)
        host = split_host(headers.get("host", ""))
        tenant: TenantContext | None = None
        platform = host in (self.base_domain, "127.0.0.1", "::1", "[::1]") or (
            self.base_domain == "localhost" and host == "localhost"
        )
        if not path.startswith(HOST_INDEPENDENT_PREFIXES) and not platform:
            cache: HostCache = scope["litestar_app"].state.host_cache
            tenant = await cache.get(host)
            if tenant is None:
                state["tenant"] = None
                state["unknown_host"] = True
                i18n.set_language(i18n.pick_language(None, None, headers.get("accept-language"), ["de", "en"], "de"))
                raise NotFound()
        state["tenant"] = tenant
        cookies = _cookies(headers.get("cookie", ""))
        if tenant is not None:
            allowed, default = tenant.languages, tenant.default_language
            i18n.set_timezone(tenant.timezone)
        else:
            allowed, default = list(i18n.SUPPORTED_LANGUAGES), i18n.DEFAULT_LANGUAGE
        language = i18n.pick_language(
            None, cookies.get(i18n.LANGUAGE_COOKIE), headers.get("accept-language"), allowed, default
        )
        i18n.set_language(language)
        state["language"] = language
        await next_app(scope, receive, send)


def _cookies(raw: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for part in raw.split(";"):
        if "=" in part:
            k, v = part.split("=", 1)
            out[k.strip()] = v.strip()
    return out


def tenant_of(request: Any) -> TenantContext:
    """The request's municipality; routes that need one are never reached on the platform host."""
    tenant = request.state.get("tenant") if hasattr(request.state, "get") else getattr(request.state, "tenant", None)
    if tenant is None:
        raise NotFound()
    return tenant  # type: ignore[no-any-return]
