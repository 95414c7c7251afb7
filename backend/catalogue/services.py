"""Reading and writing a municipality's service catalogue and its form versions."""

from __future__ import annotations

import uuid
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import msgspec
from sqlalchemy import bindparam, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import defer

from backend.accounts.departments import DepartmentService
from backend.cases import workflow
from backend.catalogue import search, updates
from backend.catalogue.models import FormVersion, Service
from backend.catalogue.schemas import FormDefinition, FormDefinitionError, definition_to_builtins, parse_definition
from backend.catalogue.templates import ServiceTemplate, customized_form
from backend.core.db import reusable
from backend.core.errors import NotFound
from backend.core.i18n import translate_text
from backend.core.tenancy import TenantContext


@dataclass
class Category:
    name: str
    services: list[Service]


@dataclass
class Offer:
    """A standard template as this municipality sees it on the catalogue page."""

    template: ServiceTemplate
    service: Service | None  # the service adopted from it (or one of its own holding the same address)
    state: str  # "adopt", "adopted", "update" (a newer template version is offered) or "taken"


@dataclass
class Update:
    """What taking over a template's newer version would change in a municipality's service."""

    service: Service
    template: ServiceTemplate
    changes: list[updates.Change]  # the template's changes since adoption (or: template vs. service)
    replaced: list[updates.Change]  # local overrides those changes would replace
    available: bool  # the template's version differs from the adopted one
    dismissed: bool  # the admin chose to keep their content for this version
    since_adoption: bool  # False: adopted before snapshots were kept, compared with the service's content


class AdoptionError(ValueError):
    """A template cannot be adopted here (its address is taken) or an update cannot be taken over."""


# Parsed form definitions by (municipality, form version). A form version is immutable (a change adds a
# version), so an entry never goes stale; the bound only limits memory. Values are shared between requests
# and must be treated as read-only.
_DEFINITION_CACHE_SIZE = 1024
_definitions: OrderedDict[tuple[uuid.UUID, uuid.UUID], FormDefinition] = OrderedDict()


def _remember(tenant_id: uuid.UUID, version_id: uuid.UUID, definition: FormDefinition) -> None:
    _definitions[(tenant_id, version_id)] = definition
    if len(_definitions) > _DEFINITION_CACHE_SIZE:
        _definitions.popitem(last=False)


def _cached(tenant_id: uuid.UUID, version_id: uuid.UUID) -> FormDefinition | None:
    key = (tenant_id, version_id)
    definition = _definitions.get(key)
    if definition is not None:
        _definitions.move_to_end(key)
    return definition


# What the citizen pages never show and a municipality's admin edits: the catalogue template as adopted and the
# form builder's draft (several KB of JSON each). They stay unloaded there; touching them raises at once.
_ADMIN_ONLY = (defer(Service.template_snapshot, raiseload=True), defer(Service.draft_form, raiseload=True))

ACTIVE_SERVICES = reusable(
    select(Service).where(Service.active.is_(True)).order_by(Service.position, Service.slug).options(*_ADMIN_ONLY)
)

# An active service with its current form version and the one a draft started on (a row for each).
SERVICE_WITH_FORMS = reusable(
    select(Service, FormVersion)
    .options(*_ADMIN_ONLY)
    .outerjoin(
        FormVersion,
        (FormVersion.service_id == Service.id)
        & or_(FormVersion.id == Service.current_form_id, FormVersion.id == bindparam("version_id")),
    )
    .where(Service.slug == bindparam("slug"), Service.active.is_(True))
)


