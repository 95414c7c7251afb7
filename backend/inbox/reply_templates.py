"""Reply templates: a municipality's standard texts with placeholders, checked when saved, filled for a case.

A placeholder is a name in braces (``{reference}``); a literal brace is written twice (``{{`` and ``}}``),
as in Python's format strings. The text is parsed by ``string.Formatter`` but filled here, name by name, so
no attribute access or format specification of Python's ever runs on an admin's text.
"""

from __future__ import annotations

import datetime
import string
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.cases import workflow
from backend.cases.models import Case
from backend.catalogue.models import Service
from backend.core import i18n
from backend.core.errors import NotFound
from backend.core.i18n import gettext as _
from backend.core.tenancy import TenantContext
from backend.core.text import clean_line, clean_text
from backend.inbox.models import ReplyTemplate
from backend.notifications.services import in_language

PLACEHOLDERS: tuple[str, ...] = ("reference", "service", "submitted_date", "due_date", "today", "municipality")
TITLE_MAX = 120
BODY_MAX = 5000  # what a message may hold (inbox/controllers.py MAX_MESSAGE)
POSITION_MAX = 9999

_FORMATTER = string.Formatter()


def _parts(text: str) -> list[tuple[str, str | None, str | None, str | None]]:
    return list(_FORMATTER.parse(text))


def placeholder_problem(text: str) -> str | None:
    """Why ``text`` cannot be a template (None when it can): a lone brace, or placeholders we do not know."""
    try:
        parts = _parts(text)
    except ValueError:
        return _("A single brace must be written twice: {{ for { and }} for }.")
    unknown: list[str] = []
    for _literal, name, spec, conversion in parts:
        if name is None:
            continue
        if name in PLACEHOLDERS and not spec and not conversion:
            continue
        written = "{" + name + (f"!{conversion}" if conversion else "") + (f":{spec}" if spec else "") + "}"
        if written not in unknown:
            unknown.append(written)
    if unknown:
        return _(
            "Unknown placeholders: %(unknown)s. Allowed are: %(allowed)s. A brace of its own is written {{ or }}.",
            unknown=", ".join(unknown),
            allowed=", ".join("{" + p + "}" for p in PLACEHOLDERS),
        )
    return None


def fill(text: str, values: Mapping[str, str]) -> str:
    """The text with its placeholders filled in (a text that does not parse is returned as it is)."""
    try:
        parts = _parts(text)
    except ValueError:
        return text
    out: list[str] = []
    for literal, name, _spec, _conversion in parts:
        out.append(literal)
        if name is not None:
            out.append(values.get(name, "{" + name + "}"))
    return "".join(out)


def placeholder_values(
    case: Case, service: Service, tenant: TenantContext, language: str, now: datetime.datetime | None = None
) -> dict[str, str]:
    """What the placeholders stand for on this case, in ``language`` (dates in its format)."""
    with in_language(language):
        names = dict(service.name or {})
        return {
            "reference": case.reference,
            "service": names.get(language) or names.get(tenant.default_language) or next(iter(names.values()), ""),
            "submitted_date": i18n.fmt_date(case.created_at),
            "due_date": i18n.fmt_date(case.due_at) if case.due_at else "",
            "today": i18n.fmt_date(now or datetime.datetime.now(datetime.UTC)),
            "municipality": tenant.name,
        }


def text_for(template: ReplyTemplate, language: str, default_language: str) -> tuple[str, str]:
    """(text, its language): the case's language, else the municipality's main language, else any there is."""
    bodies = {lang: text for lang, text in (template.body or {}).items() if text}
    for candidate in (language, default_language):
        if candidate in bodies:
            return bodies[candidate], candidate
    if bodies:
        lang, text = next(iter(bodies.items()))
        return text, lang
    return "", language


def filled_for_case(template: ReplyTemplate, case: Case, service: Service, tenant: TenantContext) -> str:
    text, language = text_for(template, case.language, tenant.default_language_or_platform)
    return fill(text, placeholder_values(case, service, tenant, language))


# --- the admin's form ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TemplateForm:
    title: str
    body: dict[str, str]
    service_id: uuid.UUID | None
    status: str | None
    position: int | None


def form_languages(tenant: TenantContext) -> list[str]:
    """The languages a template is written in: the municipality's main language first, then its others."""
    main = tenant.default_language_or_platform
    return [main] + [lang for lang in tenant.enabled_languages if lang != main]


