"""Open311 GeoReport v2 over the catalogue and the cases: what the API shows, and requests it creates.

A service's form fields become attributes; a case becomes a service request named by its reference. A
request posted here is a normal case: it goes through the citizen form's validation and the same
``CaseService.submit`` (inbox, timeline, receipt), so nothing about it is special afterwards.
"""

from __future__ import annotations

import datetime
import secrets
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Select, select

from backend.accounts.api_keys import ApiKeyService, KeyHolder
from backend.cases import workflow
from backend.cases.models import Case
from backend.cases.services import CaseService
from backend.cases.workflow import OPEN_STATUSES
from backend.catalogue.forms import validate
from backend.catalogue.models import Service
from backend.catalogue.schemas import Field, FormDefinition
from backend.catalogue.services import CatalogueService
from backend.core import i18n
from backend.core.errors import NotFound
from backend.core.i18n import gettext as _
from backend.core.i18n import translate_text
from backend.core.text import clean_text

# How the form's field types are offered as attributes; file and location fields are not attributes
# (files are `media_url`, the place is `lat`/`long`/`address_string`).
DATATYPES = {
    "text": "string",
    "email": "string",
    "phone": "string",
    "textarea": "text",
    "number": "number",
    "date": "datetime",
    "choice": "singlevaluelist",
    "multichoice": "multivaluelist",
    "consent": "singlevaluelist",
}
# The specification's defaults for GET requests: the last 90 days, at most 1000 requests.
DEFAULT_DAYS = 90
MAX_REQUESTS = 1000
# Cases made here carry a key of this form (a case's idempotency key); it is the request's `token`.
TOKEN_PREFIX = "o311-"
# Answers no form field can have as its name (field names start with a letter): what else the client sent.
EXTRA_KEY = "_open311"
MAX_EXTRA = 1000  # characters kept of each
EXTRA_PARAMS = ("first_name", "last_name", "email", "phone", "description", "media_url", "device_id", "account_id")


class Open311Error(Exception):
    """An answer in the specification's error shape: the status and one or more (code, description)."""

    def __init__(self, status: int, *descriptions: str) -> None:
        super().__init__(descriptions[0] if descriptions else "")
        self.status = status
        self.descriptions = list(descriptions) or [""]


def first(params: Any, name: str) -> str:
    """A parameter's value; an empty parameter is an absent one."""
    value = params.get(name)
    return clean_text(value).strip() if isinstance(value, str) else ""


def parse_datetime(raw: str, name: str, timezone: str) -> datetime.datetime:
    try:
        value = datetime.datetime.fromisoformat(raw.replace(" ", "+") if "T" in raw else raw)
    except ValueError:
        raise Open311Error(400, f"{name} is not an ISO 8601 date and time, e.g. 2026-12-24T10:00:00+01:00") from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=ZoneInfo(timezone))
    return value


def iso(value: datetime.datetime | None, timezone: str) -> str | None:
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=datetime.UTC)
    return value.astimezone(ZoneInfo(timezone)).isoformat(timespec="seconds")


def attributes_of(definition: FormDefinition) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for order, f in enumerate((f for f in definition.fields if f.type in DATATYPES), start=1):
        attribute: dict[str, Any] = {
            "variable": True,
            "code": f.name,
            "datatype": DATATYPES[f.type],
            "required": f.required and f.show_if is None,
            "datatype_description": translate_text(f.help) or None,
            "order": order,
            "description": translate_text(f.label),
        }
        if f.type in ("choice", "multichoice"):
            attribute["values"] = [{"key": o.value, "name": translate_text(o.label)} for o in f.options]
        elif f.type == "consent":
            attribute["values"] = [{"key": "yes", "name": _("Yes")}, {"key": "no", "name": _("No")}]
        out.append(attribute)
    return out


@dataclass
class RequestQuery:
    ids: list[str] = field(default_factory=list)
    service_codes: list[str] = field(default_factory=list)
    start: datetime.datetime | None = None
    end: datetime.datetime | None = None
    statuses: list[str] = field(default_factory=list)


