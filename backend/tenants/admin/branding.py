"""The branding page: the municipality's name, short name, logo and colours, refused when they would not be readable.

Saving makes the app anew: the manifest and the icons follow from the saved data (their URLs carry a version
of everything drawn on them), and the icons are drawn at once so the first citizen does not wait for them.
"""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Controller, Request, get, post
from litestar.datastructures import State, UploadFile
from litestar.di import NamedDependency
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts.services import StaffIdentity
from backend.core.i18n import gettext as _
from backend.core.limits import UPLOAD_BODY_LIMIT
from backend.core.offload import run_cpu
from backend.core.storage import Storage
from backend.core.tenancy import TenantContext
from backend.core.text import clean_line
from backend.tenants.branding import ACCENT_UI_RATIO, PRIMARY_TEXT_RATIO, colour_problems, parse_colour
from backend.tenants.changes import announce
from backend.tenants.controllers import provide_icons
from backend.tenants.logo import LogoRejected, clean_logo
from backend.tenants.manifest import ICONS, SHORT_NAME_LIMIT, IconCache, short_name
from backend.tenants.services import set_logo, update_branding

NO_STORE = {"Cache-Control": "no-store"}
PAGE = "/staff/admin/branding"


def _form(
    staff: StaffIdentity, tenant: TenantContext, values: dict[str, str], errors: dict[str, str], status: int = 200
) -> Template:
    return Template(
        "staff/admin/branding.html",
        context={
            "staff": staff,
            "values": values,
            "errors": errors,
            "saved_tenant": tenant,
            "default_short_name": short_name(values.get("name") or tenant.name, tenant.slug),
            "short_name_limit": SHORT_NAME_LIMIT,
        },
        status_code=status,
        headers=NO_STORE,
    )


async def _after_save(request: Request[Any, Any, State], tenant: TenantContext, logo: bytes | None) -> None:
    """Every instance forgets the old branding (tenants/changes.py), and the new icons are drawn."""
    announce(request.app, tenant.id)
    icons: IconCache = await provide_icons(request.app.state)
    for variant in ICONS:
        await run_cpu(icons.get, tenant, variant, logo)


