"""The citizen's side of the conversation: answer or add information, and whether e-mails come at all."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get, post
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template

from backend.cases.controllers import provide_cases, tracking_page
from backend.cases.conversation import ConversationService, over_reply_limit, read_message
from backend.cases.services import CaseService
from backend.core.errors import Forbidden
from backend.core.i18n import gettext as _
from backend.core.limits import UPLOAD_BODY_LIMIT
from backend.notifications.unsubscribe import valid_signature

NO_STORE = {"Cache-Control": "no-store"}


class ConversationController(Controller):
    dependencies = {"cases": Provide(provide_cases)}

    @post("/r/{token:str}/reply", opt=UPLOAD_BODY_LIMIT)
    async def reply(
        self, token: FromPath[str], request: Request[Any, Any, State], cases: NamedDependency[CaseService]
    ) -> Template | Redirect:
        talk = ConversationService(cases)
        case, service = await talk.open_case(token)  # a closed case: 409, before any file is read
        if await over_reply_limit(request, cases):
            return await tracking_page(
                cases,
                token,
                status_code=429,
                reply={
                    "errors": {"message": _("You have sent many messages in a short time. Please wait an hour.")},
                    "text": str((await request.form()).get("message") or ""),
                },
            )
        message = await read_message(request, cases, service, text_field="message")
        if message.errors:
            return await tracking_page(
                cases,
                token,
                status_code=429 if message.rate_limited else 422,
                reply={"errors": message.errors, "text": message.text},
            )
        await talk.reply(case.id, message.text, message.files)
        return Redirect(path=f"/r/{token}?replied=1#timeline-title", status_code=303)

    @post("/r/{token:str}/emails")
    async def emails(
        self, token: FromPath[str], request: Request[Any, Any, State], cases: NamedDependency[CaseService]
    ) -> Redirect:
        data = await request.form()
        await ConversationService(cases).set_emails(token, on=data.get("emails") == "on")
        return Redirect(
            path=f"/r/{token}?emails={'on' if data.get('emails') == 'on' else 'off'}#emails", status_code=303
        )

    @get("/r/{token:str}/unsubscribe")
    async def confirm_unsubscribe(
        self,
        token: FromPath[str],
        request: Request[Any, Any, State],
        cases: NamedDependency[CaseService],
        sig: FromQuery[str] = "",
    ) -> Template:
        """The link in an e-mail, opened in a browser: a page with a button (a GET never switches anything off,
        since link scanners follow links)."""
        self._check(request, token, sig)
        view = await cases.by_token(token)
        return Template("unsubscribe.html", context={"case": view.case, "sig": sig, "done": False}, headers=NO_STORE)

    # RFC 8058: a mail client POSTs "List-Unsubscribe=One-Click" to this address, without cookies or a CSRF
    # token; the tracking token and the signature in the address authorise it.
    @post("/r/{token:str}/unsubscribe", status_code=200, exclude_from_csrf=True)
    async def unsubscribe(
        self,
        token: FromPath[str],
        request: Request[Any, Any, State],
        cases: NamedDependency[CaseService],
        sig: FromQuery[str] = "",
    ) -> Template:
        self._check(request, token, sig)
        case = await ConversationService(cases).set_emails(token, on=False)
        return Template("unsubscribe.html", context={"case": case, "sig": sig, "done": True}, headers=NO_STORE)

    @staticmethod
    def _check(request: Request[Any, Any, State], token: str, sig: str) -> None:
        if not valid_signature(request.app.state.settings.secret_key, token, sig[:100]):
            raise Forbidden(_("This unsubscribe link is not valid. Please use the link from your latest e-mail."))
