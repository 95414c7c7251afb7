"""The platform page, a municipality's home page, its theme, the language switch and the health check;
the installable app: manifest, icons, service worker and offline page."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, get
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, FromQuery
from litestar.plugins.htmx import HTMXRequest
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from backend.catalogue.models import Service
from backend.catalogue.services import CatalogueService
from backend.core import i18n
from backend.core.db import read_only
from backend.core.deps import provide_session
from backend.core.errors import NotFound
from backend.core.offload import run_cpu
from backend.core.security import is_local_path as _is_local_path
from backend.core.storage import Storage
from backend.core.tenancy import TenantContext, TenantData, tenant_of
from backend.news.models import NewsItem
from backend.news.services import NewsService
from backend.news.services import label_map as news_labels
from backend.settings import Settings
from backend.tenants import changes, manifest
from backend.tenants.branding import theme_css
from backend.tenants.legal import LegalService, render_text, titles
from backend.tenants.services import TenantService


async def provide_icons(state: State) -> manifest.IconCache:
    """One icon cache per app, made on first use (kept on disk too, for other processes and restarts)."""
    if "icon_cache" not in state:
        settings: Settings = state.settings
        state.icon_cache = manifest.IconCache(folder=settings.data_dir / "icons")
    return state.icon_cache  # type: ignore[no-any-return]


# The home page shows the most important current announcements; /news has all of them.
HOME_NEWS = 3
# The home page's services and announcements are kept per municipality (core/tenancy.py's TenantData): a
# committed change of either empties them on every instance.
changes.watch(Service, NewsItem)


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
        await read_only(session)  # nothing to write: no BEGIN and COMMIT round trips
        if tenant is None:
            tenants = await TenantService(session).list_active()
            return Template("platform.html", context={"tenants": tenants, "port": _port(request)})
        catalogue = CatalogueService(session, tenant)
        kept: TenantData = request.app.state.tenant_data

        async def services() -> tuple[list[Service], None]:
            return await catalogue.list_services(), None

        categories = await catalogue.search(q[:100], await kept.get(tenant.id, "services", services))
        if request.htmx and request.htmx.target == "service-list":
            return Template("_services.html", context={"categories": categories, "q": q[:100]})
        news = await kept.get(tenant.id, "news", lambda: NewsService(session, tenant).current_and_until(HOME_NEWS))
        return Template(
            "home.html", context={"categories": categories, "q": q[:100], "news": news, "labels": news_labels()}
        )

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
        icon = icons.cached(tenant, name)
        if icon is None:  # drawn off the event loop, from the logo when there is one
            logo = await _logo_bytes(request, tenant)
            if tenant.logo_key and logo is None:  # the stored logo cannot be read now: draw, but keep nothing
                spec = manifest.ICONS[name]
                body = await run_cpu(
                    manifest.render_icon, tenant.name, tenant.slug, tenant.primary_color, spec.size, spec.purpose
                )
                return _cached(request, body, "image/png", "public, no-cache")
            icon = await run_cpu(icons.get, tenant, name, logo)
        return _cached(request, icon.body, "image/png", manifest.icon_cache_control(v, tenant), icon.etag)

    @get("/logo", exclude_from_csrf=True)
    async def logo(self, request: Request[Any, Any, Any], v: FromQuery[str] = "") -> Response[bytes]:
        """The municipality's logo (a PNG cleaned when it was uploaded); 404 without one."""
        tenant = tenant_of(request)
        body = await _logo_bytes(request, tenant)
        if body is None:
            raise NotFound()
        cache = "public, max-age=86400" if v and v == tenant.logo_version else "public, no-cache"
        return _cached(request, body, "image/png", cache)

    @get("/favicon.ico", exclude_from_csrf=True)
    async def favicon(self, request: Request[Any, Any, Any]) -> Response[bytes]:
        return _cached(request, manifest.platform_favicon(), "image/x-icon", "public, max-age=86400")

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

    @get("/contact")
    async def contact(self, request: Request[Any, Any, Any], session: NamedDependency[AsyncSession]) -> Template:
        tenant = tenant_of(request)
        contact = await LegalService(session, tenant.id).contact()
        hours = (contact.opening_hours or {}).get(i18n.get_language(), "")
        return Template("contact.html", context={"contact": contact, "hours": render_text(hours) if hours else ""})

    @get(["/imprint", "/privacy", "/accessibility"])
    async def legal(self, request: Request[Any, Any, Any], session: NamedDependency[AsyncSession]) -> Template:
        tenant = tenant_of(request)
        kind = request.url.path.strip("/")
        service = LegalService(session, tenant.id)
        body = await service.page(kind, i18n.get_language(), tenant.name)
        context = {"kind": kind, "title": titles()[kind], "body": render_text(body)}
        if kind == "accessibility":
            context["feedback_email"] = (await service.contact()).feedback_email
        return Template("legal.html", context=context)

    @get("/language/{code:str}")
    async def language(
        self,
        request: Request[Any, Any, Any],
        code: FromPath[str],
        next: FromQuery[str] = "/",  # noqa: A002
    ) -> Redirect:
        target = next if _is_local_path(next) else "/"
        response = Redirect(path=target, status_code=303)
        tenant: TenantContext | None = request.state.get("tenant")
        allowed = tenant.enabled_languages if tenant else i18n.SUPPORTED_LANGUAGES
        if code in allowed:
            response.set_cookie(i18n.LANGUAGE_COOKIE, code, max_age=365 * 24 * 3600, samesite="lax", httponly=True)
        return response


async def _logo_bytes(request: Request[Any, Any, Any], tenant: TenantContext) -> bytes | None:
    if not tenant.logo_key:
        return None
    storage: Storage = request.app.state.storage
    try:
        return await storage.get(tenant.logo_key)
    except (OSError, ValueError):  # gone from the storage: the icons fall back to the monogram
        return None


def _cached(
    request: Request[Any, Any, Any], body: bytes, media_type: str, cache_control: str, etag: str | None = None
) -> Response[bytes]:
    """A response with an ETag that answers a matching If-None-Match with 304 Not Modified."""
    etag = etag or manifest.etag_for(body)
    headers = {"Cache-Control": cache_control, "ETag": etag}
    if etag in (t.strip() for t in request.headers.get("if-none-match", "").split(",")):
        return Response(b"", status_code=304, headers=headers, media_type=media_type)
    return Response(body, media_type=media_type, headers=headers)


def _port(request: Request[Any, Any, Any]) -> str:
    host = request.headers.get("host", "")
    return host.rsplit(":", 1)[1] if ":" in host and not host.endswith("]") else ""
