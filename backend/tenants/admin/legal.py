"""The contact page and the legal pages (imprint, privacy policy, accessibility statement) of the municipality."""

from __future__ import annotations

import re
from typing import Any

from litestar import Controller, Request, get, post
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts.services import StaffIdentity
from backend.core.errors import NotFound
from backend.core.i18n import gettext as _
from backend.core.tenancy import TenantContext
from backend.core.text import clean_line, clean_text, email_address
from backend.tenants.legal import BODY_LIMIT, KINDS, Contact, LegalService, template_text, titles

NO_STORE = {"Cache-Control": "no-store"}
_PHONE = re.compile(r"^\+?[0-9 ()/.-]{3,40}$")


def _page(template: str, status: int = 200, **context: Any) -> Template:
    return Template(f"staff/admin/{template}", context=context, status_code=status, headers=NO_STORE)


def _email(value: str, errors: dict[str, str], field: str, *, required: bool) -> str:
    if not value:
        if required:
            errors[field] = _("Please enter an e-mail address.")
        return ""
    try:
        return email_address(value)
    except ValueError:
        errors[field] = _("Please enter a valid e-mail address, e.g. rathaus@example.org.")
        return value


class ContactController(Controller):
    path = "/contact"

    @get("/")
    async def show(
        self,
        staff: NamedDependency[StaffIdentity],
        tenant: NamedDependency[TenantContext],
        session: NamedDependency[AsyncSession],
    ) -> Template:
        contact = await LegalService(session, tenant.id).contact()
        values = {"address": contact.address, "phone": contact.phone, "email": contact.email}
        values.update(
            {f"opening_hours_{lang}": (contact.opening_hours or {}).get(lang, "") for lang in tenant.languages}
        )
        return _page("contact.html", staff=staff, values=values, errors={})

    @post("/", status_code=200)
    async def save(
        self,
        request: Request[Any, Any, State],
        staff: NamedDependency[StaffIdentity],
        tenant: NamedDependency[TenantContext],
        session: NamedDependency[AsyncSession],
    ) -> Template | Redirect:
        data = await request.form()
        values = {
            "address": clean_text(str(data.get("address") or ""))[:500],
            "phone": clean_line(str(data.get("phone") or ""))[:40],
            "email": clean_line(str(data.get("email") or ""))[:254],
        }
        for lang in tenant.languages:
            values[f"opening_hours_{lang}"] = clean_text(str(data.get(f"opening_hours_{lang}") or ""))[:1000]
        errors: dict[str, str] = {}
        if not values["address"]:
            errors["address"] = _("Please enter the postal address of the town hall.")
        if values["phone"] and not _PHONE.match(values["phone"]):
            errors["phone"] = _("Please enter a phone number with digits only, e.g. +49 1234 5678-0.")
        values["email"] = _email(values["email"], errors, "email", required=True)
        if errors:
            return _page("contact.html", status=422, staff=staff, values=values, errors=errors)
        service = LegalService(session, tenant.id)
        old = await service.contact()
        await service.save_contact(
            Contact(
                address=values["address"],
                phone=values["phone"],
                email=values["email"],
                accessibility_email=old.accessibility_email,
                opening_hours={lang: values[f"opening_hours_{lang}"] for lang in tenant.languages},
            )
        )
        await session.commit()
        return Redirect(path="/staff/admin/contact?saved=1", status_code=303)


class LegalController(Controller):
    path = "/legal"

    @get("/")
    async def index(self, staff: NamedDependency[StaffIdentity]) -> Template:
        return _page("legal_index.html", staff=staff, titles=titles())

    @get(["/imprint", "/privacy", "/accessibility"])
    async def show(
        self,
        request: Request[Any, Any, State],
        staff: NamedDependency[StaffIdentity],
        tenant: NamedDependency[TenantContext],
        session: NamedDependency[AsyncSession],
    ) -> Template:
        kind = _kind(request)
        service = LegalService(session, tenant.id)
        contact, own = await service.contact(), await service.own_texts(kind)
        values = {
            f"body_{lang}": own.get(lang) or template_text(kind, lang, tenant.name, contact)
            for lang in tenant.languages
        }
        values["feedback_email"] = contact.feedback_email
        return _form(staff, tenant, kind, values, {}, own)

    @post(["/imprint", "/privacy", "/accessibility"], status_code=200)
    async def save(
        self,
        request: Request[Any, Any, State],
        staff: NamedDependency[StaffIdentity],
        tenant: NamedDependency[TenantContext],
        session: NamedDependency[AsyncSession],
    ) -> Template | Redirect:
        kind = _kind(request)
        data = await request.form()
        values: dict[str, str] = {}
        errors: dict[str, str] = {}
        for lang in tenant.languages:
            field = f"body_{lang}"
            values[field] = clean_text(str(data.get(field) or ""))
            if len(values[field]) > BODY_LIMIT:
                errors[field] = _(
                    "The text is too long: at most %(limit)s characters, please shorten it.", limit=BODY_LIMIT
                )
        service = LegalService(session, tenant.id)
        contact = await service.contact()
        if kind == "accessibility":
            values["feedback_email"] = clean_line(str(data.get("feedback_email") or ""))[:254]
            values["feedback_email"] = _email(values["feedback_email"], errors, "feedback_email", required=True)
        if errors:
            return _form(staff, tenant, kind, values, errors, await service.own_texts(kind), status=422)
        if kind == "accessibility":
            own_address = "" if values["feedback_email"] == contact.email else values["feedback_email"]
            contact = Contact(**{**contact.to_json(), "accessibility_email": own_address})
            await service.save_contact(contact)
        await service.save_texts(
            kind, tenant.name, {lang: values[f"body_{lang}"] for lang in tenant.languages}, contact
        )
        await session.commit()
        return Redirect(path=f"/staff/admin/legal/{kind}?saved=1", status_code=303)


def _kind(request: Request[Any, Any, Any]) -> str:
    kind = request.url.path.rstrip("/").rsplit("/", 1)[-1]
    if kind not in KINDS:
        raise NotFound()
    return kind


def _form(
    staff: StaffIdentity,
    tenant: TenantContext,
    kind: str,
    values: dict[str, str],
    errors: dict[str, str],
    own: dict[str, str],
    status: int = 200,
) -> Template:
    return _page(
        "legal.html",
        status=status,
        staff=staff,
        kind=kind,
        title=titles()[kind],
        values=values,
        errors=errors,
        own=own,
        languages=tenant.languages,
    )
