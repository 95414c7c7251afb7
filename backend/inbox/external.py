"""The page a forwarded case's recipient opens from the e-mail: /x/<token>, no account, no session.

An unknown, expired or revoked link gets a neutral page that says nothing about the case. Every answer is
private: never stored by a cache (core/security.py), never indexed, never followed by a Referer.
"""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Controller, Request, get, post
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath
from litestar.response import File, Redirect, Template

from backend.cases.controllers import _file_response, provide_cases
from backend.cases.services import CaseService
from backend.core.errors import NotFound
from backend.core.i18n import gettext as _
from backend.core.text import clean_text
from backend.inbox import forwarding
from backend.inbox.forwarding import ForwardGone, ForwardService
from backend.inbox.models import CaseForward

HEADERS = {"Cache-Control": "no-store", "X-Robots-Tag": "noindex, nofollow", "Referrer-Policy": "no-referrer"}


def _gone(status_code: int) -> Template:
    """The same page for a link that never was, has expired or was revoked: it reveals nothing."""
    return Template("external_gone.html", status_code=status_code, headers=HEADERS)


async def _page(
    cases: CaseService,
    forward: CaseForward,
    token: str,
    *,
    answered: bool = False,
    errors: dict[str, str] | None = None,
    text: str = "",
    status_code: int = 200,
) -> Template:
    view = await cases.by_id(forward.case_id)
    return Template(
        "external.html",
        context={
            "view": view,
            "forward": forward,
            "token": token,
            "definition": forwarding.shown_definition(view.definition, forward.include_contact),
            "answered": answered,
            "errors": errors or {},
            "text": text,
            "message_max": forwarding.MESSAGE_MAX,
        },
        status_code=status_code,
        headers=HEADERS,
    )


class ExternalController(Controller):
    path = "/x"
    dependencies = {"cases": Provide(provide_cases)}

    @get("/{forward_token:str}")
    async def show(
        self, forward_token: FromPath[str], request: Request[Any, Any, State], cases: NamedDependency[CaseService]
    ) -> Template:
        try:
            forward = await ForwardService(cases).by_token(forward_token)
        except NotFound:
            return _gone(404)
        except ForwardGone:
            return _gone(410)
        return await _page(cases, forward, forward_token, answered=request.query_params.get("answered") == "1")

    @post("/{forward_token:str}/answer", status_code=200)
    async def answer(
        self, forward_token: FromPath[str], request: Request[Any, Any, State], cases: NamedDependency[CaseService]
    ) -> Template | Redirect:
        service = ForwardService(cases)
        try:
            forward = await service.by_token(forward_token)
        except NotFound:
            return _gone(404)
        except ForwardGone:
            return _gone(410)
        text = clean_text(str((await request.form()).get("message") or ""))
        key = f"{cases.tenant.id}:forward-answer:{forward.id}"
        if await request.app.state.limiter.hit(key, forwarding.ANSWER_WINDOW_SECONDS) > forwarding.ANSWERS_PER_WINDOW:
            problem = _("Many answers have been sent through this link in a short time. Please wait an hour.")
            return await _page(cases, forward, forward_token, errors={"message": problem}, text=text, status_code=429)
        problem = ""
        if not text:
            problem = _("Please write your answer.")
        elif len(text) > forwarding.MESSAGE_MAX:
            problem = _("Your answer is too long (at most %(n)s characters).", n=forwarding.MESSAGE_MAX)
        if problem:
            return await _page(cases, forward, forward_token, errors={"message": problem}, text=text, status_code=422)
        await service.answer(forward, text)
        return Redirect(path=f"/x/{forward_token}?answered=1#answer-title", status_code=303)

    @get("/{forward_token:str}/files/{file_id:uuid}")
    async def case_file(
        self, forward_token: FromPath[str], file_id: FromPath[uuid.UUID], cases: NamedDependency[CaseService]
    ) -> File:
        """A file of the form's answers of the forwarded case; files of messages and of other cases are not."""
        try:
            forward = await ForwardService(cases).by_token(forward_token)
        except ForwardGone:
            raise NotFound() from None
        attachment = await cases.attachment(file_id, case_id=forward.case_id)
        if attachment.event_id is not None:
            raise NotFound()
        return await _file_response(attachment, cases.storage)
