"""The platform page, a municipality's home page, its theme, the language switch and the health check;
the installable app: manifest, icons, service worker and offline page."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from litestar import Controller, Request, Response, get
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, FromQuery
from litestar.plugins.htmx import HTMXRequest
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from backend.catalogue.services import CatalogueService
from backend.core import i18n
from backend.core.deps import provide_session
from backend.core.errors import NotFound
from backend.core.tenancy import TenantContext, tenant_of
from backend.settings import Settings
from backend.tenants import manifest
from backend.tenants.branding import theme_css
from backend.tenants.services import TenantService


async def provide_icons(state: State) -> manifest.IconCache:
    """One icon cache per app, made on first use (kept on disk too, for other processes and restarts)."""
    if "icon_cache" not in state:
        settings: Settings = state.settings
        state.icon_cache = manifest.IconCache(folder=settings.data_dir / "icons")
    return state.icon_cache  # type: ignore[no-any-return]


class TenantController(Controller):
    dependencies = {"session": Provide(provide_session), "icons": Provide(provide_icons)}

    @get("/health", media_type="text/plain", cache_control=None, exclude_from_csrf=True)
    async def health(self) -> str:
        return "ok"

    @get("/")
    async def home(
        self, request: HTMXRequest, session: NamedDependency[AsyncSession], q: FromQuery[str] = ""
    ) -> Template:
        tenant: TenantContext | None = request.state.get("tenant")
        if tenant is None:
            tenants = await TenantService(session).list_active()
            return Template("platform.html", context={"tenants": tenants, "port": _port(request)})
        categories = await CatalogueService(session, tenant).search(q[:100])
        template = "_services.html" if request.htmx and request.htmx.target == "service-list" else "home.html"
        return Template(template, context={"categories": categories, "q": q[:100]})

    @get("/theme.css", media_type="text/css")
    async def theme(self, request: Request[Any, Any, Any]) -> Response[str]:
        tenant = tenant_of(request)
        return Response(
            theme_css(tenant.primary_color, tenant.accent_color),
            media_type="text/css",
            headers={"Cache-Control": "public, max-age=300"},
        )

    @get("/offline")
    async def offline(self, request: Request[Any, Any, Any]) -> Template:
        tenant_of(request)
        return Template("offline.html")

    # The app's own files carry no CSRF cookie: they are cached, and shared caches must not store cookies.

    @get("/manifest.webmanifest", exclude_from_csrf=True)
    async def web_manifest(self, request: Request[Any, Any, Any]) -> Response[bytes]:
        body = manifest.manifest_json(tenant_of(request))
        return _cached(request, body, "application/manifest+json", "public, max-age=300")

    @get("/icons/{name:str}", exclude_from_csrf=True)
    async def icon(
        self,
        request: Request[Any, Any, Any],
        name: FromPath[str],
        icons: NamedDependency[manifest.IconCache],
        v: FromQuery[str] = "",
    ) -> Response[bytes]:
        tenant = tenant_of(request)
        if name not in manifest.ICONS:
            raise NotFound()
        icon = icons.get(tenant, name)
        return _cached(request, icon.body, "image/png", manifest.icon_cache_control(v, tenant), icon.etag)

    @get("/sw.js", exclude_from_csrf=True)
    async def service_worker(self, request: Request[Any, Any, State]) -> Response[bytes]:
        tenant = tenant_of(request)
        settings: Settings = request.app.state.settings
        worker = settings.static_dir.parent / "sw.js"
        source = manifest.service_worker_source(
            worker.read_text(encoding="utf-8"),
            tenant,
            manifest.shell_files(settings.static_dir, settings.templates_dir, settings.locales_dir, worker),
            manifest.shell_entries(tenant, settings.static_dir),
        )
        response = _cached(request, source.encode(), "text/javascript", "no-cache")
        response.headers["Service-Worker-Allowed"] = "/"
        return response

    @get("/language/{code:str}")
    async def language(self, code: FromPath[str], next: FromQuery[str] = "/") -> Redirect:  # noqa: A002
        target = next if _is_local_path(next) else "/"
        response = Redirect(path=target, status_code=303)
        if code in i18n.SUPPORTED_LANGUAGES:
            response.set_cookie(
                i18n.LANGUAGE_COOKIE, code, max_age=365 * 24 * 3600, samesite="lax", httponly=True
            )
        return response


def _cached(
    request: Request[Any, Any, Any], body: bytes, media_type: str, cache_control: str, etag: str | None = None
) -> Response[bytes]:
    """A response with an ETag that answers a matching If-None-Match with 304 Not Modified."""
    etag = etag or manifest.etag_for(body)
    headers = {"Cache-Control": cache_control, "ETag": etag}
    if etag in (t.strip() for t in request.headers.get("if-none-match", "").split(",")):
        return Response(b"", status_code=304, headers=headers, media_type=media_type)
    return Response(body, media_type=media_type, headers=headers)


def _is_local_path(target: str) -> bool:
    parts = urlsplit(target)
    return target.startswith("/") and not target.startswith("//") and not parts.scheme and not parts.netloc


def _port(request: Request[Any, Any, Any]) -> str:
    host = request.headers.get("host", "")
    return host.rsplit(":", 1)[1] if ":" in host and not host.endswith("]") else ""
