"""The service page: what a service is, what it costs, what to bring, and where to start."""

from __future__ import annotations

from litestar import Controller, get
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath
from litestar.response import Template
from sqlalchemy.ext.asyncio import AsyncSession

from backend.catalogue.services import CatalogueService
from backend.core.deps import provide_session, provide_tenant
from backend.core.tenancy import TenantContext


async def provide_catalogue(
    session: NamedDependency[AsyncSession], tenant: NamedDependency[TenantContext]
) -> CatalogueService:
    return CatalogueService(session, tenant)


class CatalogueController(Controller):
    dependencies = {
        "session": Provide(provide_session),
        "tenant": Provide(provide_tenant),
        "catalogue": Provide(provide_catalogue),
    }

    @get("/s/{slug:str}")
    async def service(self, slug: FromPath[str], catalogue: NamedDependency[CatalogueService]) -> Template:
        service = await catalogue.by_slug(slug)
        return Template("service.html", context={"service": service})
