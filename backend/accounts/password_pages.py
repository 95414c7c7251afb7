"""Forgotten passwords: ask for a link by e-mail (the same answer whoever asks), then choose a new password."""

from __future__ import annotations

import hashlib
from typing import Any

from litestar import Controller, Request, get, post
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts.controllers import STAFF_DEPENDENCIES
from backend.accounts.passwords import MAX_LENGTH, MIN_LENGTH, password_problem
from backend.accounts.resets import RESET_PATH, OpenReset, ResetGone, active_member, create_reset, open_reset, use_reset
from backend.accounts.services import AccountService, hash_password
from backend.accounts.staff_sessions import StaffSessions
from backend.core.errors import TooManyRequests
from backend.core.i18n import gettext as _
from backend.core.offload import run_cpu
from backend.core.tenancy import TenantContext
from backend.core.text import clean_line
from backend.notifications.staff_mail import queue_staff_email

NO_STORE = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}
# Links asked for: per address (so nobody floods a colleague's mailbox) and per client.
FORGOT_PER_ADDRESS, FORGOT_PER_CLIENT, FORGOT_WINDOW = 3, 10, 3600


async def send_reset_link(session: AsyncSession, tenant: TenantContext, user: Any) -> None:
    """Make a reset link for ``user`` and queue the e-mail that carries it (in the same transaction)."""
    token = await create_reset(session, tenant, user)
    await queue_staff_email(
        session,
        tenant.id,
        email=user.email,
        kind="password_reset",
        subject=_("Choose a new password"),
        lines=[
            _("Someone asked to reset the password of your staff account at %(name)s.", name=tenant.name),
            _("You can choose a new password within one hour with this link (it works once):"),
        ],
        path=RESET_PATH + token,
        after=[_("If you did not ask for this, you can ignore this e-mail: your password stays unchanged.")],
    )


def _forgot(email: str = "", error: str = "", status: int = 200) -> Template:
    context = {"email": email, "error": error}
    return Template("password_forgot.html", context=context, status_code=status, headers=NO_STORE)


def _reset_page(opened: OpenReset, error: str = "", status: int = 200) -> Template:
    return Template(
        "password_reset.html",
        context={"reset_email": opened.user.email, "min_length": MIN_LENGTH, "max_length": MAX_LENGTH, "error": error},
        status_code=status,
        headers=NO_STORE,
    )


def _gone() -> Template:
    return Template("password_reset_gone.html", status_code=410, headers=NO_STORE)


class PasswordController(Controller):
    path = "/staff/password"
    dependencies = {k: v for k, v in STAFF_DEPENDENCIES.items() if k != "staff"}

    @get("/forgot")
    async def forgot_form(self) -> Template:
        return _forgot()

    @post("/forgot", status_code=200)
    async def forgot(
        self,
        request: Request[Any, Any, State],
        session: NamedDependency[AsyncSession],
        tenant: NamedDependency[TenantContext],
    ) -> Template | Redirect:
        data = await request.form()
        email = clean_line(str(data.get("email") or ""))[:254].strip().lower()
        if not email or "@" not in email:
            return _forgot(email, _("Please enter the e-mail address of your staff account."), status=422)
        limiter = request.app.state.limiter
        client = request.client.host if request.client else ""
        address = hashlib.sha256(email.encode()).hexdigest()[:32]
        by_client = await limiter.hit(f"{tenant.id}:forgot:ip:{client}", FORGOT_WINDOW)
        if by_client > FORGOT_PER_CLIENT:
            raise TooManyRequests(_("Too many requests. Please wait an hour and try again."))
        # Over the limit for the address, the answer stays the same: it must not tell whether the address is known.
        by_address = await limiter.hit(f"{tenant.id}:forgot:email:{address}", FORGOT_WINDOW)
        user = await active_member(session, email)
        if user is not None and by_address <= FORGOT_PER_ADDRESS:
            await send_reset_link(session, tenant, user)
        return Redirect(path="/staff/password/forgot?sent=1", status_code=303)

    @get("/reset/{reset_token:str}")
    async def reset_form(self, reset_token: FromPath[str], session: NamedDependency[AsyncSession]) -> Template:
        opened = await _opened(session, reset_token)
        return _gone() if opened is None else _reset_page(opened)

    @post("/reset/{reset_token:str}", status_code=200)
    async def reset(
        self,
        reset_token: FromPath[str],
        request: Request[Any, Any, State],
        session: NamedDependency[AsyncSession],
        accounts: NamedDependency[AccountService],
        tenant: NamedDependency[TenantContext],
    ) -> Template | Redirect:
        opened = await _opened(session, reset_token)
        if opened is None:
            return _gone()
        data = await request.form()
        password = str(data.get("password") or "")[: MAX_LENGTH + 1]
        problem = password_problem(password, str(data.get("password_confirm") or "")[: MAX_LENGTH + 1])
        if problem:
            return _reset_page(opened, problem, status=422)
        if not await use_reset(session, opened, await run_cpu(hash_password, password)):
            return _gone()
        # The new password changes the mark every session carries: the person's other sessions end with it.
        identity = await accounts.identity(opened.user.id)
        sessions = StaffSessions(accounts.session)
        await sessions.end_all(opened.user.id)
        # A link in a mailbox is no second factor: whoever has one logs in with it as usual.
        if identity is None or identity.second_factor:
            return Redirect(path="/staff/login?reset=1", status_code=303)
        await sessions.start(request, identity, tenant.id)
        return Redirect(path="/staff", status_code=303)


async def _opened(session: AsyncSession, token: str) -> OpenReset | None:
    """The open reset of this link; None when it was used, has expired or is unknown (one page says so)."""
    try:
        return await open_reset(session, token)
    except ResetGone:
        return None
