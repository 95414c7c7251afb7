"""GeoReport v2 on every municipality's host: /open311/discovery.json and /open311/v2/... in JSON and XML.

Reading needs no key (without a key with the read scope a request shows nothing about a person: no text,
no place); creating a request needs an api_key with the write scope. There are no cookies here, so there
is no CSRF token either (see CSRF_EXEMPT in backend/app.py): the key in the request is the authority.
Errors always come in the specification's shape (see ``error_answer``), in the format the path asks for.
"""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, Router, get, post
from litestar.datastructures import MultiDict, State
from litestar.di import NamedDependency, Provide
from litestar.exceptions import HTTPException
from litestar.params import FromPath

from backend.accounts.api_keys import KeyHolder
from backend.cases.controllers import provide_cases
from backend.cases.services import CaseService
from backend.core.errors import RathausError, log
from backend.core.tenancy import tenant_of
from backend.open311 import formats
from backend.open311.services import Open311Error, Open311Service, first, parse_query

# The date of the last change of what this API offers (discovery's `changeset`).
CHANGESET = "2026-12-06T00:00:00Z"
SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"
# Requests one client (a key, or an address without one) may make to one municipality per minute.
READS_PER_MINUTE = 120
WRITES_PER_MINUTE = 30
WINDOW_SECONDS = 60


def error_answer(request: Request[Any, Any, Any], exc: Exception) -> Response[bytes]:
    """Every error of these routes in the specification's shape; a server error stays one, but in that shape."""
    fmt = formats.format_of(request.scope.get("path", ""))
    headers: dict[str, str] = {}
    if isinstance(exc, Open311Error):
        status, descriptions = exc.status, exc.descriptions
    elif isinstance(exc, RathausError):
        status, descriptions = exc.status_code, [exc.detail or _reason(exc.status_code)]
    elif isinstance(exc, HTTPException):
        status, headers = exc.status_code, dict(exc.headers or {})
        descriptions = [str(exc.detail) if exc.status_code == 400 and exc.detail else _reason(status)]
    elif isinstance(exc, UnicodeDecodeError | ValueError | RecursionError):
        status, descriptions = 400, ["the request could not be read (form-encoded UTF-8 expected)"]
    else:
        log.exception("unhandled error on %s %s", request.method, request.scope.get("path"), exc_info=exc)
        status, descriptions = 500, [_reason(500)]
    return formats.error_response(fmt, status, descriptions, headers)


def _reason(status: int) -> str:
    return {
        400: "bad request",
        403: "forbidden",
        404: "not found",
        405: "method not allowed",
        408: "request timeout",
        413: "request too large",
        429: "too many requests: please wait a minute",
    }.get(status, "server error")


async def provide_open311(cases: NamedDependency[CaseService]) -> Open311Service:
    return Open311Service(cases)


def _check_jurisdiction(request: Request[Any, Any, Any], params: Any) -> None:
    jurisdiction = first(params, "jurisdiction_id")
    if jurisdiction and jurisdiction != tenant_of(request).slug:
        raise Open311Error(404, f"jurisdiction_id {jurisdiction!r} not found on this host")


async def _limit(request: Request[Any, Any, State], who: str, per_minute: int, kind: str) -> None:
    tenant = tenant_of(request)
    used = await request.app.state.limiter.hit(f"{tenant.id}:open311:{kind}:{who}", WINDOW_SECONDS)
    if used > per_minute:
        raise Open311Error(429, "too many requests: please wait a minute")


def _client(request: Request[Any, Any, Any]) -> str:
    return request.client.host if request.client else ""


async def _reader(request: Request[Any, Any, State], open311: Open311Service, params: Any) -> KeyHolder | None:
    """Jurisdiction, rate limit and the optional key of a read."""
    _check_jurisdiction(request, params)
    await _limit(request, _client(request), READS_PER_MINUTE, "read")
    return await open311.key_holder(first(params, "api_key"))


def _name_and_format(name: str) -> tuple[str, str]:
    value, fmt = formats.split_format(name)
    if fmt is None or not value:
        raise Open311Error(404, "not found: the address ends in .json or .xml")
    return value, fmt


