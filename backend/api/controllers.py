"""The JSON API at /api/v1 on every municipality's host, described by the OpenAPI document at
/schema/openapi.json and explained on the page /api.

A request carries a key of the municipality (``Authorization: Bearer <key>``, made by its admins); reading needs
the ``read`` scope, changing the ``write`` scope. There are no cookies here, so no CSRF token either (see
CSRF_EXEMPT in backend/app.py). Every error is an RFC 9457 problem document (backend/core/errors.py).
"""

from __future__ import annotations

import datetime
from typing import Annotated, Any, Literal

import msgspec
from litestar import Request, Router, get, post
from litestar.connection import ASGIConnection
from litestar.datastructures import CacheControlHeader, State
from litestar.di import NamedDependency, Provide
from litestar.exceptions import (
    NotAuthorizedException,
    PermissionDeniedException,
    TooManyRequestsException,
    ValidationException,
)
from litestar.handlers.base import BaseRouteHandler
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import Components, SecurityRequirement, SecurityScheme
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter
from litestar.response import Template

from backend.accounts.api_keys import ApiKeyService, KeyHolder
from backend.api.services import ApiService, CaseDetail, CaseList, NewMessage, Service, StatusChange
from backend.cases import workflow
from backend.cases.controllers import provide_cases
from backend.cases.conversation import MAX_MESSAGE
from backend.cases.services import CaseService, MessageRequired
from backend.core.db import tenant_session
from backend.core.errors import Conflict, RathausError
from backend.core.i18n import gettext as _
from backend.core.tenancy import tenant_of
from backend.inbox.services import DUE_FILTERS, SORTS, InboxFilter

# Requests one key may make per minute, reading and changing.
READS_PER_MINUTE = 600
WRITES_PER_MINUTE = 120
WINDOW_SECONDS = 60
BEARER = "bearer"

SECURITY_COMPONENTS = Components(
    security_schemes={
        BEARER: SecurityScheme(
            type="http",
            scheme="bearer",
            description="A key of the municipality, made by its administrators (scopes: read, write).",
        )
    }
)


class MessageMissing(RathausError):
    status_code = 422


class Problem(msgspec.Struct):
    """An error (RFC 9457)."""

    status: int
    title: str
    detail: str
    type: str | None = None


def _problems(*codes: int) -> dict[int, ResponseSpec]:
    reasons = {
        400: "malformed request",
        401: "no valid key of this municipality",
        403: "the key lacks the scope",
        404: "no such case",
        409: "the service's workflow does not allow this status now",
        422: "this status needs a message",
        429: "the key's limit per minute is reached",
    }
    return {
        code: ResponseSpec(
            data_container=Problem,
            description=reasons[code],
            media_type="application/problem+json",
            generate_examples=False,
        )
        for code in codes
    }


READ_ERRORS = _problems(400, 401, 403, 429)
CASE_ERRORS = _problems(400, 401, 403, 404, 429)
CHANGE_ERRORS = _problems(400, 401, 403, 404, 409, 422, 429)


Status = Literal[workflow.STATUSES]  # type: ignore[valid-type]
Sort = Literal[SORTS]  # type: ignore[valid-type]
Due = Literal[DUE_FILTERS]  # type: ignore[valid-type]


async def require_key(connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler) -> None:
    """Every route's guard: a valid key of the host's municipality with the route's scope (``opt["scope"]``),
    within its limit per minute. Checked before the body is read, so a request without a key learns nothing
    about its body."""
    tenant = tenant_of(connection)
    scope = handler.opt.get("scope", "read")
    kind, _space, secret = connection.headers.get("authorization", "").partition(" ")
    holder = None
    if kind.lower() == "bearer" and secret.strip():
        async with tenant_session(connection.app.state.db, tenant.id) as session:
            holder = await ApiKeyService(session, tenant).authenticate(secret.strip())
    if holder is None:
        raise NotAuthorizedException(
            "A valid key of this municipality is needed: Authorization: Bearer <key>",
            headers={"WWW-Authenticate": 'Bearer realm="rathaus"'},
        )
    if scope not in holder.scopes:
        raise PermissionDeniedException(f"This key has no {scope} scope.")
    limit = READS_PER_MINUTE if scope == "read" else WRITES_PER_MINUTE
    used = await connection.app.state.limiter.hit(f"{tenant.id}:api:{scope}:{holder.id}", WINDOW_SECONDS)
    if used > limit:
        raise TooManyRequestsException(
            f"This key made more than {limit} {scope} requests in a minute. Please wait.",
            headers={"Retry-After": str(WINDOW_SECONDS)},
        )
    connection.state.api_key_holder = holder


async def provide_holder(request: Request[Any, Any, State]) -> KeyHolder:
    return request.state.api_key_holder  # type: ignore[no-any-return]


async def provide_api(cases: NamedDependency[CaseService]) -> ApiService:
    return ApiService(cases)


SECURITY: list[SecurityRequirement] = [{BEARER: []}]


@get("/services", security=SECURITY, responses=READ_ERRORS, tags=["services"], summary="The municipality's services")
async def list_services(holder: NamedDependency[KeyHolder], api: NamedDependency[ApiService]) -> list[Service]:
    return await api.services()


