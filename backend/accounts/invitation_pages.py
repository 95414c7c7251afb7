"""The invitation link: a new staff member sets their password and is logged in; a person who already has
an account confirms with their existing password instead (the link never replaces a password)."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get, post
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts.controllers import STAFF_DEPENDENCIES
from backend.accounts.invitations import InvitationGone, OpenInvitation, accept, open_invitation
from backend.accounts.passwords import MAX_LENGTH, MIN_LENGTH, password_problem
from backend.accounts.services import AccountService, hash_password
from backend.accounts.staff_sessions import StaffSessions
from backend.accounts.throttle import LoginThrottle
from backend.core.errors import NotFound, TooManyRequests
from backend.core.i18n import gettext as _
from backend.core.offload import run_cpu
from backend.core.tenancy import TenantContext
from backend.settings import Settings


def _page(opened: OpenInvitation, tenant: TenantContext, error: str = "", status: int = 200) -> Template:
    return Template(
        "invite.html",
        context={
            "invitation_tenant": tenant.name,
            "invited_email": opened.user.email,
            "existing_account": opened.existing_account,
            "min_length": MIN_LENGTH,
            "max_length": MAX_LENGTH,
            "error": error,
        },
        status_code=status,
        headers={"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"},
    )


def _gone() -> Template:
    return Template("invite_gone.html", status_code=410, headers={"Cache-Control": "no-store"})


class InvitationController(Controller):
    path = "/staff/invite"
    dependencies = {k: v for k, v in STAFF_DEPENDENCIES.items() if k != "staff"}

    @get("/{invitation_token:str}")
    async def show(
        self,
        invitation_token: FromPath[str],
        session: NamedDependency[AsyncSession],
        tenant: NamedDependency[TenantContext],
    ) -> Template:
        opened = await _opened(session, invitation_token)
        if opened is None:
            return _gone()
        return _page(opened, tenant)

    @post("/{invitation_token:str}", status_code=200)
    async def take(
        self,
        invitation_token: FromPath[str],
        request: Request[Any, Any, State],
        session: NamedDependency[AsyncSession],
        accounts: NamedDependency[AccountService],
        tenant: NamedDependency[TenantContext],
    ) -> Template | Redirect:
        opened = await _opened(session, invitation_token)
        if opened is None:
            return _gone()
        data = await request.form()
        password = str(data.get("password") or "")[: MAX_LENGTH + 1]
        settings: Settings = request.app.state.settings
        if opened.existing_account:
            # The same protection as the login form: this is a login with an existing password.
            throttle = LoginThrottle(request.app.state.limiter, settings.secret_key, tenant.id)
            attempt = await throttle.admit(request, opened.user.email)
            if attempt is None:
                raise TooManyRequests(_("Too many failed attempts. Please wait 15 minutes and try again."))
            if not password or not await accounts.has_password(opened.user, password):
                await throttle.failed(attempt)
                return _page(opened, tenant, _("The password is not correct."))
            await throttle.succeeded(attempt)
            new_hash = None
        else:
            problem = password_problem(password, str(data.get("password_repeat") or "")[: MAX_LENGTH + 1])
            if problem:
                return _page(opened, tenant, problem)
            new_hash = await run_cpu(hash_password, password)
        if not await accept(session, opened, new_hash):
            return _gone()
        identity = await accounts.identity(opened.user.id)
        if identity is None:
            return _gone()
        if identity.second_factor:
            # An account that already uses two-step login accepts with its password and then its code.
            return Redirect(path="/staff/login", status_code=303)
        await StaffSessions(accounts.session).start(request, identity, tenant.id)
        return Redirect(path="/staff", status_code=303)


async def _opened(session: AsyncSession, token: str) -> OpenInvitation | None:
    """The open invitation of this link; None when it was used or has expired (the page says so); 404 if unknown."""
    try:
        opened = await open_invitation(session, token)
    except InvitationGone:
        return None
    if opened is None:
        raise NotFound(_("This invitation link is not known. Please check the address or ask for a new invitation."))
    return opened
