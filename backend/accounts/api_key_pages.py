"""The admin page for API keys (/staff/admin/api-keys): make a key (shown once), see the keys, revoke one."""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Controller, Request, get, post
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts.api_keys import MAX_NAME, SCOPES, ApiKeyService
from backend.accounts.services import StaffIdentity
from backend.core.i18n import gettext as _
from backend.core.tenancy import TenantContext
from backend.core.text import clean_line

NO_STORE = {"Cache-Control": "no-store"}


def scope_label(scope: str) -> str:
    return {"read": _("Read requests"), "write": _("Create requests")}.get(scope, scope)


class ApiKeyAdminController(Controller):
    """Mounted in the admin router (backend/tenants/admin): admins of this municipality only."""

    path = "/api-keys"

    async def _page(
        self,
        staff: StaffIdentity,
        session: AsyncSession,
        tenant: TenantContext,
        values: dict[str, Any] | None = None,
        errors: dict[str, str] | None = None,
        new_secret: str = "",
        status: int = 200,
    ) -> Template:
        return Template(
            "staff/admin/api_keys.html",
            context={
                "staff": staff,
                "keys": await ApiKeyService(session, tenant).all(),
                "scopes": [(s, scope_label(s)) for s in SCOPES],
                "scope_label": scope_label,
                "values": values or {"name": "", "scopes": ["read"]},
                "errors": errors or {},
                "new_secret": new_secret,
                "max_name": MAX_NAME,
            },
            status_code=status,
            headers=NO_STORE,
        )

    @get("/", name="admin_api_keys")
    async def index(
        self,
        staff: NamedDependency[StaffIdentity],
        session: NamedDependency[AsyncSession],
        tenant: NamedDependency[TenantContext],
    ) -> Template:
        return await self._page(staff, session, tenant)

    @post("/", status_code=200)
    async def create(
        self,
        request: Request[Any, Any, State],
        staff: NamedDependency[StaffIdentity],
        session: NamedDependency[AsyncSession],
        tenant: NamedDependency[TenantContext],
    ) -> Template:
        form = await request.form()
        name = clean_line(form.get("name") if isinstance(form.get("name"), str) else "")
        scopes = [s for s in form.getall("scopes", []) if isinstance(s, str) and s in SCOPES]
        values = {"name": name, "scopes": scopes}
        errors: dict[str, str] = {}
        if not name:
            errors["name"] = _("Please give the key a name, e.g. the system that uses it.")
        elif len(name) > MAX_NAME:
            errors["name"] = _("Please use at most %(n)s characters (you entered %(m)s).", n=MAX_NAME, m=len(name))
        if not scopes:
            errors["scopes"] = _("Please choose what the key may do.")
        if errors:
            return await self._page(staff, session, tenant, values, errors, status=422)
        made = await ApiKeyService(session, tenant).create(name, scopes, created_by=staff.display_name)
        # The page itself shows the key, once: it is not stored, so no later page can show it again.
        return await self._page(staff, session, tenant, new_secret=made.secret)

    @post("/{key_id:uuid}/revoke", status_code=200)
    async def revoke(
        self,
        key_id: FromPath[uuid.UUID],
        session: NamedDependency[AsyncSession],
        tenant: NamedDependency[TenantContext],
    ) -> Redirect:
        await ApiKeyService(session, tenant).revoke(key_id)
        return Redirect(path="/staff/admin/api-keys?revoked=1", status_code=303)
