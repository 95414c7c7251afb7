"""A staff member's own second factor: set up an authenticator app (QR code drawn on the server), see how
many recovery codes are left, make new ones, and switch it off where the platform allows that."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get, post
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide
from litestar.params import FromQuery
from litestar.response import Redirect, Template

from backend.accounts.controllers import STAFF_DEPENDENCIES, provide_staff_setting_up
from backend.accounts.second_factor import SecondFactorService, grouped, new_secret, provisioning_uri, qr_svg
from backend.accounts.services import AccountService, StaffIdentity
from backend.accounts.staff_sessions import StaffSessions
from backend.core.errors import SECOND_FACTOR_PAGE
from backend.core.i18n import gettext as _
from backend.core.tenancy import TenantContext
from backend.settings import Settings

# The secret being set up waits in the (server-side) session until a code from it confirms it.
SETUP_KEY = "totp_setup"


def _settings(request: Request[Any, Any, State]) -> Settings:
    return request.app.state.settings  # type: ignore[no-any-return]


class TwoFactorController(Controller):
    path = SECOND_FACTOR_PAGE
    dependencies = {**STAFF_DEPENDENCIES, "staff": Provide(provide_staff_setting_up)}

    @get("/")
    async def page(
        self,
        request: Request[Any, Any, State],
        staff: NamedDependency[StaffIdentity],
        accounts: NamedDependency[AccountService],
        tenant: NamedDependency[TenantContext],
        done: FromQuery[str] = "",
    ) -> Template:
        return await self._page(request, staff, accounts, tenant, notice=done)

    async def _page(
        self,
        request: Request[Any, Any, State],
        staff: StaffIdentity,
        accounts: AccountService,
        tenant: TenantContext,
        *,
        notice: str = "",
        error: str = "",
        recovery_codes: list[str] | None = None,
        status_code: int = 200,
    ) -> Template:
        service = SecondFactorService(accounts.session)
        context: dict[str, Any] = {
            "staff": staff,
            "enabled": staff.second_factor or recovery_codes is not None,
            "required": _settings(request).second_factor_required,
            "notice": notice,
            "error": error,
            "recovery_codes": recovery_codes,
        }
        if context["enabled"]:
            context["codes_left"] = await service.unused_recovery_codes(staff.user_id)
        else:
            secret = (request.session or {}).get(SETUP_KEY)
            if not isinstance(secret, str):
                secret = new_secret()
                request.set_session({**(request.session or {}), SETUP_KEY: secret})
            uri = provisioning_uri(secret, staff.email, f"Rathaus {tenant.name}")
            context.update(secret=grouped(secret), qr=qr_svg(uri, _("QR code to set up your authenticator app")))
        # The page shows a secret or recovery codes: never kept by a browser or proxy.
        return Template(
            "staff/two_factor.html", context=context, status_code=status_code, headers={"Cache-Control": "no-store"}
        )

    @post("/", status_code=200)
    async def enrol(
        self,
        request: Request[Any, Any, State],
        staff: NamedDependency[StaffIdentity],
        accounts: NamedDependency[AccountService],
        tenant: NamedDependency[TenantContext],
    ) -> Template | Redirect:
        if staff.second_factor:
            return Redirect(path=SECOND_FACTOR_PAGE, status_code=303)
        secret = (request.session or {}).get(SETUP_KEY)
        code = str((await request.form()).get("code") or "")[:40]
        enrolled = await SecondFactorService(accounts.session).enrol(staff.user_id, secret, code) if secret else None
        if enrolled is None:
            error = _("This code does not match. Please enter the six digits your app shows now.")
            return await self._page(request, staff, accounts, tenant, error=error, status_code=422)
        identity = await accounts.identity(staff.user_id)
        assert identity is not None
        # A new session id for the stronger login; the secret being set up is no longer kept in it.
        await StaffSessions(accounts.session).start(request, identity, tenant.id)
        return await self._page(
            request, identity, accounts, tenant, notice="enabled", recovery_codes=enrolled.recovery_codes
        )

    @post("/recovery-codes", status_code=200)
    async def new_codes(
        self,
        request: Request[Any, Any, State],
        staff: NamedDependency[StaffIdentity],
        accounts: NamedDependency[AccountService],
        tenant: NamedDependency[TenantContext],
    ) -> Template | Redirect:
        if not staff.second_factor:
            return Redirect(path=SECOND_FACTOR_PAGE, status_code=303)
        service = SecondFactorService(accounts.session)
        code = str((await request.form()).get("code") or "")[:40]
        if not await service.check(staff.user_id, code):
            error = _("This code is not correct or was already used. Please enter the current code from your app.")
            return await self._page(request, staff, accounts, tenant, error=error, status_code=422)
        codes = await service.new_recovery_codes(staff.user_id)
        return await self._page(request, staff, accounts, tenant, notice="codes", recovery_codes=codes)

    @post("/disable", status_code=200)
    async def disable(
        self,
        request: Request[Any, Any, State],
        staff: NamedDependency[StaffIdentity],
        accounts: NamedDependency[AccountService],
        tenant: NamedDependency[TenantContext],
    ) -> Template | Redirect:
        if not staff.second_factor:
            return Redirect(path=SECOND_FACTOR_PAGE, status_code=303)
        if _settings(request).second_factor_required:
            error = _("A second factor is required on this platform, so it cannot be switched off.")
            return await self._page(request, staff, accounts, tenant, error=error, status_code=422)
        data = await request.form()
        user = await SecondFactorService(accounts.session).user(staff.user_id)
        password_ok = await accounts.has_password(user, str(data.get("password") or "")[:1000])
        service = SecondFactorService(accounts.session)
        if not password_ok or not await service.check(staff.user_id, str(data.get("code") or "")[:40]):
            error = _("The password or the code is not correct.")
            return await self._page(request, staff, accounts, tenant, error=error, status_code=422)
        await service.disable(staff.user_id)
        return Redirect(path=f"{SECOND_FACTOR_PAGE}?done=disabled", status_code=303)