def parse_form(
    data: Mapping[str, Any], tenant: TenantContext, service_ids: Iterable[uuid.UUID]
) -> tuple[dict[str, str], dict[str, str], TemplateForm | None]:
    """The fields as entered (to show again), the problems by field, and the template if there are none."""
    languages = form_languages(tenant)
    values = {
        "title": clean_line(str(data.get("title") or ""))[: TITLE_MAX * 2],
        "service_id": clean_line(str(data.get("service_id") or ""))[:40],
        "status": clean_line(str(data.get("status") or ""))[:40],
        "position": clean_line(str(data.get("position") or ""))[:10],
    }
    for lang in languages:
        values[f"body_{lang}"] = clean_text(str(data.get(f"body_{lang}") or ""))[: BODY_MAX * 2]
    errors: dict[str, str] = {}
    if not values["title"]:
        errors["title"] = _("Please enter a title.")
    elif len(values["title"]) > TITLE_MAX:
        errors["title"] = _("Please shorten the title to at most %(max)s characters.", max=TITLE_MAX)
    for lang in languages:
        field, text = f"body_{lang}", values[f"body_{lang}"]
        if not text:
            if lang == languages[0]:
                errors[field] = _(
                    "Please enter the text in %(language)s, the municipality's main language.",
                    language=i18n.LANGUAGE_NAMES.get(lang, lang),
                )
            continue
        if len(text) > BODY_MAX:
            errors[field] = _("Please shorten the text to at most %(max)s characters.", max=BODY_MAX)
            continue
        problem = placeholder_problem(text)
        if problem:
            errors[field] = problem
    service_id: uuid.UUID | None = None
    if values["service_id"]:
        try:
            service_id = uuid.UUID(values["service_id"])
        except ValueError:
            service_id = None
        if service_id not in set(service_ids):
            errors["service_id"] = _("Please choose a service from the list.")
    if values["status"] and values["status"] not in workflow.STATUSES:
        errors["status"] = _("Please choose a status from the list.")
    position: int | None = None
    if values["position"]:
        try:
            position = int(values["position"])
        except ValueError:
            position = -1
        if not 0 <= position <= POSITION_MAX:
            errors["position"] = _("Please enter a whole number from 0 to %(max)s.", max=POSITION_MAX)
    if errors:
        return values, errors, None
    return (
        values,
        errors,
        TemplateForm(
            title=values["title"],
            body={lang: values[f"body_{lang}"] for lang in languages if values[f"body_{lang}"]},
            service_id=service_id,
            status=values["status"] or None,
            position=position,
        ),
    )


def values_of(template: ReplyTemplate, tenant: TenantContext) -> dict[str, str]:
    values = {
        "title": template.title,
        "service_id": str(template.service_id) if template.service_id else "",
        "status": template.status or "",
        "position": str(template.position),
    }
    for lang in form_languages(tenant):
        values[f"body_{lang}"] = (template.body or {}).get(lang, "")
    return values


# --- storage ---------------------------------------------------------------------------------------------------


class ReplyTemplateService:
    def __init__(self, session: AsyncSession, tenant: TenantContext) -> None:
        self.session = session
        self.tenant = tenant

    async def all(self) -> list[ReplyTemplate]:
        return list(await self.session.scalars(select(ReplyTemplate).order_by(*_ORDER)))

    async def get(self, template_id: uuid.UUID) -> ReplyTemplate:
        template = await self.session.scalar(select(ReplyTemplate).where(ReplyTemplate.id == template_id))
        if template is None:
            raise NotFound()
        return template  # type: ignore[no-any-return]

    async def create(self, form: TemplateForm) -> ReplyTemplate:
        template = ReplyTemplate(tenant_id=self.tenant.id)
        await self._apply(template, form)
        self.session.add(template)
        await self.session.flush()
        return template

    async def update(self, template_id: uuid.UUID, form: TemplateForm) -> ReplyTemplate:
        template = await self.get(template_id)
        await self._apply(template, form)
        await self.session.flush()
        return template

    async def delete(self, template_id: uuid.UUID) -> None:
        await self.session.delete(await self.get(template_id))
        await self.session.flush()

    async def _apply(self, template: ReplyTemplate, form: TemplateForm) -> None:
        template.title, template.body = form.title, dict(form.body)
        template.service_id, template.status = form.service_id, form.status
        if form.position is not None:
            template.position = form.position
        elif template.position is None:  # a new template without a position goes to the end of the list
            last = await self.session.scalar(select(func.max(ReplyTemplate.position)))
            template.position = 0 if last is None else min(last + 1, POSITION_MAX)

    async def offered(self, service_id: uuid.UUID, statuses: Iterable[str]) -> list[ReplyTemplate]:
        """The templates for a case of ``service_id`` in one of ``statuses``: those for its service or for all
        services, and for one of these statuses or for any."""
        return list(
            await self.session.scalars(
                select(ReplyTemplate)
                .where(
                    or_(ReplyTemplate.service_id.is_(None), ReplyTemplate.service_id == service_id),
                    or_(ReplyTemplate.status.is_(None), ReplyTemplate.status.in_(list(statuses))),
                )
                .order_by(*_ORDER)
            )
        )


_ORDER = (ReplyTemplate.position, ReplyTemplate.title, ReplyTemplate.id)


@dataclass(frozen=True)
class Offer:
    """What the case page offers: the templates for the message form and for the status form."""

    for_message: list[ReplyTemplate]
    for_status: list[ReplyTemplate]

    def find(self, template_id: uuid.UUID) -> ReplyTemplate | None:
        return next((t for t in self.for_status if t.id == template_id), None)


async def offer_for_case(session: AsyncSession, tenant: TenantContext, case: Case) -> Offer:
    """The status form's templates fit the current status or any status it can move to; the message form's,
    the current status. Both: the case's service or all services."""
    targets = workflow.next_statuses(case.status, "staff")
    found = await ReplyTemplateService(session, tenant).offered(case.service_id, [case.status, *targets])
    return Offer(
        for_message=[t for t in found if t.status in (None, case.status)],
        for_status=found,
    )
