"""The one exception tree, and the handlers that turn errors into pages (people) or problem details (APIs).

RathausError
├── NotFound            404  unknown service, case, tracking token or host
├── Forbidden           403  not allowed here
├── BadRequest          400  a request the app cannot understand
├── Conflict            409  the change does not fit the current state (e.g. a forbidden transition)
├── RequestTimeout      408  a request body that stopped arriving
├── PayloadTooLarge     413  an upload over the limits
├── LoginRequired       401  a staff page without a staff login
├── SecondFactorRequired 403 a staff login without the required second factor (sent to set it up)
├── TooManyRequests     429  slowed down after repeated failures
└── Unavailable         503  a municipality switched off by the platform operator
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import quote

from litestar import Request, Response
from litestar.exceptions import HTTPException
from litestar.plugins.problem_details import ProblemDetailsException
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR

from backend.core.i18n import gettext as _
from backend.core.i18n import lazy

log = logging.getLogger("rathaus")


class RathausError(Exception):
    status_code = 500

    def __init__(self, detail: str = "", **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = extra


class NotFound(RathausError):
    status_code = 404


class Forbidden(RathausError):
    status_code = 403


class BadRequest(RathausError):
    status_code = 400


class Conflict(RathausError):
    status_code = 409


class RequestTimeout(RathausError):
    status_code = 408


class PayloadTooLarge(RathausError):
    status_code = 413


class TooManyRequests(RathausError):
    status_code = 429


class Unavailable(RathausError):
    status_code = 503


class LoginRequired(RathausError):
    """Staff pages without a staff login: people are sent to the login page, APIs get a 401."""

    status_code = 401


class SecondFactorRequired(RathausError):
    """A staff login without the second factor the platform requires: sent to set it up first."""

    status_code = 403


SECOND_FACTOR_PAGE = "/staff/account/two-factor"


TITLES = {
    400: lazy("The request could not be understood"),
    401: lazy("Please log in"),
    403: lazy("Access denied"),
    404: lazy("Page not found"),
    405: lazy("This action is not possible here"),
    408: lazy("The request took too long"),
    409: lazy("This change is not possible right now"),
    413: lazy("The upload is too large"),
    429: lazy("Too many attempts"),
    500: lazy("Something went wrong on our side"),
    503: lazy("This service is not available"),
}

EXPLANATIONS = {
    400: lazy("Please go back and try again."),
    403: lazy("The form has expired or this action is not allowed. Please go back, reload the page and try again."),
    404: lazy("The address may be mistyped, or the page no longer exists."),
    405: lazy("Please go back and use the buttons on the page."),
    408: lazy("The connection was too slow. Please check your connection and try again."),
    409: lazy("Please reload the page to see the current state."),
    413: lazy(
        "Your photos or files are larger than we can accept. Please choose smaller files, "
        "or fewer at once, and try again."
    ),
    429: lazy("Please wait a moment before you try again."),
    500: lazy("Please try again in a few minutes. Nothing you entered was saved by this attempt."),
    503: lazy("This address currently offers no services."),
}


def wants_problem_details(request: Request[Any, Any, Any]) -> bool:
    path = request.scope.get("path", "")
    if path.startswith(("/api/", "/push/")):
        return True
    accept = request.headers.get("accept", "")
    return "application/json" in accept and "text/html" not in accept


def _route(request: Request[Any, Any, Any]) -> str:
    """The route template of the request (``/r/{token}``) for logs: the path itself may carry a private token."""
    return str(request.scope.get("path_template") or "(no route)")


def exception_to_response(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    from backend.core.tenancy import replace_malformed_host  # tenancy raises these errors: import late

    # The router's own 404/405 come here without passing the tenancy check: the page needs a sound Host.
    replace_malformed_host(request.scope, "localhost")
    if request.scope.get("path", "").startswith("/open311/"):
        # The router's own 404/405 under the Open311 API: in its specification's shape (its routes' own errors
        # are answered by its router).
        from backend.open311.controllers import error_answer

        return error_answer(request, exc)
    if isinstance(exc, RathausError):
        status, detail, headers = exc.status_code, exc.detail, {}
    elif isinstance(exc, HTTPException):
        status, detail, headers = exc.status_code, "", dict(exc.headers or {})
        if status == 400 and exc.extra:  # parameter validation, e.g. a malformed query value
            detail = str(exc.detail)
        elif request.scope.get("path", "").startswith("/api/") and exc.detail:
            detail = str(exc.detail)  # the JSON API's own messages (backend/api), for the developers calling it
    elif isinstance(exc, UnicodeDecodeError | RecursionError):
        # Bytes that are not UTF-8 in a form field or body, or JSON nested thousands deep: the client's
        # mistake, wherever it is decoded.
        log.info("malformed request body on %s %s: %s", request.method, _route(request), type(exc).__name__)
        status, detail, headers = 400, "", {}
    else:
        log.exception("unhandled error on %s %s", request.method, _route(request), exc_info=exc)
        status, detail, headers = HTTP_500_INTERNAL_SERVER_ERROR, "", {}
    if status >= 500 and not isinstance(exc, Exception):  # pragma: no cover
        status = 500
    if status == 408:
        # The rest of the body may still be on its way: this connection cannot carry another request.
        headers["Connection"] = "close"
    if isinstance(exc, LoginRequired) and not wants_problem_details(request):
        query = request.scope.get("query_string", b"").decode("latin-1")
        target = request.scope.get("path", "") + (f"?{query}" if query else "")
        # A page address longer than any link of ours is not worth keeping (and would make the Location header
        # longer than clients accept).
        target = quote(target if len(target) <= 2000 else "/staff", safe="")
        return Redirect(path=f"/staff/login?next={target}", status_code=303)
    if isinstance(exc, SecondFactorRequired) and not wants_problem_details(request):
        return Redirect(path=SECOND_FACTOR_PAGE, status_code=303)
    title = _(TITLES.get(status, TITLES[500] if status >= 500 else TITLES[400]))
    request.state.setdefault("tenant", None)
    if wants_problem_details(request):
        return ProblemDetailsException(
            detail=detail or title, status_code=status, title=title, headers=headers
        ).to_response(request)
    explanation = detail or _(EXPLANATIONS.get(status, EXPLANATIONS[400]))
    return Template(
        template_name="error.html",
        context={"status": status, "title": title, "explanation": explanation},
        status_code=status,
        headers={**headers, "Cache-Control": "no-store"},
    )


exception_handlers: dict[type[Exception] | int, Any] = {
    RathausError: exception_to_response,
    HTTPException: exception_to_response,
    Exception: exception_to_response,
}
