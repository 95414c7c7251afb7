"""No input is answered with a server error: every form the pages render is sent back with odd values, all of its
fields at once and one field at a time, and every GET route is called with odd query parameters.

The forms are read from the pages themselves, so a form added later is covered without anyone listing it.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any

import pytest
import pytest_asyncio

from tests.integration.core.routes import GET_ENDPOINTS, Endpoint, World, fill
from tests.integration.core.test_route_table import no_login_delays  # noqa: F401  (no delays after failed logins)

pytestmark = pytest.mark.asyncio(loop_scope="module")

# What people and programs send: empty and blank, far too long, numbers out of range and not numbers, impossible
# dates, control characters (PostgreSQL refuses NUL in text), bidi controls, markup, other scripts' digits, a path,
# a nil UUID, JSON where text belongs, a lone percent sign and a header injection.
ODD = [
    "",
    " ",
    "x" * 70_000,
    "-1",
    "99999999999999999999999999",
    "1e309",
    "NaN",
    "2026-02-30",
    "99999-01-01",
    "2026-12-07T25:61",
    "\x00",
    "a\x00b",
    "\u202e\ufeff",
    "<script>",
    "ü" * 3000,
    "²²²²²²",
    "١٢٣٤٥٦",
    "../../etc/passwd",
    "00000000-0000-0000-0000-000000000000",
    "[]",
    "%",
    "\r\nX: y",
]
# One field at a time, the others as the page filled them in: fewer values, as there are many more requests.
FEW = ["", "x" * 70_000, "-1", "99999999999999999999", "2026-02-30", "\x00", "²", "١٢٣", "ü" * 300, "[]"]
# Query parameters the pages read, and others a person or a crawler may add.
PARAMS = [
    "page", "joined", "passkey", "sig", "next", "sort", "order", "status", "lang", "q", "from", "to", "view",
    "department", "assignee", "due", "service", "category", "token", "code", "email", "limit", "offset", "before",
    "after", "cursor", "id", "kind", "tab", "filter",
]  # fmt: skip
GET_VALUE_LIMIT = 300  # a URL stays within what clients send
# Forms that end what the others need: sent last, or (the staff logout) not at all.
LAST = ("delete", "remove", "erase", "revoke", "leave", "disable", "sessions")


@dataclass
class Form:
    action: str
    method: str
    staff: bool
    fields: dict[str, str] = field(default_factory=dict)

    @property
    def endpoint(self) -> Endpoint:
        return Endpoint("/staff" if self.staff else "/", self.method)

    @property
    def id(self) -> str:
        return f"{self.method} {self.action}"


class FormReader(HTMLParser):
    """The forms of a page: where they go, how, and their fields with the values the page filled in."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[tuple[str, str, dict[str, str]]] = []
        self._fields: dict[str, str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag == "form":
            self._fields = {}
            method = (attributes.get("method") or "get").upper()
            self.forms.append((attributes.get("action") or "", method, self._fields))
        elif self._fields is not None and tag in ("input", "select", "textarea", "button"):
            name = attributes.get("name")
            if name:
                self._fields.setdefault(name, attributes.get("value") or "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._fields = None


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def forms(world: World) -> list[Form]:
    """Every form on every page a GET route answers with, once per action, method and person."""
    found: dict[tuple[str, str, bool], Form] = {}
    for endpoint in GET_ENDPOINTS:
        path = fill(endpoint.path, world.values)
        await world.ensure_staff_login(endpoint)
        page = await world.client(endpoint).get(path, follow_redirects=False)
        if "text/html" not in page.headers.get("content-type", ""):
            continue
        reader = FormReader()
        reader.feed(page.text)
        for action, method, fields in reader.forms:
            target = urllib.parse.urlsplit(urllib.parse.urljoin(path, action or path)).path
            if endpoint.staff and target == "/staff/logout":
                continue
            form = found.setdefault((target, method, endpoint.staff), Form(target, method, endpoint.staff))
            form.fields.update(fields)
    assert len(found) > 50, sorted(found)  # the pages were read: a broken reader would test nothing
    return sorted(found.values(), key=lambda f: (any(word in f.action for word in LAST), f.id))


async def _send(world: World, form: Form, data: dict[str, str]) -> Any:
    await world.ensure_staff_login(form.endpoint)
    client, token = world.client(form.endpoint), world.token(form.endpoint)
    if form.method == "GET":
        params = {name: value[:GET_VALUE_LIMIT] for name, value in data.items()}
        return await client.get(form.action, params=params, follow_redirects=False)
    data = {**data, "_csrf_token": token}
    return await client.post(form.action, data=data, headers={"x-csrftoken": token}, follow_redirects=False)


async def _server_errors(world: World, forms: list[Form], variants: Callable[[Form], Iterator[Any]]) -> list[str]:
    """Each form sent with each of its variants, (a label, the form's data); the ones answered with a 5xx."""
    problems = []
    for form in forms:
        for label, data in variants(form):
            response = await _send(world, form, data)
            if response.status_code >= 500:
                problems.append(f"{form.id} {label}: {response.status_code}")
    return problems


async def test_every_form_with_odd_values_in_all_its_fields_is_answered_without_a_server_error(
    world: World, forms: list[Form]
) -> None:
    def variants(form: Form) -> Iterator[Any]:
        for odd in ODD:
            yield repr(odd[:20]), dict.fromkeys(form.fields, odd)

    assert not (problems := await _server_errors(world, forms, variants)), problems


async def test_every_form_with_one_odd_field_is_answered_without_a_server_error(
    world: World, forms: list[Form]
) -> None:
    def variants(form: Form) -> Iterator[Any]:
        for name in form.fields:
            for odd in FEW:
                yield f"[{name}] {odd[:20]!r}", {**form.fields, name: odd}

    assert not (problems := await _server_errors(world, forms, variants)), problems


async def test_every_get_route_with_odd_query_parameters_is_answered_without_a_server_error(
    world: World, forms: list[Form]
) -> None:
    names = sorted({*PARAMS, *(name for form in forms if form.method == "GET" for name in form.fields)})
    problems = []
    for endpoint in GET_ENDPOINTS:
        path = fill(endpoint.path, world.values)
        for odd in FEW:
            await world.ensure_staff_login(endpoint)
            params = dict.fromkeys(names, odd[:60])
            response = await world.client(endpoint).get(path, params=params, follow_redirects=False)
            if response.status_code >= 500:
                problems.append(f"GET {path} {odd[:20]!r}: {response.status_code}")
    assert not problems, problems
