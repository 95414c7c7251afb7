"""Reading and writing a municipality's service catalogue and its form versions."""

from __future__ import annotations

import unicodedata
import uuid
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.catalogue.models import FormVersion, Service
from backend.catalogue.schemas import FormDefinition, definition_to_builtins, parse_definition
from backend.core.db import reusable
from backend.core.errors import NotFound
from backend.core.i18n import translate_text
from backend.core.tenancy import TenantContext


@dataclass
class Category:
    name: str
    services: list[Service]


def _fold(text: str) -> str:
    """Case- and accent-insensitive form for search: "Sperrmüll" matches "sperrmull" and "SPERRMUELL"."""
    text = text.casefold().replace("ä", "ae").replace("ö", "oe").replace("ü", "ue").replace("ß", "ss")
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


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


# An active service with its current form version and the one a draft started on (a row for each).
SERVICE_WITH_FORMS = reusable(
    select(Service, FormVersion)
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
        rows = await self.session.scalars(
            select(Service).where(Service.active.is_(True)).order_by(Service.position, Service.slug)
        )
        return list(rows)

    async def search(self, query: str) -> list[Category]:
        """Active services grouped by category, filtered by a search over names, texts and keywords."""
        services = await self.list_services()
        terms = [_fold(t) for t in query.split() if t.strip()]
        if terms:
            services = [s for s in services if all(term in _haystack(s) for term in terms)]
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


def _haystack(s: Service) -> str:
    parts = [*s.name.values(), *s.summary.values(), *s.category.values(), s.keywords, s.slug]
    return _fold(" ".join(parts))
