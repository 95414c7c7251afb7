"""The platform page, a municipality's home page, its theme, the language switch and the health check."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from litestar import Controller, Request, Response, get
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, FromQuery
from litestar.plugins.htmx import HTMXRequest
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from backend.catalogue.services import CatalogueService
from backend.core import i18n
from backend.core.deps import provide_session
from backend.core.tenancy import TenantContext, tenant_of
from backend.tenants.branding import theme_css
from backend.tenants.services import TenantService


class TenantController(Controller):
    dependencies = {"session": Provide(provide_session)}

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

    @get("/language/{code:str}")
    async def language(self, code: FromPath[str], next: FromQuery[str] = "/") -> Redirect:  # noqa: A002
        target = next if _is_local_path(next) else "/"
        response = Redirect(path=target, status_code=303)
        if code in i18n.SUPPORTED_LANGUAGES:
            response.set_cookie(
                i18n.LANGUAGE_COOKIE, code, max_age=365 * 24 * 3600, samesite="lax", httponly=True
            )
        return response


def _is_local_path(target: str) -> bool:
    parts = urlsplit(target)
    return target.startswith("/") and not target.startswith("//") and not parts.scheme and not parts.netloc


def _port(request: Request[Any, Any, Any]) -> str:
    host = request.headers.get("host", "")
    return host.rsplit(":", 1)[1] if ":" in host and not host.endswith("]") else ""