@get("/cases", security=SECURITY, responses=READ_ERRORS, tags=["cases"], summary="Cases, a page at a time")
async def list_cases(
    holder: NamedDependency[KeyHolder],
    api: NamedDependency[ApiService],
    status: FromQuery[Status | None] = None,
    service: Annotated[str | None, QueryParameter(description="a service's slug", max_length=80)] = None,
    q: Annotated[str | None, QueryParameter(description="words of the reference, answers, messages or place")] = None,
    replied: Annotated[
        bool, QueryParameter(description="only cases with a reply of the citizen's no clerk saw")
    ] = False,
    due: FromQuery[Due | None] = None,
    date_from: Annotated[datetime.date | None, QueryParameter(name="from", description="received on or after")] = None,
    date_to: Annotated[datetime.date | None, QueryParameter(name="to", description="received on or before")] = None,
    assignee: Annotated[str | None, QueryParameter(description='"none" or a person\'s id', max_length=80)] = None,
    department: Annotated[str | None, QueryParameter(description="a department's id", max_length=80)] = None,
    priority: FromQuery[Literal["low", "normal", "high", "urgent"] | None] = None,
    sort: FromQuery[Sort] = "newest",
    after: Annotated[str | None, QueryParameter(description="the previous page's `next`", max_length=200)] = None,
) -> CaseList:
    """Newest first unless ``sort`` says otherwise; 50 cases a page, the next page by ``after``."""
    if date_from and date_to and date_from > date_to:
        raise ValidationException("'to' must not be before 'from'.")
    flt = InboxFilter.parse(
        {
            "status": status or "",
            "service": service or "",
            "q": q or "",
            "replied": "1" if replied else "",
            "due": due or "",
            "from": date_from.isoformat() if date_from else "",
            "to": date_to.isoformat() if date_to else "",
            "assignee": assignee or "",
            "department": department or "",
            "priority": priority or "",
            "sort": sort,
            "after": after or "",
        }
    )
    if flt.errors:  # dates of a year no request can have
        raise ValidationException(" ".join(f"{name}: {error}" for name, error in flt.errors.items()))
    return await api.cases_page(flt)


@get("/cases/{reference:str}", security=SECURITY, responses=CASE_ERRORS, tags=["cases"], summary="One case")
async def get_case(
    holder: NamedDependency[KeyHolder], api: NamedDependency[ApiService], reference: FromPath[str]
) -> CaseDetail:
    """The case with its answers and its whole timeline (``public``: what the citizen sees)."""
    return await api.case(reference)


@post(
    "/cases/{reference:str}/status",
    opt={"scope": "write"},
    security=SECURITY,
    tags=["cases"],
    summary="Change a case's status",
    responses=CHANGE_ERRORS,
    status_code=200,
)
async def change_status(
    holder: NamedDependency[KeyHolder],
    api: NamedDependency[ApiService],
    reference: FromPath[str],
    data: JSONBody[StatusChange],
) -> CaseDetail:
    """As a clerk does in the inbox: the service's workflow decides which statuses may follow (409 otherwise) and
    which need a message (422 without one); the citizen is notified."""
    if data.status not in workflow.STATUSES:
        raise ValidationException(f"Unknown status {data.status[:40]!r}; known: {', '.join(workflow.STATUSES)}.")
    if len(data.message) > MAX_MESSAGE:
        raise ValidationException(f"The message is too long (at most {MAX_MESSAGE} characters).")
    try:
        await api.change_status(reference, data, holder)
    except MessageRequired:
        raise MessageMissing(f"The status {data.status!r} needs a message to the citizen.") from None
    except Conflict:
        raise Conflict(f"This service's workflow does not allow the status {data.status!r} now.") from None
    return await api.case(reference)


@post(
    "/cases/{reference:str}/messages",
    opt={"scope": "write"},
    security=SECURITY,
    tags=["cases"],
    summary="Send the citizen a message",
    responses=CASE_ERRORS,
    status_code=201,
)
async def add_message(
    holder: NamedDependency[KeyHolder],
    api: NamedDependency[ApiService],
    reference: FromPath[str],
    data: JSONBody[NewMessage],
) -> CaseDetail:
    """A public message on the case's timeline; the citizen is notified."""
    if not data.body.strip() or len(data.body) > MAX_MESSAGE:
        raise ValidationException(f"The body must hold 1 to {MAX_MESSAGE} characters.")
    await api.add_message(reference, data, holder)
    return await api.case(reference)


def _endpoints() -> list[tuple[str, str, str, str]]:
    """(method, path, what it does, the JSON body it takes) for the documentation page."""
    return [
        ("GET", "/api/v1/services", _("The municipality's services."), ""),
        (
            "GET",
            "/api/v1/cases",
            _(
                "Cases, 50 a page, with the inbox's filters (status, service, q, replied, due, from, to, assignee, "
                "department, priority), sort (newest, oldest, due, activity) and the next page by after."
            ),
            "",
        ),
        ("GET", "/api/v1/cases/{reference}", _("One case with its answers and its timeline."), ""),
        ("POST", "/api/v1/cases/{reference}/status", _("Change the status."), '{"status": …, "message": …}'),
        ("POST", "/api/v1/cases/{reference}/messages", _("Send the citizen a message."), '{"body": …}'),
    ]


@get("/api", include_in_schema=False)
async def api_docs(request: Request[Any, Any, State]) -> Template:
    """The API's documentation page, for people."""
    tenant_of(request)  # on a municipality's host only
    settings = request.app.state.settings
    origin = f"{'https' if settings.https else request.url.scheme}://{request.url.netloc}"
    return Template("api.html", context={"endpoints": _endpoints(), "origin": origin})


def api_router() -> Router:
    return Router(
        path="/api/v1",
        route_handlers=[list_services, list_cases, get_case, change_status, add_message],
        dependencies={"cases": Provide(provide_cases), "api": Provide(provide_api), "holder": Provide(provide_holder)},
        guards=[require_key],
        include_in_schema=True,
        cache_control=CacheControlHeader(no_store=True),
    )