class CatalogueService:
    def __init__(self, session: AsyncSession, tenant: TenantContext) -> None:
        self.session = session
        self.tenant = tenant

    async def list_services(self) -> list[Service]:
        return list(await self.session.scalars(ACTIVE_SERVICES))

    async def search(self, query: str, services: list[Service] | None = None) -> list[Category]:
        """Active services grouped by category (best match first), found by names, texts and keywords; among
        ``services`` when given (the list kept for the home page), else among those loaded now."""
        services = search.rank(await self.list_services() if services is None else services, query)
        groups: dict[str, list[Service]] = {}
        for s in services:
            groups.setdefault(translate_text(s.category), []).append(s)
        return [Category(name, items) for name, items in groups.items()]

    async def by_slug(self, slug: str) -> Service:
        service = await self.session.scalar(select(Service).where(Service.slug == slug, Service.active.is_(True)))
        if service is None:
            raise NotFound()
        return service  # type: ignore[no-any-return]

    async def current_form(self, service: Service) -> tuple[FormVersion, FormDefinition]:
        form = await self.session.scalar(select(FormVersion).where(FormVersion.id == service.current_form_id))
        if form is None:
            raise NotFound()
        return form, self.parsed(form)

    async def form_for(
        self, slug: str, version_id: uuid.UUID | None = None
    ) -> tuple[Service, FormVersion, FormDefinition]:
        """An active service with the form version a draft started on (``version_id``), else its current one.

        One query: the service and up to two of its versions (the asked-for and the current one).
        """
        rows = (await self.session.execute(SERVICE_WITH_FORMS, {"slug": slug, "version_id": version_id})).all()
        if not rows:
            raise NotFound()
        service = rows[0][0]
        versions = {v.id: v for _s, v in rows if v is not None}
        form = (versions.get(version_id) if version_id else None) or (
            versions.get(service.current_form_id) if service.current_form_id else None
        )
        if form is None:
            raise NotFound()
        return service, form, self.parsed(form)

    async def definition_of(self, version_id: uuid.UUID) -> FormDefinition:
        """The parsed definition of one of this municipality's form versions (cached: versions never change)."""
        definition = _cached(self.tenant.id, version_id)
        if definition is not None:
            return definition
        form = await self.session.scalar(select(FormVersion).where(FormVersion.id == version_id))
        if form is None:
            raise NotFound()
        return self.parsed(form)

    def parsed(self, form: FormVersion) -> FormDefinition:
        definition = _cached(form.tenant_id, form.id)
        if definition is None:
            definition = parse_definition(form.definition)
            _remember(form.tenant_id, form.id, definition)
        return definition

    async def all_services(self) -> list[Service]:
        return list(await self.session.scalars(select(Service).order_by(Service.position, Service.slug)))

    async def create_service(self, *, slug: str, form: dict[str, Any] | FormDefinition, **fields: Any) -> Service:
        definition = form if isinstance(form, FormDefinition) else parse_definition(form)
        service = Service(tenant_id=self.tenant.id, slug=slug, **fields)
        self.session.add(service)
        await self.session.flush()
        await self.publish_form(service, definition)
        return service

    async def publish_form(self, service: Service, definition: FormDefinition) -> FormVersion:
        """Add a new form version and make it the one new submissions use; old cases keep theirs."""
        latest = await self.session.scalar(
            select(func.max(FormVersion.version)).where(FormVersion.service_id == service.id)
        )
        form = FormVersion(
            tenant_id=self.tenant.id,
            service_id=service.id,
            version=(latest or 0) + 1,
            definition=definition_to_builtins(definition),
        )
        self.session.add(form)
        await self.session.flush()
        service.current_form_id = form.id
        await self.session.flush()
        return form

    async def adopt(self, template: ServiceTemplate, *, position: int | None = None, **local: Any) -> Service:
        """Offer a standard service: a Service and its first form version made from the template.

        ``local`` holds what this municipality words differently (its fees, processing time, a ``note`` added
        to the description, ``fields`` overriding settings of single form fields). The template's slug and
        content version are kept, so that a newer template can later be offered as an update.
        """
        texts = template.service_texts()
        note = local.pop("note", None)
        definition = customized_form(template, local.pop("fields", {}))
        texts.update(local)
        if note:
            texts["description"] = {lang: f"{text} {note[lang]}" for lang, text in texts["description"].items()}
        if position is None:
            position = (await self.session.scalar(select(func.max(Service.position))) or 0) + 10
        # The template's department, made on first use: its cases go to the people of that department.
        department = await DepartmentService(self.session, self.tenant).named(template.department)
        return await self.create_service(
            slug=template.slug,
            form=definition,
            position=position,
            department=department.name,
            department_id=department.id,
            leika_key=template.leika_key,
            template_slug=template.slug,
            template_version=template.version,
            template_snapshot=msgspec.to_builtins(template),
            processing_days=template.processing_days,
            workflow=workflow.normalized(template.workflow),
            **texts,
        )

    async def _from_template(self, slug: str) -> Service | None:
        return await self.session.scalar(  # type: ignore[no-any-return]
            select(Service)
            .where(or_(Service.template_slug == slug, Service.slug == slug))
            .order_by(Service.template_slug.is_(None))
        )

    async def offers(self, templates: list[ServiceTemplate]) -> list[Offer]:
        """Each template with its state here: adoptable, adopted, with an update offered, or its address taken."""
        slugs = [t.slug for t in templates]
        rows = await self.session.scalars(
            select(Service).where(or_(Service.template_slug.in_(slugs), Service.slug.in_(slugs)))
        )
        adopted: dict[str, Service] = {}
        taken: dict[str, Service] = {}
        for service in rows:
            if service.template_slug:
                adopted[service.template_slug] = service
            else:
                taken[service.slug] = service
        result = []
        for t in templates:
            service = adopted.get(t.slug)
            if service is not None:
                state = "update" if self.update_offered(service, t) else "adopted"
            elif t.slug in taken:
                service, state = taken[t.slug], "taken"
            else:
                state = "adopt"
            result.append(Offer(t, service, state))
        return result

    @staticmethod
    def update_offered(service: Service, template: ServiceTemplate) -> bool:
        version = template.version
        return version != service.template_version and version != service.template_dismissed_version

    async def adopt_once(self, template: ServiceTemplate) -> tuple[Service, bool]:
        """Adopt a template unless this municipality already did: (the service, whether it was made now)."""
        existing = await self._from_template(template.slug)
        if existing is not None:
            if existing.template_slug != template.slug:
                raise AdoptionError(template.slug)
            return existing, False
        return await self.adopt(template), True

    async def adopt_all(self, templates: list[ServiceTemplate]) -> tuple[list[str], list[str], list[str]]:
        """Adopt several templates: the slugs adopted now, those adopted before, those whose address is taken.

        If any address is taken, the caller should roll back, so that a choice is adopted whole or not at all.
        """
        adopted: list[str] = []
        already: list[str] = []
        taken: list[str] = []
        for template in templates:
            try:
                _service, created = await self.adopt_once(template)
            except AdoptionError:
                taken.append(template.slug)
                continue
            (adopted if created else already).append(template.slug)
        return adopted, already, taken

    async def update_of(self, template: ServiceTemplate) -> Update:
        """The update a newer template version would bring to the service adopted from it."""
        service = await self.session.scalar(select(Service).where(Service.template_slug == template.slug))
        if service is None:
            raise NotFound()
        form, _definition = await self.current_form(service)
        current = updates.service_content(service, form.definition)
        new = updates.content(msgspec.to_builtins(template))
        base = updates.content(service.template_snapshot) if service.template_snapshot else current
        template_changes = updates.changes(base, new)
        changed = {c.key for c in template_changes}
        local = updates.changes(base, current) if service.template_snapshot else []
        return Update(
            service=service,
            template=template,
            changes=template_changes,
            replaced=[c for c in local if c.key in changed],
            available=template.version != service.template_version,
            dismissed=template.version == service.template_dismissed_version,
            since_adoption=bool(service.template_snapshot),
        )

    async def accept_update(self, template: ServiceTemplate) -> FormVersion | None:
        """Take over the template's changes; a changed form becomes a new version (cases keep theirs).

        Returns the new form version, if the form changed.
        """
        update = await self.update_of(template)
        service = update.service
        form, _definition = await self.current_form(service)
        current = updates.service_content(service, form.definition)
        # Adopted before snapshots were kept: every part where the template differs from the service is taken.
        base = updates.content(service.template_snapshot) if service.template_snapshot else current
        result = updates.merged(current, base, updates.content(msgspec.to_builtins(template)))
        published = None
        if result["fields"] != current["fields"]:
            try:
                definition = parse_definition({"fields": result["fields"]})
            except FormDefinitionError as exc:
                raise AdoptionError(str(exc)) from exc
            published = await self.publish_form(service, definition)
        for part in updates.PARTS:
            setattr(service, part, result[part])
        service.template_version = template.version
        service.template_snapshot = msgspec.to_builtins(template)
        service.template_dismissed_version = None
        await self.session.flush()
        return published

    async def dismiss_update(self, template: ServiceTemplate) -> Service:
        """Keep the service as it is; this template version is not offered again."""
        update = await self.update_of(template)
        update.service.template_dismissed_version = template.version
        await self.session.flush()
        return update.service
