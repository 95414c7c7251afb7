"""A citizen's account pages: sign in with a code by e-mail, "My requests", download my data, delete my account."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide
from litestar.params import FromQuery
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts.citizen_data import CitizenData
from backend.accounts.citizens import (
    CHECK_WINDOW,
    CHECKS_PER_CLIENT,
    CODE_VALIDITY,
    CODE_WINDOW,
    CODES_PER_ADDRESS,
    CODES_PER_CLIENT,
    MAX_DEVICE_TOKENS,
    PENDING_COOKIE,
    SESSION_COOKIE,
    SESSION_VALIDITY,
    CitizenService,
    CodeRefused,
    address_key,
    normalise_email,
    plausible_email,
)
from backend.accounts.models import CitizenAccount
from backend.accounts.passkeys import PasskeyService
from backend.core.deps import provide_session, provide_tenant
from backend.core.i18n import gettext as _
from backend.core.tenancy import TenantContext
from backend.core.text import clean_line, whole_number
from backend.notifications.staff_mail import SIGN_IN_KIND, queue_link_email
from backend.settings import Settings

SIGN_IN = "/account/sign-in"
CODE_PAGE = "/account/sign-in/code"
ACCOUNT = "/account"


async def provide_citizens(
    request: Request[Any, Any, State],
    session: NamedDependency[AsyncSession],
    tenant: NamedDependency[TenantContext],
) -> CitizenService:
    settings: Settings = request.app.state.settings
    return CitizenService(session, tenant, settings.secret_key)


CITIZEN_DEPENDENCIES = {
    "session": Provide(provide_session),
    "tenant": Provide(provide_tenant),
    "citizens": Provide(provide_citizens),
}


def client_of(request: Request[Any, Any, State]) -> str:
    return request.client.host if request.client else ""


def sign_in_page(
    email: str = "", error: str = "", notice: str = "", status: int = 200, passkey_error: str = "", **headers: str
) -> Template:
    return Template(
        "account/sign_in.html",
        context={"email": email, "error": error, "notice": notice, "passkey_error": passkey_error},
        status_code=status,
        headers=headers,
    )


def _code_page(email: str, error: str = "", status: int = 200) -> Template:
    minutes = int(CODE_VALIDITY.total_seconds() // 60)
    return Template(
        "account/code.html", context={"email": email, "error": error, "minutes": minutes}, status_code=status
    )


def set_cookie(request: Request[Any, Any, State], response: Response[Any], key: str, value: str, **kw: Any) -> None:
    settings: Settings = request.app.state.settings
    response.set_cookie(key, value, httponly=True, secure=settings.https, samesite="lax", **kw)


class CitizenAccountController(Controller):
    path = ACCOUNT
    dependencies = CITIZEN_DEPENDENCIES

    @get("/sign-in")
    async def sign_in_form(
        self,
        request: Request[Any, Any, State],
        citizens: NamedDependency[CitizenService],
        signed_out: FromQuery[bool] = False,
        deleted: FromQuery[bool] = False,
    ) -> Template | Redirect:
        if await citizens.account_of(request.cookies.get(SESSION_COOKIE)) is not None:
            return Redirect(path=ACCOUNT, status_code=303)
        notice = ""
        if signed_out:
            notice = _("You have signed out.")
        if deleted:
            notice = _(
                "Your account has been deleted. Your requests stay with the town hall without your contact details."
            )
        return sign_in_page(notice=notice)

    @post("/sign-in", status_code=200)
    async def sign_in(
        self,
        request: Request[Any, Any, State],
        citizens: NamedDependency[CitizenService],
        tenant: NamedDependency[TenantContext],
    ) -> Template | Redirect:
        data = await request.form()
        typed = clean_line(str(data.get("email") or ""))[:254]
        email = normalise_email(typed)
        if not plausible_email(email):
            return sign_in_page(typed, _("Please enter your e-mail address, for example name@example.org."), status=422)
        limiter = request.app.state.limiter
        by_client = await limiter.hit(f"{tenant.id}:citizen-code:ip:{client_of(request)}", CODE_WINDOW)
        by_address = await limiter.hit(f"{tenant.id}:citizen-code:email:{address_key(email)}", CODE_WINDOW)
        if by_client > CODES_PER_CLIENT or by_address > CODES_PER_ADDRESS:
            return sign_in_page(
                typed,
                _("You have asked for several codes. Please wait an hour and try again."),
                status=429,
                **{"Retry-After": str(CODE_WINDOW)},
            )
        made = await citizens.request_code(email)
        minutes = int(CODE_VALIDITY.total_seconds() // 60)
        await queue_link_email(
            citizens.session,
            tenant.id,
            email=email,
            kind=SIGN_IN_KIND,
            subject=_("Your sign-in code"),
            lines=[
                _("Your code to sign in at %(name)s:", name=tenant.name),
                made.code,
                _(
                    "The code is valid for %(minutes)s minutes and works once, in the browser where you asked for it. "
                    "Enter it on this page:",
                    minutes=minutes,
                ),
            ],
            path=CODE_PAGE,
            after=[_("If you did not ask for this code, you can ignore this e-mail.")],
        )
        response = Redirect(path=CODE_PAGE, status_code=303)
        set_cookie(
            request,
            response,
            PENDING_COOKIE,
            made.browser_secret,
            path=ACCOUNT,
            max_age=int(CODE_VALIDITY.total_seconds()),
        )
        return response

    @get("/sign-in/code")
    async def code_form(
        self, request: Request[Any, Any, State], citizens: NamedDependency[CitizenService]
    ) -> Template | Redirect:
        email = await citizens.pending_email(request.cookies.get(PENDING_COOKIE))
        if email is None:
            return Redirect(path=SIGN_IN, status_code=303)
        return _code_page(email)

    @post("/sign-in/code", status_code=200)
    async def code(
        self,
        request: Request[Any, Any, State],
        citizens: NamedDependency[CitizenService],
        tenant: NamedDependency[TenantContext],
    ) -> Template | Redirect:
        data = await request.form()
        code = str(data.get("code") or "")[:40]
        pending = request.cookies.get(PENDING_COOKIE)
        checks = await request.app.state.limiter.hit(f"{tenant.id}:citizen-check:ip:{client_of(request)}", CHECK_WINDOW)
        if checks > CHECKS_PER_CLIENT:
            email = await citizens.pending_email(pending) or ""
            page = _code_page(email, _("Too many attempts. Please wait 15 minutes and try again."), status=429)
            page.headers["Retry-After"] = str(CHECK_WINDOW)
            return page
        try:
            account = await citizens.check_code(pending, code)
        except CodeRefused as refused:
            if refused.reason == "wrong":
                email = await citizens.pending_email(pending) or ""
                return _code_page(
                    email, _("This code is not correct. Please check the code in the e-mail."), status=422
                )
            message = (
                _("Too many wrong codes. Please ask for a new code.")
                if refused.reason == "exhausted"
                else _("This code has expired or was already used. Please ask for a new code.")
            )
            return sign_in_page(error=message, status=422)
        secret = await citizens.start_session(account, request.cookies.get(SESSION_COOKIE))
        response = Redirect(path=ACCOUNT, status_code=303)
        set_cookie(request, response, SESSION_COOKIE, secret, path="/", max_age=int(SESSION_VALIDITY.total_seconds()))
        response.delete_cookie(PENDING_COOKIE, path=ACCOUNT)
        return response

    @get("/")
    async def my_requests(
        self, request: Request[Any, Any, State], citizens: NamedDependency[CitizenService]
    ) -> Template | Redirect:
        account = await citizens.account_of(request.cookies.get(SESSION_COOKIE))
        if account is None:
            return Redirect(path=SIGN_IN, status_code=303)
        joined = request.query_params.get("joined", "")
        notices = {
            "added": _("The passkey was added. Next time you can sign in with it."),
            "removed": _("The passkey was removed."),
        }
        return await account_page(
            citizens,
            account,
            joined=whole_number(joined, 3),
            passkey_notice=notices.get(request.query_params.get("passkey", ""), ""),
        )

    @post("/device-requests")
    async def device_requests(
        self, request: Request[Any, Any, State], citizens: NamedDependency[CitizenService]
    ) -> Redirect:
        """The requests this device remembers (sent by the page's script as ``token`` fields) join the account."""
        account = await citizens.account_of(request.cookies.get(SESSION_COOKIE))
        if account is None:
            return Redirect(path=SIGN_IN, status_code=303)
        form = await request.form()
        joined = await citizens.link_tokens(account, [str(t) for t in form.getall("token", [])][:MAX_DEVICE_TOKENS])
        return Redirect(path=f"{ACCOUNT}?joined={joined}", status_code=303)

    @post("/sign-out")
    async def sign_out(self, request: Request[Any, Any, State], citizens: NamedDependency[CitizenService]) -> Redirect:
        await citizens.end_session(request.cookies.get(SESSION_COOKIE))
        response = Redirect(path=f"{SIGN_IN}?signed_out=1", status_code=303)
        response.delete_cookie(SESSION_COOKIE, path="/")
        return response

    @get("/data.zip")
    async def data(
        self,
        request: Request[Any, Any, State],
        citizens: NamedDependency[CitizenService],
        tenant: NamedDependency[TenantContext],
    ) -> Response[bytes] | Redirect:
        account = await citizens.account_of(request.cookies.get(SESSION_COOKIE))
        if account is None:
            return Redirect(path=SIGN_IN, status_code=303)
        body = await CitizenData(citizens.session, citizens.tenant).export(account, request.app.state.storage)
        return Response(
            body,
            media_type="application/zip",
            headers={"Content-Disposition": f'attachment; filename="{tenant.slug}-my-data.zip"'},
        )

    @post("/delete", status_code=200)
    async def delete(
        self, request: Request[Any, Any, State], citizens: NamedDependency[CitizenService]
    ) -> Template | Redirect:
        account = await citizens.account_of(request.cookies.get(SESSION_COOKIE))
        if account is None:
            return Redirect(path=SIGN_IN, status_code=303)
        data = await request.form()
        if data.get("confirm") != "yes":
            error = _("Please confirm that you want to delete your account.")
            return await account_page(citizens, account, delete_error=error, status=422)
        await CitizenData(citizens.session, citizens.tenant).delete(account)
        response = Redirect(path=f"{SIGN_IN}?deleted=1", status_code=303)
        response.delete_cookie(SESSION_COOKIE, path="/")
        return response


async def account_page(
    citizens: CitizenService,
    account: CitizenAccount,
    delete_error: str = "",
    status: int = 200,
    joined: int | None = None,
    passkey_error: str = "",
    passkey_notice: str = "",
    passkey_name: str = "",
) -> Template:
    """The account's page; ``joined``: how many of the device's requests just joined it (None: none were sent)."""
    cases = await citizens.my_cases(account)
    passkeys = await PasskeyService(citizens.session, citizens.tenant).passkeys(account)
    return Template(
        "account/my_requests.html",
        context={
            "account": account,
            "cases": cases,
            "delete_error": delete_error,
            "joined": joined,
            "passkeys": passkeys,
            "passkey_error": passkey_error,
            "passkey_notice": passkey_notice,
            "passkey_name": passkey_name,
        },
        status_code=status,
    )