def parse_query(params: Any, timezone: str) -> RequestQuery:
    """The filters of GET requests; each may be a comma-separated list, an empty one counts as absent."""
    query = RequestQuery()
    query.ids = _list(first(params, "service_request_id"))
    if query.ids:
        return query  # the specification: a list of ids ignores every other filter
    query.service_codes = _list(first(params, "service_code"))
    for name in ("start_date", "end_date"):
        raw = first(params, name)
        if raw:
            setattr(query, name.split("_")[0], parse_datetime(raw, name, timezone))
    query.statuses = [s.lower() for s in _list(first(params, "status"))]
    unknown = [s for s in query.statuses if s not in ("open", "closed")]
    if unknown:
        raise Open311Error(400, f"status must be open or closed, not {unknown[0]!r}")
    if query.start and query.end and query.start > query.end:
        raise Open311Error(400, "start_date is after end_date")
    if query.start is None and query.end is None:
        query.start = datetime.datetime.now(datetime.UTC) - datetime.timedelta(days=DEFAULT_DAYS)
    return query


def _list(raw: str) -> list[str]:
    return [part.strip() for part in raw.split(",") if part.strip()][:MAX_REQUESTS]


class Open311Service:
    def __init__(self, cases: CaseService) -> None:
        self.cases = cases
        self.session = cases.session
        self.tenant = cases.tenant
        self.catalogue = CatalogueService(cases.session, cases.tenant)

    # --- keys ------------------------------------------------------------------------------------------

    async def key_holder(self, secret: str) -> KeyHolder | None:
        """The holder of the api_key given; Open311Error 403 for a key that is not a valid key of this town."""
        if not secret:
            return None
        holder = await ApiKeyService(self.session, self.tenant).authenticate(secret)
        if holder is None:
            raise Open311Error(403, "api_key is not valid for this jurisdiction")
        return holder

    # --- services --------------------------------------------------------------------------------------

    async def services(self) -> list[dict[str, Any]]:
        out = []
        for s in await self.catalogue.list_services():
            if s.current_form_id is None:
                continue
            definition = await self.catalogue.definition_of(s.current_form_id)
            out.append(
                {
                    "service_code": s.slug,
                    "service_name": translate_text(s.name),
                    "description": translate_text(s.summary) or None,
                    "metadata": bool(attributes_of(definition)),
                    "type": "realtime",
                    "keywords": ", ".join(s.keywords.split()) or None,
                    "group": translate_text(s.category) or None,
                }
            )
        return out

    async def definition(self, service_code: str) -> dict[str, Any]:
        try:
            _service, _version, definition = await self.catalogue.form_for(service_code)
        except NotFound:
            raise Open311Error(404, f"service_code {service_code!r} not found") from None
        return {"service_code": service_code, "attributes": attributes_of(definition)}

    # --- requests --------------------------------------------------------------------------------------

    async def requests(self, query: RequestQuery, *, full: bool) -> list[dict[str, Any]]:
        statement: Select[Any] = select(Case, Service).join(Service, Service.id == Case.service_id)
        if query.ids:
            statement = statement.where(Case.reference.in_(query.ids))
        if query.service_codes:
            statement = statement.where(Service.slug.in_(query.service_codes))
        if query.start is not None:
            statement = statement.where(Case.created_at >= query.start)
        if query.end is not None:
            statement = statement.where(Case.created_at <= query.end)
        if query.statuses and set(query.statuses) != {"open", "closed"}:
            if query.statuses[0] == "open":
                statement = statement.where(Case.status.in_(OPEN_STATUSES))
            else:
                statement = statement.where(Case.status.not_in(OPEN_STATUSES))
        statement = statement.order_by(Case.created_at.desc(), Case.id.desc()).limit(MAX_REQUESTS)
        rows = (await self.session.execute(statement)).all()
        return [await self._request(case, service, full=full) for case, service in rows]

    async def request(self, reference: str, *, full: bool) -> dict[str, Any]:
        found = await self.requests(RequestQuery(ids=[reference]), full=full)
        if not found:
            raise Open311Error(404, f"service_request_id {reference!r} not found")
        return found[0]

    async def token(self, token: str) -> dict[str, Any]:
        reference = None
        if token.startswith(TOKEN_PREFIX):  # citizens' own keys are never a token here
            case = await self.cases.find_by_idempotency_key(token)
            reference = case.reference if case is not None else None
        if reference is None:
            raise Open311Error(404, "token not found")
        return {"service_request_id": reference, "token": token}

    async def _request(self, case: Case, service: Service, *, full: bool) -> dict[str, Any]:
        """One service request. Without a read key only what says nothing about a person: no text, no place."""
        tz = self.tenant.timezone
        location = case.location or {}
        extra = (case.answers or {}).get(EXTRA_KEY) or {}
        description = None
        if full:
            definition = await self.catalogue.definition_of(case.form_version_id)
            description = _description(definition, case.answers or {}) or extra.get("description")
        return {
            "service_request_id": case.reference,
            "status": "open" if case.status in OPEN_STATUSES else "closed",
            "status_notes": _status_note(case.status),
            "service_name": translate_text(service.name),
            "service_code": service.slug,
            "description": description,
            "agency_responsible": self.tenant.name,
            "service_notice": None,
            "requested_datetime": iso(case.created_at, tz),
            "updated_datetime": iso(case.updated_at, tz),
            "expected_datetime": iso(case.due_at, tz),
            "address": (location.get("address") or None) if full else None,
            "address_id": None,
            "zipcode": None,
            "lat": location.get("lat") if full else None,
            "long": location.get("lon") if full else None,
            "media_url": (extra.get("media_url") or None) if full else None,
        }

    # --- creating a request ----------------------------------------------------------------------------

    async def create(self, params: Any, holder: KeyHolder) -> dict[str, Any]:
        service_code = first(params, "service_code")
        if not service_code:
            raise Open311Error(400, "service_code is required")
        try:
            service, version, definition = await self.catalogue.form_for(service_code)
        except NotFound:
            raise Open311Error(404, f"service_code {service_code!r} not found") from None
        values, used = _values(definition, params)
        result = validate(definition, values, {})
        if not result.ok:
            raise Open311Error(
                400, *(f"{_parameter(definition, name, used)}: {m}" for name, m in result.errors.items())
            )
        answers = dict(result.answers)
        extra = {p: first(params, p)[:MAX_EXTRA] for p in EXTRA_PARAMS if p not in used and first(params, p)}
        extra["api_key"] = holder.name
        answers[EXTRA_KEY] = extra
        token = TOKEN_PREFIX + secrets.token_urlsafe(18)
        case, _created = await self.cases.submit(service, version, answers, token, i18n.get_language(), definition)
        return {
            "service_request_id": case.reference,
            "token": token,
            "service_notice": None,
            "account_id": first(params, "account_id") or None,
        }


