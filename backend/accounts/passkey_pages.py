"""Passkeys on the citizen's account pages: add and remove them on "My requests", sign in with one.

The browser's part (navigator.credentials) is pwa/static/js/passkeys.js: it fetches the options from the
``/options`` routes and posts the answer in an ordinary form (field ``credential``), so the answers are
pages, as everywhere else. Without JavaScript or passkey support the buttons stay hidden and the code by
e-mail works as before.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath
from litestar.response import Redirect, Template

from backend.accounts.citizen_pages import (
    ACCOUNT,
    CITIZEN_DEPENDENCIES,
    SIGN_IN,
    account_page,
    client_of,
    set_cookie,
    sign_in_page,
)
from backend.accounts.citizens import CHECK_WINDOW, CHECKS_PER_CLIENT, SESSION_COOKIE, SESSION_VALIDITY, CitizenService
from backend.accounts.models import CitizenAccount
from backend.accounts.passkeys import PasskeyRefused, PasskeyService, Relying
from backend.core.errors import Forbidden, NotFound, TooManyRequests
from backend.core.i18n import gettext as _
from backend.core.text import clean_line
from backend.settings import Settings

log = logging.getLogger("rathaus.passkeys")


async def provide_passkeys(citizens: NamedDependency[CitizenService]) -> PasskeyService:
    return PasskeyService(citizens.session, citizens.tenant)


def relying(request: Request[Any, Any, State]) -> Relying:
    """The relying party is the host the citizen is on; its origin as their browser sees it."""
    settings: Settings = request.app.state.settings
    scheme = "https" if settings.https else request.url.scheme
    return Relying(rp_id=request.url.hostname or "", origin=f"{scheme}://{request.url.netloc}")


def _json(body: str) -> Response[str]:
    return Response(body, media_type="application/json", headers={"Cache-Control": "no-store"})


async def _signed_in(request: Request[Any, Any, State], citizens: CitizenService) -> CitizenAccount | None:
    return await citizens.account_of(request.cookies.get(SESSION_COOKIE))


# Challenges a client may ask for to sign in, per CHECK_WINDOW: each is a row until it is used or expires.
OPTIONS_PER_CLIENT = 60


async def _count_try(
    request: Request[Any, Any, State],
    citizens: CitizenService,
    kind: str = "citizen-check",
    limit: int = CHECKS_PER_CLIENT,
) -> None:
    """Passkey answers count with the code tries of the client (the same limit); challenges have their own."""
    key = f"{citizens.tenant.id}:{kind}:ip:{client_of(request)}"
    if await request.app.state.limiter.hit(key, CHECK_WINDOW) > limit:
        raise TooManyRequests(_("Too many attempts. Please wait 15 minutes and try again."))


class CitizenPasskeyController(Controller):
    path = ACCOUNT
    dependencies = {**CITIZEN_DEPENDENCIES, "passkeys": Provide(provide_passkeys)}

    @post("/passkeys/options")
    async def registration_options(
        self,
        request: Request[Any, Any, State],
        citizens: NamedDependency[CitizenService],
        passkeys: NamedDependency[PasskeyService],
    ) -> Response[str]:
        account = await _signed_in(request, citizens)
        if account is None:
            raise Forbidden(_("Please sign in first."))
        return _json(await passkeys.registration_options(account, relying(request)))

    @post("/passkeys", status_code=200)
    async def add(
        self,
        request: Request[Any, Any, State],
        citizens: NamedDependency[CitizenService],
        passkeys: NamedDependency[PasskeyService],
    ) -> Template | Redirect:
        account = await _signed_in(request, citizens)
        if account is None:
            return Redirect(path=SIGN_IN, status_code=303)
        form = await request.form()
        typed = clean_line(str(form.get("name") or ""))[:80]
        try:
            await passkeys.register(account, relying(request), str(form.get("credential") or ""), typed or _("Passkey"))
        except PasskeyRefused as refused:
            log.info("passkey not added: %s", refused)
            error = _("The passkey could not be added. Please try again, or use another device.")
            return await account_page(citizens, account, passkey_error=error, passkey_name=typed, status=422)
        return Redirect(path=f"{ACCOUNT}?passkey=added", status_code=303)

    @post("/passkeys/{passkey_id:uuid}/delete")
    async def remove(
        self,
        request: Request[Any, Any, State],
        passkey_id: FromPath[uuid.UUID],
        citizens: NamedDependency[CitizenService],
        passkeys: NamedDependency[PasskeyService],
    ) -> Redirect:
        account = await _signed_in(request, citizens)
        if account is None:
            return Redirect(path=SIGN_IN, status_code=303)
        if not await passkeys.remove(account, passkey_id):
            raise NotFound(_("This passkey is not in your account."))
        return Redirect(path=f"{ACCOUNT}?passkey=removed", status_code=303)

    @post("/sign-in/passkey/options")
    async def sign_in_options(
        self,
        request: Request[Any, Any, State],
        citizens: NamedDependency[CitizenService],
        passkeys: NamedDependency[PasskeyService],
    ) -> Response[str]:
        await _count_try(request, citizens, "passkey-options", OPTIONS_PER_CLIENT)
        return _json(await passkeys.sign_in_options(relying(request)))

    @post("/sign-in/passkey", status_code=200)
    async def sign_in(
        self,
        request: Request[Any, Any, State],
        citizens: NamedDependency[CitizenService],
        passkeys: NamedDependency[PasskeyService],
    ) -> Template | Redirect:
        await _count_try(request, citizens)
        form = await request.form()
        try:
            account = await passkeys.sign_in(relying(request), str(form.get("credential") or ""))
        except PasskeyRefused as refused:
            log.info("passkey sign-in refused: %s", refused)
            error = _("This passkey could not sign you in. Please use another passkey, or ask for a code by e-mail.")
            return sign_in_page(passkey_error=error, status=422)
        secret = await citizens.start_session(account, request.cookies.get(SESSION_COOKIE))
        response = Redirect(path=ACCOUNT, status_code=303)
        set_cookie(request, response, SESSION_COOKIE, secret, path="/", max_age=int(SESSION_VALIDITY.total_seconds()))
        return response

    @get(["/passkeys", "/sign-in/passkey"], include_in_schema=False)
    async def after_an_error(self, request: Request[Any, Any, State]) -> Redirect:
        """A page reloaded after a refused passkey shows these addresses: their pages are the account's."""
        return Redirect(path=ACCOUNT if request.url.path.endswith("/passkeys") else SIGN_IN, status_code=303)
