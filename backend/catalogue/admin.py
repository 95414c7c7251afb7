"""The form builder's pages under /staff/admin/services: services, their texts, the fields of their form, publishing."""

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
from backend.catalogue.builder import (
    CHOICE_TYPES,
    LANGS,
    LIMIT_TYPES,
    TEXT_TYPES,
    FormBuilder,
    Outcome,
    type_label,
)
from backend.catalogue.forms import FormResult
from backend.catalogue.schemas import FIELD_TYPES
from backend.core.errors import NotFound
from backend.core.tenancy import TenantContext

NO_STORE = {"Cache-Control": "no-store"}
BASE = "/staff/admin/services"


def _page(name: str, status: int = 200, **context: Any) -> Template:
    return Template(f"staff/admin/{name}", context=context, status_code=status, headers=NO_STORE)


class ServiceAdminController(Controller):
    path = "/services"

    @get("/")
    async def index(
        self,
        staff: NamedDependency[StaffIdentity],
        session: NamedDependency[AsyncSession],
        tenant: NamedDependency[TenantContext],
    ) -> Template:
        services = await FormBuilder(session, tenant).services()
        return _page("services.html", staff=staff, services=services)

    @get("/new")
    async def new(self, staff: NamedDependency[StaffIdentity]) -> Template:
        return _settings_page(staff, None, FormBuilder.settings_values(None), {})

    @post("/new", status_code=200)
    async def create(
        self,
        request: Request[Any, Any, State],
        staff: NamedDependency[StaffIdentity],
        session: NamedDependency[AsyncSession],
        tenant: NamedDependency[TenantContext],
    ) -> Template | Redirect:
        outcome, service = await FormBuilder(session, tenant).save_settings(None, await request.form())
        if service is None:
            return _settings_page(staff, None, outcome.values, outcome.errors, status=422)
        return Redirect(path=f"{BASE}/{service.id}/form", status_code=303)

    @get("/{service_id:uuid}")
    async def settings(
        self,
        service_id: FromPath[uuid.UUID],
        staff: NamedDependency[StaffIdentity],
        session: NamedDependency[AsyncSession],
        tenant: NamedDependency[TenantContext],
    ) -> Template:
        service = await FormBuilder(session, tenant).service(service_id)
        return _settings_page(staff, service, FormBuilder.settings_values(service), {})

    @post("/{service_id:uuid}", status_code=200)
    async def save_settings(
        self,
        service_id: FromPath[uuid.UUID],
        request: Request[Any, Any, State],
        staff: NamedDependency[StaffIdentity],
        session: NamedDependency[AsyncSession],
        tenant: NamedDependency[TenantContext],
    ) -> Template | Redirect:
        builder = FormBuilder(session, tenant)
        service = await builder.service(service_id)
        outcome, saved = await builder.save_settings(service, await request.form())
        if saved is None:
            return _settings_page(staff, service, outcome.values, outcome.errors, status=422)
        return Redirect(path=f"{BASE}/{service.id}?saved=1", status_code=303)

    @get("/{service_id:uuid}/form")
    async def editor(
        self,
        service_id: FromPath[uuid.UUID],
        staff: NamedDependency[StaffIdentity],
        session: NamedDependency[AsyncSession],
        tenant: NamedDependency[TenantContext],
    ) -> Template:
        builder = FormBuilder(session, tenant)
        return await _editor_page(builder, staff, await builder.service(service_id))

    @post("/{service_id:uuid}/form/fields", status_code=200)
    async def add_field(
        self,
        service_id: FromPath[uuid.UUID],
        request: Request[Any, Any, State],
        staff: NamedDependency[StaffIdentity],
        session: NamedDependency[AsyncSession],
        tenant: NamedDependency[TenantContext],
    ) -> Template | Redirect:
        builder = FormBuilder(session, tenant)
        service = await builder.service(service_id)
        outcome, name = await builder.add_field(service, await request.form())
        if name is None:
            return await _editor_page(builder, staff, service, adding=outcome, status=422)
        return Redirect(path=f"{BASE}/{service.id}/form/fields/{name}", status_code=303)

    @get("/{service_id:uuid}/form/fields/{field_name:str}")
    async def field(
        self,
        service_id: FromPath[uuid.UUID],
        field_name: FromPath[str],
        staff: NamedDependency[StaffIdentity],
        session: NamedDependency[AsyncSession],
        tenant: NamedDependency[TenantContext],
    ) -> Template:
        builder = FormBuilder(session, tenant)
        service = await builder.service(service_id)
        fields = await builder.draft(service)
        current = _field(fields, field_name)
        return _field_page(builder, staff, service, fields, current, FormBuilder.field_values(current), {})

    @post("/{service_id:uuid}/form/fields/{field_name:str}", status_code=200)
    async def save_field(
        self,
        service_id: FromPath[uuid.UUID],
        field_name: FromPath[str],
        request: Request[Any, Any, State],
        staff: NamedDependency[StaffIdentity],
        session: NamedDependency[AsyncSession],
        tenant: NamedDependency[TenantContext],
    ) -> Template | Redirect:
        builder = FormBuilder(session, tenant)
        service = await builder.service(service_id)
        fields = await builder.draft(service)
        current = _field(fields, field_name)
        outcome = await builder.save_field(service, field_name, await request.form())
        if not outcome.ok:
            values = {**FormBuilder.field_values(current), **outcome.values}
            return _field_page(builder, staff, service, fields, current, values, outcome.errors, status=422)
        return Redirect(path=f"{BASE}/{service.id}/form#field-{field_name}", status_code=303)

    @post("/{service_id:uuid}/form/fields/{field_name:str}/move")
    async def move_field(
        self,
        service_id: FromPath[uuid.UUID],
        field_name: FromPath[str],
        request: Request[Any, Any, State],
        session: NamedDependency[AsyncSession],
        tenant: NamedDependency[TenantContext],
    ) -> Redirect:
        builder = FormBuilder(session, tenant)
        service = await builder.service(service_id)
        direction = (await request.form()).get("direction")
        await builder.move_field(service, field_name, "up" if direction == "up" else "down")
        return Redirect(path=f"{BASE}/{service.id}/form?moved={field_name}#field-{field_name}", status_code=303)

    @post("/{service_id:uuid}/form/fields/{field_name:str}/remove")
    async def remove_field(
        self,
        service_id: FromPath[uuid.UUID],
        field_name: FromPath[str],
        session: NamedDependency[AsyncSession],
        tenant: NamedDependency[TenantContext],
    ) -> Redirect:
        builder = FormBuilder(session, tenant)
        service = await builder.service(service_id)
        await builder.remove_field(service, field_name)
        return Redirect(path=f"{BASE}/{service.id}/form?removed=1", status_code=303)

    @post("/{service_id:uuid}/form/discard")
    async def discard(
        self,
        service_id: FromPath[uuid.UUID],
        session: NamedDependency[AsyncSession],
        tenant: NamedDependency[TenantContext],
    ) -> Redirect:
        builder = FormBuilder(session, tenant)
        await builder.discard_draft(await builder.service(service_id))
        return Redirect(path=f"{BASE}/{service_id}/form", status_code=303)

    @get("/{service_id:uuid}/preview")
    async def preview(
        self,
        service_id: FromPath[uuid.UUID],
        session: NamedDependency[AsyncSession],
        tenant: NamedDependency[TenantContext],
    ) -> Template:
        """The draft rendered with the citizen's own form template, as citizens will see it; it sends nothing."""
        builder = FormBuilder(session, tenant)
        service = await builder.service(service_id)
        definition = builder.preview_definition(await builder.draft(service))
        result = FormResult()
        return Template(
            "form.html",
            context={
                "service": service,
                "definition": definition,
                "form_version_id": "",
                "key": "",
                "values": result.values,
                "answers": {},
                "errors": {},
                "files": {},
                "files_by_id": {},
                "preview": True,
                "editor_url": f"{BASE}/{service.id}/form",
            },
            headers=NO_STORE,
        )

    @post("/{service_id:uuid}/publish", status_code=200)
    async def publish(
        self,
        service_id: FromPath[uuid.UUID],
        staff: NamedDependency[StaffIdentity],
        session: NamedDependency[AsyncSession],
        tenant: NamedDependency[TenantContext],
    ) -> Template | Redirect:
        builder = FormBuilder(session, tenant)
        service = await builder.service(service_id)
        problems = await builder.publish(service)
        if problems:
            return await _editor_page(builder, staff, service, problems=problems, status=422)
        return Redirect(path=f"{BASE}/{service.id}/form?published=1", status_code=303)

    @post("/{service_id:uuid}/unpublish")
    async def unpublish(
        self,
        service_id: FromPath[uuid.UUID],
        session: NamedDependency[AsyncSession],
        tenant: NamedDependency[TenantContext],
    ) -> Redirect:
        builder = FormBuilder(session, tenant)
        await builder.unpublish(await builder.service(service_id))
        return Redirect(path=f"{BASE}/{service_id}/form?unpublished=1", status_code=303)


