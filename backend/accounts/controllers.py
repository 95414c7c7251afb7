"""Staff login and logout, and the dependency that says who is logged in."""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from typing import Any

from litestar import Controller, Request, get, post
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide
from litestar.params import FromQuery
from litestar.response import Redirect, Template
from litestar.stores.base import Store
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts.services import AccountService, StaffIdentity
from backend.core.deps import provide_session, provide_tenant
from backend.core.errors import LoginRequired, TooManyRequests
from backend.core.i18n import gettext as _
from backend.core.tenancy import TenantContext
from backend.tenants.controllers import _is_local_path

FAILURES_BEFORE_DELAY = 3
FAILURES_BEFORE_LOCK = 10
FAILURE_WINDOW_SECONDS = 15 * 60
FAILURE_DELAY_SECONDS = 1.0


async def provide_accounts(
    session: NamedDependency[AsyncSession], tenant: NamedDependency[TenantContext]
) -> AccountService:
    return AccountService(session, tenant)


async def provide_staff(
    request: Request[Any, Any, State],
    accounts: NamedDependency[AccountService],
    tenant: NamedDependency[TenantContext],
) -> StaffIdentity:
    """The logged-in staff member of this municipality; anyone else is sent to the login page."""
    data = request.session or {}
    uid, tid = data.get("uid"), data.get("tid")
    if not uid or tid != str(tenant.id):
        raise LoginRequired()
    identity = await accounts.identity(uuid.UUID(uid))
    if identity is None:
        raise LoginRequired()
    return identity


STAFF_DEPENDENCIES = {
    "session": Provide(provide_session),
    "tenant": Provide(provide_tenant),
    "accounts": Provide(provide_accounts),
    "staff": Provide(provide_staff),
}


def _key(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


class LoginController(Controller):
    path = "/staff"
    dependencies = {k: v for k, v in STAFF_DEPENDENCIES.items() if k != "staff"}

    @get("/login")
    async def login_form(self, next: FromQuery[str] = "/staff") -> Template:  # noqa: A002
        return Template("login.html", context={"next": next if _is_local_path(next) else "/staff", "email": ""})

    @post("/login", status_code=200)
    async def login(
        self,
        request: Request[Any, Any, State],
        accounts: NamedDependency[AccountService],
        tenant: NamedDependency[TenantContext],
    ) -> Template | Redirect:
        data = await request.form()
        email = str(data.get("email") or "").strip()[:254]
        password = str(data.get("password") or "")[:1000]
        target = str(data.get("next") or "/staff")
        target = target if _is_local_path(target) else "/staff"
        store: Store = request.app.stores.get("login_failures")
        keys = [
            f"{tenant.id}:e:{email.lower()}",
            f"{tenant.id}:ip:{request.client.host if request.client else ''}",
        ]
        failures = max([int(await store.get(k) or 0) for k in keys])
        if failures >= FAILURES_BEFORE_LOCK:
            raise TooManyRequests(_("Too many failed attempts. Please wait 15 minutes and try again."))
        identity = await accounts.authenticate(email, password) if email and password else None
        if identity is None:
            for k in keys:
                await store.set(k, str(int(await store.get(k) or 0) + 1), expires_in=FAILURE_WINDOW_SECONDS)
            if failures + 1 >= FAILURES_BEFORE_DELAY:
                # Each further failure waits longer: guessing passwords gets slow, a typo costs a second.
                await asyncio.sleep(min(FAILURE_DELAY_SECONDS * 2 ** (failures + 1 - FAILURES_BEFORE_DELAY), 8))
            return Template(
                "login.html",
                context={
                    "next": target,
                    "email": email,
                    "error": _("E-mail address or password is not correct."),
                },
                status_code=200,
            )
        for k in keys:
            await store.delete(k)
        request.clear_session()
        request.set_session({"uid": str(identity.user_id), "tid": str(tenant.id)})
        return Redirect(path=target, status_code=303)

    @post("/logout")
    async def logout(self, request: Request[Any, Any, State]) -> Redirect:
        request.clear_session()
        return Redirect(path="/staff/login?logged_out=1", status_code=303)