@get("/discovery.json")
async def discovery(request: Request[Any, Any, State]) -> Response[bytes]:
    tenant = tenant_of(request)
    _check_jurisdiction(request, request.query_params)
    settings = request.app.state.settings
    origin = f"{'https' if settings.https else request.url.scheme}://{request.url.netloc}"
    document = {
        "changeset": CHANGESET,
        "contact": tenant.name,
        "key_service": "API keys are made by the municipality's administrators (Administration, API keys).",
        "endpoints": [
            {
                "specification": SPECIFICATION,
                "url": f"{origin}/open311/v2",
                "changeset": CHANGESET,
                "type": "production",
                "formats": ["application/json", "text/xml"],
            }
        ],
    }
    return formats.respond("json", "discovery", document)


@get(["/v2/services.json", "/v2/services.xml"])
async def services(request: Request[Any, Any, State], open311: NamedDependency[Open311Service]) -> Response[bytes]:
    await _reader(request, open311, request.query_params)
    return formats.respond(formats.format_of(request.url.path), "services", await open311.services())


@get("/v2/services/{service_file:str}")
async def service_definition(
    request: Request[Any, Any, State], service_file: FromPath[str], open311: NamedDependency[Open311Service]
) -> Response[bytes]:
    code, fmt = _name_and_format(service_file)
    await _reader(request, open311, request.query_params)
    return formats.respond(fmt, "service_definition", await open311.definition(code))


@get(["/v2/requests.json", "/v2/requests.xml"])
async def requests(request: Request[Any, Any, State], open311: NamedDependency[Open311Service]) -> Response[bytes]:
    params = request.query_params
    holder = await _reader(request, open311, params)
    query = parse_query(params, tenant_of(request).timezone)
    found = await open311.requests(query, full=holder is not None and "read" in holder.scopes)
    return formats.respond(formats.format_of(request.url.path), "service_requests", found)


@get("/v2/requests/{request_file:str}")
async def one_request(
    request: Request[Any, Any, State], request_file: FromPath[str], open311: NamedDependency[Open311Service]
) -> Response[bytes]:
    reference, fmt = _name_and_format(request_file)
    holder = await _reader(request, open311, request.query_params)
    found = await open311.request(reference, full=holder is not None and "read" in holder.scopes)
    return formats.respond(fmt, "service_requests", [found])


@get("/v2/tokens/{token_file:str}")
async def token(
    request: Request[Any, Any, State], token_file: FromPath[str], open311: NamedDependency[Open311Service]
) -> Response[bytes]:
    value, fmt = _name_and_format(token_file)
    await _reader(request, open311, request.query_params)
    return formats.respond(fmt, "service_requests", [await open311.token(value)])


@post(["/v2/requests.json", "/v2/requests.xml"], status_code=201)
async def create_request(
    request: Request[Any, Any, State], open311: NamedDependency[Open311Service]
) -> Response[bytes]:
    fmt = formats.format_of(request.url.path)
    form = await request.form()
    # The body's parameters first; a client may also put api_key or jurisdiction_id in the address.
    params = MultiDict([*form.multi_items(), *request.query_params.multi_items()])
    _check_jurisdiction(request, params)
    if not first(params, "api_key"):
        raise Open311Error(403, "api_key is required to create a request")
    # Per address before the key is looked up (guessing keys costs), then per key.
    await _limit(request, _client(request), WRITES_PER_MINUTE, "write")
    holder = await open311.key_holder(first(params, "api_key"))
    assert holder is not None
    if "write" not in holder.scopes:
        raise Open311Error(403, "this api_key may not create requests (it has no write scope)")
    await _limit(request, str(holder.id), WRITES_PER_MINUTE, "key")
    created = await open311.create(params, holder)
    return formats.respond(fmt, "service_requests", [created], status=201)


def open311_router() -> Router:
    return Router(
        path="/open311",
        route_handlers=[discovery, services, service_definition, requests, one_request, token, create_request],
        dependencies={"cases": Provide(provide_cases), "open311": Provide(provide_open311)},
        exception_handlers={Exception: error_answer},
        include_in_schema=False,
    )
