"""The admins' pages for reply templates under /staff/admin/reply-templates: list, new, edit, delete."""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Controller, Request, get, post
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts.services import StaffIdentity
from backend.cases import workflow
from backend.catalogue.models import Service
from backend.catalogue.services import CatalogueService
from backend.core.tenancy import TenantContext
from backend.inbox import reply_templates
from backend.inbox.reply_templates import ReplyTemplateService

NO_STORE = {"Cache-Control": "no-store"}
BASE = "/staff/admin/reply-templates"


async def _form(
    staff: StaffIdentity,
    tenant: TenantContext,
    services: list[Service],
    values: dict[str, str],
    errors: dict[str, str],
    template_id: uuid.UUID | None = None,
    status: int = 200,
) -> Template:
    return Template(
        "staff/admin/reply_template_form.html",
        context={
            "staff": staff,
            "values": values,
            "errors": errors,
            "template_id": template_id,
            "services": services,
            "statuses": workflow.STATUSES,
            "languages": reply_templates.form_languages(tenant),
            "placeholders": reply_templates.PLACEHOLDERS,
            "body_max": reply_templates.BODY_MAX,
        },
        status_code=status,
        headers=NO_STORE,
    )


class ReplyTemplateAdminController(Controller):
    """Mounted in the admin router (backend/tenants/admin): admins of this municipality only."""

    path = "/reply-templates"

    @get("/", name="admin_reply_templates")
    async def index(
        self,
        staff: NamedDependency[StaffIdentity],
        session: NamedDependency[AsyncSession],
        tenant: NamedDependency[TenantContext],
    ) -> Template:
        templates = await ReplyTemplateService(session, tenant).all()
        services = {s.id: s for s in await CatalogueService(session, tenant).all_services()}
        return Template(
            "staff/admin/reply_templates.html",
            context={"staff": staff, "templates": templates, "services": services},
            headers=NO_STORE,
        )

    @get("/new")
    async def new(
        self,
        staff: NamedDependency[StaffIdentity],
        session: NamedDependency[AsyncSession],
        tenant: NamedDependency[TenantContext],
    ) -> Template:
        services = await CatalogueService(session, tenant).all_services()
        return await _form(staff, tenant, services, {}, {})

    @post("/", status_code=200)
    async def create(
        self,
        request: Request[Any, Any, State],
        staff: NamedDependency[StaffIdentity],
        session: NamedDependency[AsyncSession],
        tenant: NamedDependency[TenantContext],
    ) -> Template | Redirect:
        services = await CatalogueService(session, tenant).all_services()
        values, errors, form = reply_templates.parse_form(await request.form(), tenant, [s.id for s in services])
        if form is None:
            return await _form(staff, tenant, services, values, errors, status=422)
        await ReplyTemplateService(session, tenant).create(form)
        return Redirect(path=f"{BASE}?saved=1", status_code=303)

    @get("/{template_id:uuid}")
    async def edit(
        self,
        template_id: FromPath[uuid.UUID],
        staff: NamedDependency[StaffIdentity],
        session: NamedDependency[AsyncSession],
        tenant: NamedDependency[TenantContext],
    ) -> Template:
        template = await ReplyTemplateService(session, tenant).get(template_id)
        services = await CatalogueService(session, tenant).all_services()
        return await _form(staff, tenant, services, reply_templates.values_of(template, tenant), {}, template.id)

    @post("/{template_id:uuid}", status_code=200)
    async def save(
        self,
        request: Request[Any, Any, State],
        template_id: FromPath[uuid.UUID],
        staff: NamedDependency[StaffIdentity],
        session: NamedDependency[AsyncSession],
        tenant: NamedDependency[TenantContext],
    ) -> Template | Redirect:
        templates = ReplyTemplateService(session, tenant)
        template = await templates.get(template_id)  # 404 before any validation: another town's id is never a form
        services = await CatalogueService(session, tenant).all_services()
        values, errors, form = reply_templates.parse_form(await request.form(), tenant, [s.id for s in services])
        if form is None:
            return await _form(staff, tenant, services, values, errors, template.id, status=422)
        await templates.update(template_id, form)
        return Redirect(path=f"{BASE}?saved=1", status_code=303)

    @get("/{template_id:uuid}/delete")
    async def confirm_delete(
        self,
        template_id: FromPath[uuid.UUID],
        staff: NamedDependency[StaffIdentity],
        session: NamedDependency[AsyncSession],
        tenant: NamedDependency[TenantContext],
    ) -> Template:
        """Deleting takes a second, deliberate step: the edit page links here, and only this page's button
        (which sends confirm=yes) deletes."""
        template = await ReplyTemplateService(session, tenant).get(template_id)
        return Template(
            "staff/admin/reply_template_delete.html", context={"staff": staff, "template": template}, headers=NO_STORE
        )

    @post("/{template_id:uuid}/delete", status_code=200)
    async def remove(
        self,
        request: Request[Any, Any, State],
        template_id: FromPath[uuid.UUID],
        session: NamedDependency[AsyncSession],
        tenant: NamedDependency[TenantContext],
    ) -> Redirect:
        templates = ReplyTemplateService(session, tenant)
        await templates.get(template_id)
        if (await request.form()).get("confirm") != "yes":
            return Redirect(path=f"{BASE}/{template_id}/delete", status_code=303)
        await templates.delete(template_id)
        return Redirect(path=f"{BASE}?deleted=1", status_code=303)