class BrandingController(Controller):
    path = "/branding"

    @get("/")
    async def show(self, staff: NamedDependency[StaffIdentity], tenant: NamedDependency[TenantContext]) -> Template:
        values = {
            "name": tenant.name,
            "short_name": tenant.short_name,
            "primary_color": tenant.primary_color,
            "accent_color": tenant.accent_color,
        }
        return _form(staff, tenant, values, {})

    @post("/", status_code=200, opt=UPLOAD_BODY_LIMIT)
    async def save(
        self,
        request: Request[Any, Any, State],
        staff: NamedDependency[StaffIdentity],
        tenant: NamedDependency[TenantContext],
        session: NamedDependency[AsyncSession],
    ) -> Template | Redirect:
        data = await request.form()
        # Two inputs per colour: the picker, and a text field that works without JavaScript. Whichever the
        # person changed from the saved colour wins; if both changed, the typed one.
        values = {
            "name": clean_line(str(data.get("name") or ""))[:200],
            "short_name": clean_line(str(data.get("short_name") or ""))[:100],
        }
        errors: dict[str, str] = {}
        if not values["name"]:
            errors["name"] = _("Please enter the name of the municipality.")
        if len(values["short_name"]) > SHORT_NAME_LIMIT:
            errors["short_name"] = _(
                "The short name may have at most %(n)s characters, so that it fits under the app icon.",
                n=SHORT_NAME_LIMIT,
            )
        colours: dict[str, str] = {}
        saved = {"primary_color": tenant.primary_color.lower(), "accent_color": tenant.accent_color.lower()}
        for field in ("primary_color", "accent_color"):
            text = str(data.get(f"{field}_text") or "")[:20]
            picked = str(data.get(field) or "")[:20]
            raw = text if text.strip() and parse_colour(text) != saved[field] else picked or text
            values[field] = raw
            colour = parse_colour(raw)
            if colour is None:
                errors[field] = _("Please enter a colour as #rrggbb, e.g. #1d4f91.")
            else:
                colours[field] = values[field] = colour
        if len(colours) == 2:
            for field, (rule, ratio) in colour_problems(colours["primary_color"], colours["accent_color"]).items():
                if rule == "text":
                    errors[field] = _(
                        "White text on this colour reaches a contrast of only %(ratio)s:1; at least %(needed)s:1 "
                        "is needed so that everyone can read it. Please choose a darker colour.",
                        ratio=f"{ratio:.1f}",
                        needed=PRIMARY_TEXT_RATIO,
                    )
                else:
                    errors[field] = _(
                        "This colour reaches a contrast of only %(ratio)s:1 against the white page; at least "
                        "%(needed)s:1 is needed for buttons and focus marks. Please choose a darker colour.",
                        ratio=f"{ratio:.1f}",
                        needed=ACCENT_UI_RATIO,
                    )
        logo = await _read_logo(request, data.get("logo"), errors)
        if errors:
            if logo is not None or "logo" in errors:
                errors.setdefault("logo", _("Please choose the logo again: files are not kept when a form is refused."))
            return _form(staff, tenant, values, errors, status=422)
        await update_branding(
            session,
            tenant.id,
            name=values["name"],
            short_name=values["short_name"],
            primary=colours["primary_color"],
            accent=colours["accent_color"],
        )
        storage: Storage = request.app.state.storage
        key, old_key = tenant.logo_key, None
        if logo is not None:
            key = await storage.put(tenant.id, logo, ".png")
            old_key = await set_logo(session, tenant.id, key)
        # Committed before the host cache is emptied, so no request on this instance reloads the old values.
        try:
            await session.commit()
        except Exception:
            if logo is not None:
                await storage.delete(key)
            raise
        if old_key:
            await storage.delete(old_key)
        new = msgspec.structs.replace(
            tenant,
            name=values["name"],
            short_name=values["short_name"],
            primary_color=colours["primary_color"],
            accent_color=colours["accent_color"],
            logo_key=key,
        )
        if logo is None and key:
            logo = await _stored_logo(storage, key)
        await _after_save(request, new, logo)
        return Redirect(path=f"{PAGE}?saved=1", status_code=303)

    @post("/remove-logo", status_code=200)
    async def remove_logo(
        self,
        request: Request[Any, Any, State],
        tenant: NamedDependency[TenantContext],
        session: NamedDependency[AsyncSession],
    ) -> Redirect:
        old_key = await set_logo(session, tenant.id, None)
        await session.commit()
        if old_key:
            await request.app.state.storage.delete(old_key)
        await _after_save(request, msgspec.structs.replace(tenant, logo_key=""), None)
        return Redirect(path=f"{PAGE}?saved=1", status_code=303)


async def _read_logo(request: Request[Any, Any, State], upload: Any, errors: dict[str, str]) -> bytes | None:
    """The chosen logo, cleaned; None when none was chosen or it was refused (the reason in ``errors``)."""
    if not isinstance(upload, UploadFile) or not upload.filename:
        return None
    max_bytes: int = request.app.state.settings.max_upload_bytes
    raw = await upload.read(max_bytes + 1)  # one byte more: a file that is too large is never held whole
    if len(raw) > max_bytes:
        errors["logo"] = _("The file is larger than %(mb)s MB.", mb=max_bytes // (1024 * 1024))
        return None
    try:
        return await run_cpu(clean_logo, raw)
    except LogoRejected as exc:
        errors["logo"] = str(exc)
        return None


async def _stored_logo(storage: Storage, key: str) -> bytes | None:
    try:
        return await storage.get(key)
    except (OSError, ValueError):
        return None
