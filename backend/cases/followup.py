"""After the request is sent: find it again (device list, lost link) and say whether it was solved."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.background_tasks import BackgroundTask
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath
from litestar.plugins.problem_details import ProblemDetailsException
from litestar.response import Redirect, Template

from backend.accounts.services import StaffIdentity
from backend.cases import lookup
from backend.cases.controllers import provide_cases
from backend.cases.feedback import FeedbackService, parse_answer
from backend.cases.services import CaseService
from backend.cases.staff import STAFF_CASE_DEPENDENCIES
from backend.core.errors import TITLES, TooManyRequests
from backend.core.i18n import gettext as _
from backend.core.tenancy import TenantContext, tenant_of

# Status lookups: a home page asks once per visit; a script hammering it is slowed down.
STATUS_LIMIT, STATUS_WINDOW = 30, 60
STATUS_MAX_BODY = 8 * 1024
# Lost links: a person forgets a link now and then; guessing addresses or references must stay slow.
FIND_PER_CLIENT, FIND_PER_ADDRESS, FIND_WINDOW = 10, 3, 3600


def _client_ip(request: Request[Any, Any, State]) -> str:
    return request.client.host if request.client else ""


def _problem(request: Request[Any, Any, State], status: int, detail: str, headers: dict[str, str] | None = None) -> Any:
    """RFC 9457 problem details, whatever the Accept header says: the caller is a script."""
    return ProblemDetailsException(
        detail=detail, status_code=status, title=_(TITLES[status]), headers=headers or {}
    ).to_response(request)


class FollowUpController(Controller):
    dependencies = {"cases": Provide(provide_cases)}

    # --- my requests on this device -----------------------------------------------------------------

    # Not checked for a CSRF token (the Litestar middleware skips routes with this opt): the call only reads
    # what the tokens in its body already grant to whoever holds them, and changes nothing. It insists on a
    # JSON content type, which another site cannot send without a CORS preflight that this app never allows,
    # so the answer is never readable cross-site either. Taking no token also lets a home page served from the
    # device's cache (whose token may be stale) still ask.
    @post("/my-requests/status", status_code=200)
    async def my_requests_status(
        self, request: Request[Any, Any, State], cases: NamedDependency[CaseService]
    ) -> Response[Any]:
        tenant = cases.tenant
        count = await request.app.state.limiter.hit(f"{tenant.id}:my-requests:{_client_ip(request)}", STATUS_WINDOW)
        if count > STATUS_LIMIT:
            return _problem(
                request, 429, _("Please wait a moment before you try again."), {"Retry-After": str(STATUS_WINDOW)}
            )
        if not request.headers.get("content-type", "").startswith("application/json"):
            return _problem(request, 400, _("Please send the tokens as JSON."))
        body = await request.body()
        if len(body) > STATUS_MAX_BODY:
            return _problem(request, 413, _("At most %(n)s requests can be looked up at once.", n=lookup.MAX_TOKENS))
        try:
            query = lookup.decode_status_query(body)
        except (msgspec.DecodeError, msgspec.ValidationError):
            return _problem(request, 400, _("Please send a JSON object with a list of tracking tokens under “tokens”."))
        if len(query.tokens) > lookup.MAX_TOKENS:
            return _problem(request, 413, _("At most %(n)s requests can be looked up at once.", n=lookup.MAX_TOKENS))
        found = await lookup.statuses(cases.session, query.tokens)
        return Response(content=found, media_type="application/json", headers={"Cache-Control": "no-store, private"})

    # --- lost link ---------------------------------------------------------------------------------

    @get("/find")
    async def find_form(self, request: Request[Any, Any, State]) -> Template:
        tenant_of(request)
        return Template("find.html", context={"sent": False, "errors": {}, "values": {}})

    @post("/find", status_code=200)
    async def find(self, request: Request[Any, Any, State]) -> Template:
        """The same answer, in the same time, whether a case matched or not: the lookup runs after the answer."""
        tenant = tenant_of(request)
        data = await request.form()
        reference = str(data.get("reference") or "").strip()[:100]
        email = str(data.get("email") or "").strip()[:300]
        errors = {}
        if not reference:
            errors["reference"] = _("Please enter the reference number of your request.")
        if "@" not in email:
            errors["email"] = _("Please enter the e-mail address you gave with your request.")
        if errors:
            values = {"reference": reference, "email": email}
            return Template("find.html", context={"sent": False, "errors": errors, "values": values}, status_code=422)
        await _limit_find(request, tenant, email)
        task = BackgroundTask(lookup.send_lost_link, request.app.state.db, tenant, reference, email)
        return Template("find.html", context={"sent": True, "errors": {}, "values": {}}, background=task)

    # --- was it solved? ----------------------------------------------------------------------------

    @post("/r/{token:str}/feedback")
    async def feedback(
        self, token: FromPath[str], request: Request[Any, Any, State], cases: NamedDependency[CaseService]
    ) -> Redirect:
        data = await request.form()
        answer = parse_answer(data.get("resolved"), data.get("rating"), data.get("comment"))
        await FeedbackService(cases).submit(token, answer)
        return Redirect(path=f"/r/{token}?feedback=thanks#feedback", status_code=303)


async def _limit_find(request: Request[Any, Any, State], tenant: TenantContext, email: str) -> None:
    """Both keys count every attempt, matched or not, so being slowed down tells nothing about a match."""
    limiter = request.app.state.limiter
    by_client = await limiter.hit(f"{tenant.id}:find:ip:{_client_ip(request)}", FIND_WINDOW)
    by_address = await limiter.hit(f"{tenant.id}:find:email:{lookup.email_key(email)}", FIND_WINDOW)
    if by_client > FIND_PER_CLIENT or by_address > FIND_PER_ADDRESS:
        raise TooManyRequests(
            _("You have asked for your link several times. Please wait an hour and try again."),
        )


class StaffFeedbackController(Controller):
    path = "/staff"
    dependencies = STAFF_CASE_DEPENDENCIES

    @get("/feedback")
    async def overview(self, staff: NamedDependency[StaffIdentity], cases: NamedDependency[CaseService]) -> Template:
        figures = await FeedbackService(cases).figures()
        return Template("staff/feedback.html", context={"staff": staff, "figures": figures})
