"""The standard catalogue for admins: adopt templates in one click, and decide on updates of adopted ones."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from litestar import Controller, Request, get, post
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts.services import StaffIdentity
from backend.catalogue import search
from backend.catalogue.services import AdoptionError, CatalogueService, Offer, Update
from backend.catalogue.templates import ServiceTemplate, standard_catalogue
from backend.core.errors import NotFound
from backend.core.i18n import gettext as _
from backend.core.i18n import translate_text
from backend.core.tenancy import TenantContext

NO_STORE = {"Cache-Control": "no-store"}
PAGE = "/staff/admin/catalogue"
MAX_QUERY = 200


def _catalogue(request: Request[Any, Any, State]) -> dict[str, ServiceTemplate]:
    return standard_catalogue(request.app.state.settings.catalogue_dir)


def _template(request: Request[Any, Any, State], slug: str) -> ServiceTemplate:
    found = _catalogue(request).get(slug)
    if found is None:
        raise NotFound(_("There is no standard service with this address."))
    return found


def _slugs(raw: str, catalogue: dict[str, ServiceTemplate]) -> list[str]:
    return [s for s in raw.split(",")[:100] if s in catalogue]


async def _page(
    request: Request[Any, Any, State],
    staff: StaffIdentity,
    catalogue_service: CatalogueService,
    *,
    errors: dict[str, str] | None = None,
    chosen: list[str] | None = None,
    status: int = 200,
) -> Template:
    catalogue = _catalogue(request)
    query = str(request.query_params.get("q") or "")[:MAX_QUERY].strip()
    found = search.rank(list(catalogue.values()), query)
    offers = await catalogue_service.offers(found)
    groups: dict[str, list[Offer]] = {}
    for offer in offers:
        groups.setdefault(translate_text(offer.template.category), []).append(offer)
    params = request.query_params
    context = {
        "staff": staff,
        "query": query,
        "groups": groups,
        "total": len(catalogue),
        "adopted": [catalogue[s] for s in _slugs(str(params.get("adopted") or ""), catalogue)],
        "already": [catalogue[s] for s in _slugs(str(params.get("already") or ""), catalogue)],
        "decided": params.get("decided") if params.get("decided") in ("accepted", "dismissed") else None,
        "decided_template": next(iter(_slugs(str(params.get("service") or ""), catalogue)), None),
        "errors": errors or {},
        "chosen": set(chosen or []),
        "catalogue": catalogue,
    }
    return Template("staff/admin/catalogue.html", context=context, status_code=status, headers=NO_STORE)


def _back(**params: str) -> Redirect:
    return Redirect(path=f"{PAGE}?{urlencode(params)}", status_code=303)


def _update_page(staff: StaffIdentity, update: Update, error: str | None = None, status: int = 200) -> Template:
    return Template(
        "staff/admin/catalogue_update.html",
        context={"staff": staff, "update": update, "error": error},
        status_code=status,
        headers=NO_STORE,
    )


class CatalogueAdminController(Controller):
    path = "/catalogue"

    @get("/", name="admin_catalogue")
    async def show(
        self,
        request: Request[Any, Any, State],
        staff: NamedDependency[StaffIdentity],
        tenant: NamedDependency[TenantContext],
        session: NamedDependency[AsyncSession],
    ) -> Template:
        return await _page(request, staff, CatalogueService(session, tenant))

    @post("/adopt", status_code=200)
    async def adopt_many(
        self,
        request: Request[Any, Any, State],
        staff: NamedDependency[StaffIdentity],
        tenant: NamedDependency[TenantContext],
        session: NamedDependency[AsyncSession],
    ) -> Template | Redirect:
        data = await request.form()
        catalogue = _catalogue(request)
        chosen = [str(v) for v in data.getall("templates", [])][:200]
        service = CatalogueService(session, tenant)
        unknown = [s for s in chosen if s not in catalogue]
        if not chosen or unknown:
            message = (
                _("Please choose at least one service to offer.")
                if not chosen
                else _(
                    "These services are not in the standard catalogue: %(slugs)s",
                    slugs=", ".join(u[:80] for u in unknown[:5]),
                )
            )
            return await _page(request, staff, service, errors={"templates": message}, chosen=chosen, status=422)
        adopted, already, taken = await service.adopt_all([catalogue[s] for s in dict.fromkeys(chosen)])
        if taken:
            await session.rollback()
            names = ", ".join(translate_text(catalogue[s].name) for s in taken)
            message = _(
                "Your municipality already has its own service at the address of: %(names)s. Nothing was "
                "adopted; please leave these out.",
                names=names,
            )
            return await _page(request, staff, service, errors={"templates": message}, chosen=chosen, status=422)
        await session.commit()
        return _back(adopted=",".join(adopted), already=",".join(already))

    @post("/{template_slug:str}/adopt", status_code=200)
    async def adopt(
        self,
        request: Request[Any, Any, State],
        staff: NamedDependency[StaffIdentity],
        tenant: NamedDependency[TenantContext],
        session: NamedDependency[AsyncSession],
        template_slug: FromPath[str],
    ) -> Template | Redirect:
        template = _template(request, template_slug)
        service = CatalogueService(session, tenant)
        try:
            _made, created = await service.adopt_once(template)
        except AdoptionError:
            message = _(
                "Your municipality already has its own service at the address of “%(name)s”; it cannot be adopted.",
                name=translate_text(template.name),
            )
            return await _page(request, staff, service, errors={"templates": message}, status=422)
        await session.commit()
        return _back(**({"adopted": template.slug} if created else {"already": template.slug}))

    @get("/{template_slug:str}/update")
    async def show_update(
        self,
        request: Request[Any, Any, State],
        staff: NamedDependency[StaffIdentity],
        tenant: NamedDependency[TenantContext],
        session: NamedDependency[AsyncSession],
        template_slug: FromPath[str],
    ) -> Template:
        template = _template(request, template_slug)
        return _update_page(staff, await CatalogueService(session, tenant).update_of(template))

    @post("/{template_slug:str}/update", status_code=200)
    async def decide(
        self,
        request: Request[Any, Any, State],
        staff: NamedDependency[StaffIdentity],
        tenant: NamedDependency[TenantContext],
        session: NamedDependency[AsyncSession],
        template_slug: FromPath[str],
    ) -> Template | Redirect:
        template = _template(request, template_slug)
        service = CatalogueService(session, tenant)
        update = await service.update_of(template)
        data = await request.form()
        decision = str(data.get("decision") or "")
        if not update.available:
            return _update_page(staff, update, _("Your service is already up to date."), status=422)
        if str(data.get("version") or "") != template.version:
            # The admin decided on what they saw; a template changed since then is shown to them first.
            error = _("The standard service changed while you were looking at it. Please review the changes again.")
            return _update_page(staff, update, error, status=409)
        if decision not in ("accept", "dismiss"):
            error = _("Please choose whether to take over the update or keep your content.")
            return _update_page(staff, update, error, status=422)
        if decision == "dismiss":
            await service.dismiss_update(template)
        else:
            try:
                await service.accept_update(template)
            except AdoptionError:
                await session.rollback()
                update = await service.update_of(template)
                error = _(
                    "The update does not fit your changes to the form. Please adjust the form first, or keep "
                    "your content."
                )
                return _update_page(staff, update, error, status=422)
        await session.commit()
        return _back(decided="accepted" if decision == "accept" else "dismissed", service=template.slug)
