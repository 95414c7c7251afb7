"""The languages page: which of the platform's languages citizens may choose, and the one they get by default."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get, post
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts.services import StaffIdentity
from backend.core.i18n import LANGUAGE_NAMES, SUPPORTED_LANGUAGES
from backend.core.i18n import gettext as _
from backend.core.tenancy import TenantContext
from backend.tenants.changes import announce
from backend.tenants.services import set_languages

NO_STORE = {"Cache-Control": "no-store"}
PAGE = "/staff/admin/languages"


def _form(
    staff: StaffIdentity, languages: list[str], default: str, errors: dict[str, str], status: int = 200
) -> Template:
    return Template(
        "staff/admin/languages.html",
        context={
            "staff": staff,
            "supported": [(code, LANGUAGE_NAMES.get(code, code)) for code in SUPPORTED_LANGUAGES],
            "enabled": languages,
            "default": default,
            "errors": errors,
        },
        status_code=status,
        headers=NO_STORE,
    )


class LanguagesController(Controller):
    path = "/languages"

    @get("/")
    async def show(self, staff: NamedDependency[StaffIdentity], tenant: NamedDependency[TenantContext]) -> Template:
        return _form(staff, tenant.enabled_languages, tenant.default_language_or_platform, {})

    @post("/", status_code=200)
    async def save(
        self,
        request: Request[Any, Any, State],
        staff: NamedDependency[StaffIdentity],
        tenant: NamedDependency[TenantContext],
        session: NamedDependency[AsyncSession],
    ) -> Template | Redirect:
        data = await request.form()
        chosen = {str(v) for v in data.getall("languages", []) if isinstance(v, str)}
        # In the platform's order, so the language switch always lists them alike.
        languages = [code for code in SUPPORTED_LANGUAGES if code in chosen]
        default = str(data.get("default_language") or "")[:20]
        errors: dict[str, str] = {}
        if chosen - set(SUPPORTED_LANGUAGES) or not languages:
            errors["languages"] = _("Please choose at least one of the languages offered.")
        if default not in SUPPORTED_LANGUAGES:
            errors["default_language"] = _("Please choose the default language among the languages offered.")
        elif languages and default not in languages:
            errors["default_language"] = _(
                "The default language must be one of the enabled languages. Please enable %(language)s "
                "or choose another default.",
                language=LANGUAGE_NAMES.get(default, default),
            )
        if errors:
            return _form(staff, languages, default, errors, status=422)
        await set_languages(session, tenant.id, languages, default)
        await session.commit()
        announce(request.app, tenant.id)
        return Redirect(path=f"{PAGE}?saved=1", status_code=303)
