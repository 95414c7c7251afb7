"""The host names page: the platform's address (fixed) and the municipality's own domains, added and removed."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get, post
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts.services import StaffIdentity
from backend.core.i18n import gettext as _
from backend.core.tenancy import TenantContext
from backend.settings import Settings
from backend.tenants.changes import announce
from backend.tenants.services import HostRefused, add_host, custom_hosts, remove_host

NO_STORE = {"Cache-Control": "no-store"}
PAGE = "/staff/admin/hosts"


async def _form(
    request: Request[Any, Any, State],
    staff: StaffIdentity,
    tenant: TenantContext,
    session: AsyncSession,
    value: str = "",
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> Template:
    settings: Settings = request.app.state.settings
    return Template(
        "staff/admin/hosts.html",
        context={
            "staff": staff,
            "platform_host": f"{tenant.slug}.{settings.base_domain}",
            "hosts": await custom_hosts(session, tenant.id),
            "value": value,
            "errors": errors or {},
        },
        status_code=status,
        headers=NO_STORE,
    )


def _refusal(reason: str, host: str) -> str:
    if reason == "platform":
        return _("%(host)s is an address of the platform itself. Please enter your own domain.", host=host)
    if reason == "taken":
        return _("%(host)s is already in use by a municipality. Please enter another host name.", host=host)
    return _("Please enter a host name such as rathaus.musterstadt.de (without https:// and without a path).")


class HostsController(Controller):
    path = "/hosts"

    @get("/")
    async def show(
        self,
        request: Request[Any, Any, State],
        staff: NamedDependency[StaffIdentity],
        tenant: NamedDependency[TenantContext],
        session: NamedDependency[AsyncSession],
    ) -> Template:
        return await _form(request, staff, tenant, session)

    @post("/", status_code=200)
    async def add(
        self,
        request: Request[Any, Any, State],
        staff: NamedDependency[StaffIdentity],
        tenant: NamedDependency[TenantContext],
        session: NamedDependency[AsyncSession],
    ) -> Template | Redirect:
        data = await request.form()
        raw = str(data.get("host") or "")[:300]
        settings: Settings = request.app.state.settings
        try:
            await add_host(session, tenant.id, raw, settings.base_domain)
        except HostRefused as refused:
            shown = raw.strip()[:253]
            return await _form(request, staff, tenant, session, shown, {"host": _refusal(refused.reason, shown)}, 422)
        await session.commit()
        # The host may have been looked up (and found unknown) before: forget that at once.
        announce(request.app, tenant.id)
        return Redirect(path=f"{PAGE}?added=1", status_code=303)

    @post("/remove", status_code=200)
    async def remove(
        self,
        request: Request[Any, Any, State],
        staff: NamedDependency[StaffIdentity],
        tenant: NamedDependency[TenantContext],
        session: NamedDependency[AsyncSession],
    ) -> Template | Redirect:
        data = await request.form()
        host = str(data.get("host") or "")[:300]
        if not await remove_host(session, tenant.id, host):
            message = _("This municipality has no host name %(host)s.", host=host.strip()[:253])
            return await _form(request, staff, tenant, session, "", {"remove": message}, 422)
        await session.commit()
        announce(request.app, tenant.id)
        return Redirect(path=f"{PAGE}?removed=1", status_code=303)