def _field(fields: list[dict[str, Any]], name: str) -> dict[str, Any]:
    for f in fields:
        if f.get("name") == name:
            return f
    raise NotFound()


def _settings_page(
    staff: StaffIdentity, service: Any, values: dict[str, Any], errors: dict[str, str], *, status: int = 200
) -> Template:
    presets = workflow.presets()
    return _page(
        "service_settings.html",
        status,
        staff=staff,
        service=service,
        values=values,
        errors=errors,
        langs=LANGS,
        # The workflow section: the presets, the statuses a clerk sets, and what an empty wording falls back to.
        presets=[(name, presets.title(name), presets.description(name)) for name in presets.staff],
        staff_targets=workflow.STAFF_TARGETS,
        statuses=workflow.STATUSES,
        shared_labels={lang: {s: workflow.shared_label(s, lang) for s in workflow.STATUSES} for lang in LANGS},
        max_label=workflow.MAX_LABEL,
    )


async def _editor_page(
    builder: FormBuilder,
    staff: StaffIdentity,
    service: Any,
    *,
    adding: Outcome | None = None,
    problems: dict[str, list[str]] | None = None,
    status: int = 200,
) -> Template:
    fields = await builder.draft(service)
    return _page(
        "service_form.html",
        status,
        staff=staff,
        service=service,
        fields=fields,
        draft=service.draft_form is not None,
        versions=await builder.versions(service),
        types=[(kind, type_label(kind)) for kind in FIELD_TYPES],
        type_label=type_label,
        adding=adding or Outcome(values={"type": "", **{f"label_{lang}": "" for lang in LANGS}}),
        problems=problems if problems is not None else {},
        pending=builder.problems(fields) if service.draft_form is not None else {},
        langs=LANGS,
    )


def _field_page(
    builder: FormBuilder,
    staff: StaffIdentity,
    service: Any,
    fields: list[dict[str, Any]],
    current: dict[str, Any],
    values: dict[str, Any],
    errors: dict[str, str],
    *,
    status: int = 200,
) -> Template:
    return _page(
        "service_field.html",
        status,
        staff=staff,
        service=service,
        f=current,
        kind_label=type_label(current["type"]),
        values=values,
        errors=errors,
        conditions=builder.condition_choices(fields, current["name"]),
        langs=LANGS,
        text_types=TEXT_TYPES,
        limit_types=LIMIT_TYPES,
        choice_types=CHOICE_TYPES,
    )