def _description(definition: FormDefinition, answers: dict[str, Any]) -> str | None:
    for kind in ("textarea", "text"):
        for f in definition.fields:
            value = answers.get(f.name)
            if f.type == kind and isinstance(value, str) and value.strip():
                return value
    return None


def _status_note(status: str) -> str:
    return workflow.label(status)


def _values(definition: FormDefinition, params: Any) -> tuple[dict[str, Any], dict[str, str]]:
    """The form's raw values from the request: attribute[CODE] (multivaluelist: attribute[CODE][] or the
    attribute repeated), the place from lat/long/address_string, and the standard parameters for fields
    that were not given as attributes. Returns the values and which field took which standard parameter."""
    values: dict[str, Any] = {}
    used: dict[str, str] = {}  # parameter -> field name
    for f in definition.fields:
        name = f"attribute[{f.name}]"
        given = [
            clean_text(v) for v in [*params.getall(name, []), *params.getall(f"{name}[]", [])] if isinstance(v, str)
        ]
        given = [v for v in given if v.strip()]
        if f.type == "multichoice":
            values[f.name] = [v.strip() for v in given]
        elif f.type == "location":
            lat, lon = first(params, "lat"), first(params, "long")
            if bool(lat) != bool(lon):
                raise Open311Error(400, "lat and long are required together")
            values[f.name] = {"lat": lat, "lon": lon, "address": first(params, "address_string"), "description": ""}
            used.update({"lat": f.name, "long": f.name, "address_string": f.name})
        elif f.type == "file":
            continue
        else:
            if len(given) > 1:
                raise Open311Error(400, f"{name} takes one value")
            if not given:
                standard = _standard_parameter(f, used)
                if standard and first(params, standard):
                    used[standard] = f.name
                    given = [first(params, standard)]
            values[f.name] = given[0].strip() if given else ""
    return values, used


def _standard_parameter(f: Field, used: dict[str, str]) -> str | None:
    """The standard parameter that fills a field not given as an attribute (each fills one field only)."""
    if f.type == "email" and f.contact and "email" not in used:
        return "email"
    if f.type == "phone" and "phone" not in used:
        return "phone"
    if f.type == "textarea" and "description" not in used:
        return "description"
    return None


def _parameter(definition: FormDefinition, field_name: str, used: dict[str, str]) -> str:
    """The parameter a client sent (or should send) for a field, to name it in an error."""
    f = definition.field(field_name)
    if f is not None and f.type == "location":
        return "lat/long or address_string"
    for parameter, name in used.items():
        if name == field_name:
            return parameter
    return f"attribute[{field_name}]"
