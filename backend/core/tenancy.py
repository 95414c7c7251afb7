"""Which municipality a request is for, decided once from the Host header, and its language."""

from __future__ import annotations

import hashlib
import re
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import msgspec
from litestar.datastructures import Headers
from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Empty, Receive, Scope, Send
from litestar.utils.scope.state import ScopeState

from backend.core import i18n, templating
from backend.core.errors import BadRequest, NotFound, Unavailable


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
    # Switched off by the platform operator: every route answers a neutral "not available" page.
    disabled: bool = False
    # Set by the admin; empty: derived from the name where needed (backend.tenants.manifest.short_name).
    short_name: str = ""
    # The stored logo (a storage key), empty without one.
    logo_key: str = ""
    # The operator's theme for this municipality (a folder in RATHAUS_THEMES_DIR), empty for none.
    theme: str = ""
    # Days after closing in which a citizen's "not solved" reopens the case (cases/feedback.py).
    feedback_reopen_days: int = 14

    @property
    def logo_version(self) -> str:
        """Part of the logo's URL: new with every uploaded logo, so caches never show an old one."""
        return hashlib.sha256(self.logo_key.encode()).hexdigest()[:10] if self.logo_key else ""

    @property
    def logo_url(self) -> str:
        return f"/logo?v={self.logo_version}" if self.logo_key else ""

    @property
    def enabled_languages(self) -> list[str]:
        """The languages citizens may choose: the enabled ones the platform supports, never none."""
        return [lang for lang in self.languages if lang in i18n.SUPPORTED_LANGUAGES] or [
            self.default_language_or_platform
        ]

    @property
    def default_language_or_platform(self) -> str:
        return self.default_language if self.default_language in i18n.SUPPORTED_LANGUAGES else i18n.DEFAULT_LANGUAGE


Resolver = Callable[[str], Awaitable[TenantContext | None]]

# Paths that answer the same on every host and need no municipality.
HOST_INDEPENDENT_PREFIXES = ("/health", "/metrics", "/static/", "/favicon.ico", "/robots.txt")


_LABEL = r"[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?"
_HOST = re.compile(rf"^(?:{_LABEL}(?:\.{_LABEL})*\.?|\[[0-9a-f:.]+\])(?::(\d{{1,5}}))?$", re.IGNORECASE)


def valid_host(raw_host: str) -> bool:
    """A Host header a URL can be made of: a name or bracketed IPv6 address, and a port that is a port."""
    if not raw_host:
        return True  # HTTP/1.0 without Host: the server's own address is used
    match = _HOST.match(raw_host)
    return match is not None and (match.group(1) is None or 0 < int(match.group(1)) <= 65535)


def replace_malformed_host(scope: Scope, fallback: str) -> bool:
    """Swap a malformed Host header for ``fallback``; True when it was malformed.

    Litestar builds ``request.url`` from the Host header and raises on a port like ``abc``: the error page
    (which links to the current path) must still be made, so the header it reads has to be sound.
    """
    headers = scope.get("headers", [])
    raw = next((v for k, v in headers if k == b"host"), b"")
    if valid_host(raw.decode("latin-1")):
        return False
    scope["headers"] = [(k, v) for k, v in headers if k != b"host"] + [(b"host", fallback.encode())]
    state = ScopeState.from_scope(scope)
    state.headers = state.url = state.base_url = Empty
    return True


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


class TenantData:
    """What a municipality's citizen pages show of its own data and rarely changes (its services, its current
    news), kept per municipality for a short time. A committed change of that data empties the municipality's
    entries on every instance at once (tenants/changes.py); a loader may bound its entry's life further (news
    that starts or ends)."""

    def __init__(self, ttl: float = 30.0) -> None:
        self._ttl = ttl
        self._entries: dict[tuple[uuid.UUID, str], tuple[float, Any]] = {}
        self._generation = 0

    async def get(
        self, tenant_id: uuid.UUID, name: str, load: Callable[[], Awaitable[tuple[Any, float | None]]]
    ) -> Any:
        """The kept value, or ``load()``'s: (value, seconds it stays true, or None for as long as the ttl)."""
        now = time.monotonic()
        hit = self._entries.get((tenant_id, name))
        if hit and hit[0] > now:
            return hit[1]
        # A change announced while loading makes what was loaded suspect: it is used once but not kept.
        generation = self._generation
        value, lasts = await load()
        if generation == self._generation:
            if len(self._entries) > 10_000:
                self._entries.clear()
            self._entries[(tenant_id, name)] = (now + (self._ttl if lasts is None else min(self._ttl, lasts)), value)
        return value

    def forget(self, tenant_id: uuid.UUID | None) -> None:
        """Everything of one municipality, or of all (None)."""
        self._generation += 1
        if tenant_id is None:
            self._entries.clear()
            return
        for key in [k for k in self._entries if k[0] == tenant_id]:
            del self._entries[key]


class TenancyMiddleware(ASGIMiddleware):
    """Sets ``state.tenant`` (None on the platform's own host) and ``state.language``.

    An unknown host ends here with a plain 404 that names no municipality.
    """

    scopes = ("http",)  # type: ignore[assignment]

    def __init__(self, base_domain: str) -> None:
        self.base_domain = base_domain

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        state = scope.setdefault("state", {})
        i18n.set_overrides({})
        templating.set_theme(None)
        path = scope.get("path", "")
        # No address of ours has a NUL in it, and PostgreSQL refuses one in any text it is given.
        if replace_malformed_host(scope, self.base_domain) or "\x00" in path:
            state["tenant"] = None
            raise BadRequest()
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
            if tenant.disabled:
                # The page names no municipality: it is not this town's page any more.
                state["tenant"] = None
                i18n.set_language(i18n.pick_language(None, None, headers.get("accept-language"), ["de", "en"], "de"))
                raise Unavailable()
        state["tenant"] = tenant
        cookies = _cookies(headers.get("cookie", ""))
        if tenant is not None:
            allowed, default = tenant.enabled_languages, tenant.default_language_or_platform
            i18n.set_timezone(tenant.timezone)
            templating.set_theme(tenant.theme)
        else:
            allowed, default = list(i18n.SUPPORTED_LANGUAGES), i18n.DEFAULT_LANGUAGE
        language = i18n.pick_language(
            None, cookies.get(i18n.LANGUAGE_COOKIE), headers.get("accept-language"), allowed, default
        )
        i18n.set_language(language)
        state["language"] = language
        # The municipality's own wording of the shared texts (tenants/wording.py), for every language it has.
        overrides: i18n.OverrideCache | None = getattr(scope["litestar_app"].state, "text_overrides", None)
        i18n.set_overrides(await overrides.get(tenant.id) if tenant is not None and overrides is not None else {})
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
