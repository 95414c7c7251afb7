"""Staff login (password, then the second factor where one is set up) and logout, and the dependency that
says who is logged in."""

from __future__ import annotations

import time
import uuid
from typing import Any

from litestar import Controller, Request, get, post
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide
from litestar.params import FromQuery
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts.second_factor import PENDING_SECONDS, PENDING_TRIES, SecondFactorService
from backend.accounts.services import AccountService, StaffIdentity
from backend.accounts.staff_sessions import StaffSessions
from backend.accounts.throttle import LoginThrottle
from backend.core.deps import provide_session, provide_tenant
from backend.core.errors import LoginRequired, SecondFactorRequired, TooManyRequests
from backend.core.i18n import gettext as _
from backend.core.security import is_local_path
from backend.core.sessions import renew_session
from backend.core.tenancy import TenantContext
from backend.core.text import clean_line
from backend.settings import Settings


async def provide_accounts(
    session: NamedDependency[AsyncSession], tenant: NamedDependency[TenantContext]
) -> AccountService:
    return AccountService(session, tenant)


async def provide_staff_setting_up(
    request: Request[Any, Any, State],
    accounts: NamedDependency[AccountService],
    tenant: NamedDependency[TenantContext],
) -> StaffIdentity:
    """The logged-in staff member of this municipality, second factor or not (for the page that sets it up)."""
    identity = await accounts.session_identity(request.session or {})
    if identity is None:
        raise LoginRequired()
    return identity


def require_second_factor(identity: StaffIdentity, settings: Settings) -> None:
    """Where the platform requires a second factor, a person without one may only set it up."""
    if settings.second_factor_required and not identity.second_factor:
        raise SecondFactorRequired()


async def provide_staff(
    request: Request[Any, Any, State],
    accounts: NamedDependency[AccountService],
    tenant: NamedDependency[TenantContext],
) -> StaffIdentity:
    """The logged-in staff member of this municipality; anyone else is sent to the login page."""
    identity = await provide_staff_setting_up(request, accounts, tenant)
    require_second_factor(identity, request.app.state.settings)
    return identity


STAFF_DEPENDENCIES = {
    "session": Provide(provide_session),
    "tenant": Provide(provide_tenant),
    "accounts": Provide(provide_accounts),
    "staff": Provide(provide_staff),
}


CODE_PAGE = "/login/code"


def _pending(identity: StaffIdentity, tenant_id: uuid.UUID, target: str) -> dict[str, Any]:
    return {
        "pending": str(identity.user_id),
        "tid": str(tenant_id),
        "pw": identity.password_mark,
        "until": time.time() + PENDING_SECONDS,
        "tries": 0,
        "next": target,
    }


def _pending_user(data: dict[str, Any]) -> uuid.UUID | None:
    """The person whose password was right and whose code is awaited, while the wait lasts."""
    raw, until = data.get("pending"), data.get("until")
    if not isinstance(raw, str) or not isinstance(until, int | float) or until < time.time():
        return None
    try:
        return uuid.UUID(raw)
    except ValueError:
        return None


def _login_again(error: str) -> Template:
    return Template("login.html", context={"next": "/staff", "email": "", "error": error}, status_code=200)


class LoginController(Controller):
    path = "/staff"
    dependencies = {k: v for k, v in STAFF_DEPENDENCIES.items() if k != "staff"}

    @get("/login")
    async def login_form(self, next: FromQuery[str] = "/staff") -> Template:  # noqa: A002
        return Template("login.html", context={"next": next if is_local_path(next) else "/staff", "email": ""})

    @post("/login", status_code=200)
    async def login(
        self,
        request: Request[Any, Any, State],
        accounts: NamedDependency[AccountService],
        tenant: NamedDependency[TenantContext],
    ) -> Template | Redirect:
        data = await request.form()
        email = clean_line(str(data.get("email") or ""))[:254]
        password = str(data.get("password") or "")[:1000]
        target = str(data.get("next") or "/staff")
        target = target if is_local_path(target) else "/staff"
        settings: Settings = request.app.state.settings
        throttle = LoginThrottle(request.app.state.limiter, settings.secret_key, tenant.id)
        attempt = await throttle.admit(request, email)
        if attempt is None:
            raise TooManyRequests(_("Too many failed attempts. Please wait 15 minutes and try again."))
        identity = await accounts.authenticate(email, password) if email and password else None
        if identity is None:
            await throttle.failed(attempt)
            return Template(
                "login.html",
                context={
                    "next": target,
                    "email": email,
                    "error": _("E-mail address or password is not correct."),
                },
                status_code=200,
            )
        await throttle.succeeded(attempt)
        if identity.second_factor:
            # Half a login: the session names nobody yet (no "uid"), so no staff page opens before the code.
            renew_session(request, _pending(identity, tenant.id, target))
            response = Redirect(path=f"/staff{CODE_PAGE}", status_code=303)
        else:
            await StaffSessions(accounts.session).start(request, identity, tenant.id)
            response = Redirect(path=target, status_code=303)
        throttle.remember_device(request, response, email, settings.https)
        return response

    @get(CODE_PAGE)
    async def code_form(self, request: Request[Any, Any, State]) -> Template:
        if _pending_user(request.session or {}) is None:
            # No password checked (or too long ago): the login starts with the password.
            return Template("login.html", context={"next": "/staff", "email": ""})
        return Template("login_code.html", context={})

    @post(CODE_PAGE, status_code=200)
    async def code(
        self,
        request: Request[Any, Any, State],
        accounts: NamedDependency[AccountService],
        tenant: NamedDependency[TenantContext],
    ) -> Template | Redirect:
        pending = dict(request.session or {})
        user_id = _pending_user(pending)
        if user_id is None or pending.get("tid") != str(tenant.id):
            request.clear_session()
            return _login_again(_("Your login took too long. Please log in again."))
        code = str((await request.form()).get("code") or "")[:40]
        if await SecondFactorService(accounts.session).check(user_id, code):
            identity = await accounts.identity(user_id)
            if identity is None or identity.password_mark != pending.get("pw"):
                request.clear_session()
                return _login_again(_("Your login took too long. Please log in again."))
            await StaffSessions(accounts.session).start(request, identity, tenant.id)
            target = str(pending.get("next") or "/staff")
            return Redirect(path=target if is_local_path(target) else "/staff", status_code=303)
        tries = int(pending.get("tries") or 0) + 1
        if tries >= PENDING_TRIES:
            request.clear_session()
            return _login_again(_("Too many wrong codes. Please log in again."))
        request.set_session({**pending, "tries": tries})
        error = _("This code is not correct or was already used. Please enter the current code from your app.")
        return Template("login_code.html", context={"error": error}, status_code=422)

    @post("/logout")
    async def logout(self, request: Request[Any, Any, State], accounts: NamedDependency[AccountService]) -> Redirect:
        await StaffSessions(accounts.session).end_by_sid((request.session or {}).get("sid"))
        request.clear_session()
        return Redirect(path="/staff/login?logged_out=1", status_code=303)
