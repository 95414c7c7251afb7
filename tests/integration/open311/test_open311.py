"""Open311 GeoReport v2 on a municipality's host: every endpoint in JSON and XML, the filters, the errors, and
requests created through the API that are normal cases in the inbox."""

from __future__ import annotations

import json
import re
from typing import Any
from xml.etree import ElementTree as ET

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import select

from backend.accounts.api_keys import ApiKeyService
from backend.cases.models import Case
from backend.cases.services import Actor, CaseService
from backend.core.db import alchemy_config, tenant_session
from backend.notifications.models import OutboxMessage
from backend.open311 import controllers
from backend.settings import Settings
from backend.tenants.services import TenantService, to_context
from tests.factories import TenantFixture
from tests.helpers import login, submit_case

pytestmark = pytest.mark.asyncio

V2 = "/open311/v2"


async def make_key(settings: Settings, tenant: TenantFixture, scopes: list[str]) -> str:
    db = alchemy_config(settings)
    try:
        async with tenant_session(db, tenant.id) as session:
            ctx = to_context(await TenantService(session).by_slug(tenant.slug))  # type: ignore[arg-type]
            return (await ApiKeyService(session, ctx).create("Bauhof-Software", scopes)).secret
    finally:
        await db.get_engine().dispose()


async def case_rows(settings: Settings, tenant: TenantFixture) -> list[Case]:
    db = alchemy_config(settings)
    try:
        async with tenant_session(db, tenant.id) as session:
            return list(await session.scalars(select(Case).order_by(Case.created_at)))
    finally:
        await db.get_engine().dispose()


def xml(response: Any) -> ET.Element:
    assert response.headers["content-type"].startswith("text/xml"), response.headers["content-type"]
    assert response.text.startswith('<?xml version="1.0" encoding="utf-8"?>')
    return ET.fromstring(response.content)


def error_of(response: Any, status: int) -> str:
    assert response.status_code == status, (response.status_code, response.text)
    if response.headers["content-type"].startswith("text/xml"):
        root = xml(response)
        assert root.tag == "errors"
        assert root.findtext("error/code") == str(status)
        return root.findtext("error/description") or ""
    body = response.json()
    assert isinstance(body, list) and body and set(body[0]) == {"code", "description"}, body
    assert body[0]["code"] == status
    return str(body[0]["description"])


POST = {
    "service_code": "street-light",
    "lat": "52.52",
    "long": "13.405",
    "address_string": "Hauptstraße 12",
    "attribute[what]": "Die Laterne flackert.",
    "attribute[kind]": "flicker",
    "email": "berta@example.org",
    "first_name": "Berta",
    "last_name": "Beispiel",
    "media_url": "https://example.org/photo.jpg",
    "device_id": "phone-1",
    "account_id": "acc-7",
}


async def test_discovery_names_the_v2_endpoint_of_this_host(
    client: AsyncTestClient[Litestar], tenant: TenantFixture
) -> None:
    response = await client.get("/open311/discovery.json")
    assert response.status_code == 200
    body = response.json()
    endpoint = body["endpoints"][0]
    assert endpoint["url"] == f"http://{tenant.host}/open311/v2"
    assert endpoint["specification"] == "http://wiki.open311.org/GeoReport_v2"
    assert set(endpoint["formats"]) == {"application/json", "text/xml"}
    assert body["changeset"].endswith("Z")


async def test_services_in_json_and_xml(client: AsyncTestClient[Litestar], tenant: TenantFixture) -> None:
    listing = (await client.get(f"{V2}/services.json")).json()
    assert isinstance(listing, list)
    (service,) = listing
    assert set(service) == {"service_code", "service_name", "description", "metadata", "type", "keywords", "group"}
    assert service["service_code"] == "street-light"
    assert service["metadata"] is True and service["type"] == "realtime"
    root = xml(await client.get(f"{V2}/services.xml"))
    assert root.tag == "services"
    assert root.findtext("service/service_code") == "street-light"
    assert root.findtext("service/metadata") == "true"


async def test_service_definition_lists_the_form_fields_as_attributes(client: AsyncTestClient[Litestar]) -> None:
    body = (await client.get(f"{V2}/services/street-light.json")).json()
    assert body["service_code"] == "street-light"
    by_code = {a["code"]: a for a in body["attributes"]}
    assert set(by_code) == {"what", "kind", "email"}  # the place and the photos are not attributes
    assert by_code["what"]["datatype"] == "text" and by_code["what"]["required"] is True
    assert by_code["kind"]["datatype"] == "singlevaluelist"
    assert [v["key"] for v in by_code["kind"]["values"]] == ["dark", "flicker"]
    assert by_code["email"]["datatype"] == "string"
    assert [a["order"] for a in body["attributes"]] == [1, 2, 3]
    root = xml(await client.get(f"{V2}/services/street-light.xml"))
    assert root.tag == "service_definition"
    kind = [a for a in root.findall("attributes/attribute") if a.findtext("code") == "kind"][0]
    assert kind.findtext("variable") == "true"
    assert [v.findtext("key") for v in kind.findall("values/value")] == ["dark", "flicker"]
    assert error_of(await client.get(f"{V2}/services/nothing.json"), 404)
    assert error_of(await client.get(f"{V2}/services/nothing.xml"), 404)


async def test_every_datatype_of_a_form(settings: Settings, person: Any) -> None:
    from tests.factories import make_tenant

    label = {"de": "F", "en": "F"}
    options = [{"value": "a", "label": label}, {"value": "b", "label": label}]
    form = {
        "fields": [
            {"name": "s", "type": "text", "label": label},
            {"name": "n", "type": "number", "label": label},
            {"name": "d", "type": "date", "label": label},
            {"name": "t", "type": "textarea", "label": label},
            {"name": "c", "type": "choice", "label": label, "options": options},
            {"name": "m", "type": "multichoice", "label": label, "options": options},
        ]
    }
    tenant = await make_tenant(settings, form=form)
    async with person(tenant.host) as client:
        body = (await client.get(f"{V2}/services/street-light.json")).json()
    assert [a["datatype"] for a in body["attributes"]] == [
        "string",
        "number",
        "datetime",
        "text",
        "singlevaluelist",
        "multivaluelist",
    ]


async def test_post_creates_a_normal_case_in_the_inbox_with_its_receipt(
    client: AsyncTestClient[Litestar], tenant: TenantFixture, settings: Settings, person: Any
) -> None:
    key = await make_key(settings, tenant, ["write"])
    response = await client.post(f"{V2}/requests.json", data={**POST, "api_key": key})
    assert response.status_code == 201, response.text
    (created,) = response.json()
    reference = created["service_request_id"]
    assert re.fullmatch(r"\d{4}-\d{5}", reference)
    assert created["account_id"] == "acc-7"
    (case,) = await case_rows(settings, tenant)
    assert case.reference == reference
    assert case.contact_email == "berta@example.org"
    assert case.answers["what"] == "Die Laterne flackert."
    assert case.location == {"lat": 52.52, "lon": 13.405, "address": "Hauptstraße 12"}
    assert case.answers["_open311"]["first_name"] == "Berta"
    assert case.answers["_open311"]["media_url"] == "https://example.org/photo.jpg"
    db = alchemy_config(settings)
    try:
        async with tenant_session(db, tenant.id) as session:
            receipts = list(await session.scalars(select(OutboxMessage).where(OutboxMessage.case_id == case.id)))
    finally:
        await db.get_engine().dispose()
    assert receipts, "the citizen gets the same receipt as from the form"
    async with person(tenant.host) as staff:
        assert (await login(staff, tenant.admin_email, tenant.password)).status_code == 303
        assert reference in (await staff.get("/staff")).text
        page = (await staff.get(f"/staff/cases/{case.id}")).text
        assert "Bauhof-Software" in page and "Berta" in page and "Beispiel" in page
        assert '<a href="https://example.org/photo.jpg" rel="noopener noreferrer nofollow">' in page
    # The token leads to the request.
    by_token = (await client.get(f"{V2}/tokens/{created['token']}.json")).json()
    assert by_token == [{"service_request_id": reference, "token": created["token"]}]
    root = xml(await client.get(f"{V2}/tokens/{created['token']}.xml"))
    assert root.tag == "service_requests" and root.findtext("request/service_request_id") == reference
    assert error_of(await client.get(f"{V2}/tokens/o311-nothing.json"), 404)


async def test_post_in_xml_answers_in_xml(
    client: AsyncTestClient[Litestar], tenant: TenantFixture, settings: Settings
) -> None:
    key = await make_key(settings, tenant, ["read", "write"])
    response = await client.post(f"{V2}/requests.xml", data={**POST, "api_key": key})
    assert response.status_code == 201
    root = xml(response)
    assert root.tag == "service_requests"
    assert re.fullmatch(r"\d{4}-\d{5}", root.findtext("request/service_request_id") or "")


async def test_multivaluelist_attributes_in_both_ways_clients_send_them(settings: Settings, person: Any) -> None:
    from tests.factories import make_tenant

    label = {"de": "F", "en": "F"}
    options = [{"value": v, "label": label} for v in ("a", "b", "c")]
    form = {"fields": [{"name": "m", "type": "multichoice", "label": label, "options": options, "required": True}]}
    tenant = await make_tenant(settings, form=form)
    key = await make_key(settings, tenant, ["write"])
    async with person(tenant.host) as client:
        brackets = await client.post(
            f"{V2}/requests.json",
            content="service_code=street-light&attribute%5Bm%5D%5B%5D=a&attribute%5Bm%5D%5B%5D=c&api_key=" + key,
            headers={"content-type": "application/x-www-form-urlencoded"},
        )
        repeated = await client.post(
            f"{V2}/requests.json",
            content="service_code=street-light&attribute%5Bm%5D=b&attribute%5Bm%5D=c&api_key=" + key,
            headers={"content-type": "application/x-www-form-urlencoded"},
        )
        wrong = await client.post(
            f"{V2}/requests.json",
            content="service_code=street-light&attribute%5Bm%5D=z&api_key=" + key,
            headers={"content-type": "application/x-www-form-urlencoded"},
        )
        missing = await client.post(f"{V2}/requests.json", data={"service_code": "street-light", "api_key": key})
    assert brackets.status_code == repeated.status_code == 201, (brackets.text, repeated.text)
    assert [c.answers["m"] for c in await case_rows(settings, tenant)] == [["a", "c"], ["b", "c"]]
    assert "attribute[m]" in error_of(wrong, 400)
    assert "attribute[m]" in error_of(missing, 400)


async def test_post_errors(
    client: AsyncTestClient[Litestar], tenant: TenantFixture, other_tenant: TenantFixture, settings: Settings
) -> None:
    reader = await make_key(settings, tenant, ["read"])
    foreign = await make_key(settings, other_tenant, ["read", "write"])
    writer = await make_key(settings, tenant, ["write"])
    assert "required" in error_of(await client.post(f"{V2}/requests.json", data=POST), 403)
    assert "write" in error_of(await client.post(f"{V2}/requests.json", data={**POST, "api_key": reader}), 403)
    error_of(await client.post(f"{V2}/requests.xml", data={**POST, "api_key": foreign}), 403)
    error_of(await client.post(f"{V2}/requests.json", data={**POST, "api_key": "rk_guess"}), 403)
    assert "service_code" in error_of(
        await client.post(f"{V2}/requests.json", data={**POST, "service_code": "", "api_key": writer}), 400
    )
    error_of(await client.post(f"{V2}/requests.json", data={**POST, "service_code": "nope", "api_key": writer}), 404)
    no_place = {k: v for k, v in POST.items() if k not in ("lat", "long", "address_string")}
    assert "lat/long" in error_of(await client.post(f"{V2}/requests.xml", data={**no_place, "api_key": writer}), 400)
    assert "long" in error_of(
        await client.post(f"{V2}/requests.json", data={**POST, "long": "", "address_string": "", "api_key": writer}),
        400,
    )
    mismatch = {**POST, "api_key": writer, "jurisdiction_id": other_tenant.slug}
    error_of(await client.post(f"{V2}/requests.json", data=mismatch), 404)
    assert await case_rows(settings, tenant) == []
    # Its own slug, and an empty one, are fine.
    for jurisdiction in (tenant.slug, ""):
        done = await client.post(
            f"{V2}/requests.json", data={**POST, "api_key": writer, "jurisdiction_id": jurisdiction}
        )
        assert done.status_code == 201, done.text
    # The description fills the form's text field when no attribute does.
    described = {k: v for k, v in POST.items() if k != "attribute[what]"} | {"description": "Dunkel", "api_key": writer}
    assert (await client.post(f"{V2}/requests.json", data=described)).status_code == 201
    assert (await case_rows(settings, tenant))[-1].answers["what"] == "Dunkel"


async def test_a_revoked_key_no_longer_works(
    client: AsyncTestClient[Litestar], tenant: TenantFixture, settings: Settings
) -> None:
    key = await make_key(settings, tenant, ["write"])
    db = alchemy_config(settings)
    try:
        async with tenant_session(db, tenant.id) as session:
            ctx = to_context(await TenantService(session).by_slug(tenant.slug))  # type: ignore[arg-type]
            service = ApiKeyService(session, ctx)
            (stored,) = await service.all()
            await service.revoke(stored.id)
    finally:
        await db.get_engine().dispose()
    error_of(await client.post(f"{V2}/requests.json", data={**POST, "api_key": key}), 403)


async def test_get_requests_filters_and_shapes(
    client: AsyncTestClient[Litestar], tenant: TenantFixture, settings: Settings
) -> None:
    writer = await make_key(settings, tenant, ["read", "write"])
    refs = []
    for _ in range(2):
        created = await client.post(f"{V2}/requests.json", data={**POST, "api_key": writer})
        refs.append(created.json()[0]["service_request_id"])
    await _complete(settings, tenant, refs[0])

    everything = (await client.get(f"{V2}/requests.json")).json()
    assert {r["service_request_id"] for r in everything} == set(refs)
    first = everything[0]
    assert set(first) >= {
        "service_request_id",
        "status",
        "status_notes",
        "service_name",
        "service_code",
        "description",
        "agency_responsible",
        "service_notice",
        "requested_datetime",
        "updated_datetime",
        "expected_datetime",
        "address",
        "address_id",
        "zipcode",
        "lat",
        "long",
        "media_url",
    }
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d", first["requested_datetime"])
    # Without a read key nothing about the person or the place.
    assert all(r["description"] is None and r["lat"] is None and r["address"] is None for r in everything)
    full = (await client.get(f"{V2}/requests.json", params={"api_key": writer})).json()
    assert {r["description"] for r in full} == {"Die Laterne flackert."}
    assert {r["lat"] for r in full} == {52.52} and {r["address"] for r in full} == {"Hauptstraße 12"}

    async def refs_of(**params: str) -> set[str]:
        response = await client.get(f"{V2}/requests.json", params=params)
        assert response.status_code == 200, response.text
        return {r["service_request_id"] for r in response.json()}

    assert await refs_of(status="closed") == {refs[0]}
    assert await refs_of(status="open") == {refs[1]}
    assert await refs_of(status="open,closed") == set(refs)
    assert await refs_of(status="", service_code="", start_date="", end_date="") == set(refs)  # empty = absent
    assert await refs_of(service_request_id=refs[1]) == {refs[1]}
    assert await refs_of(service_request_id=f"{refs[0]},{refs[1]}", status="open") == set(refs)  # ids win
    assert await refs_of(service_code="street-light") == set(refs)
    assert await refs_of(service_code="other") == set()
    assert await refs_of(start_date="2000-01-01T00:00:00Z", end_date="2000-02-01T00:00:00+01:00") == set()
    assert await refs_of(start_date="2000-01-01T00:00:00Z") == set(refs)
    assert await refs_of(end_date="2999-01-01T00:00:00Z") == set(refs)
    assert await refs_of(jurisdiction_id=tenant.slug) == set(refs)
    assert "status" in error_of(await client.get(f"{V2}/requests.json", params={"status": "done"}), 400)
    assert "start_date" in error_of(await client.get(f"{V2}/requests.xml", params={"start_date": "yesterday"}), 400)
    error_of(await client.get(f"{V2}/requests.json", params={"jurisdiction_id": "elsewhere"}), 404)
    error_of(await client.get(f"{V2}/requests.xml", params={"api_key": "rk_wrong"}), 403)

    root = xml(await client.get(f"{V2}/requests.xml", params={"status": "closed"}))
    assert root.tag == "service_requests"
    assert [r.findtext("service_request_id") for r in root.findall("request")] == [refs[0]]
    assert root.findtext("request/status") == "closed"

    one = (await client.get(f"{V2}/requests/{refs[0]}.json")).json()
    assert isinstance(one, list) and one[0]["service_request_id"] == refs[0] and one[0]["status"] == "closed"
    root = xml(await client.get(f"{V2}/requests/{refs[1]}.xml"))
    assert root.findtext("request/status") == "open"
    error_of(await client.get(f"{V2}/requests/2000-99999.json"), 404)
    error_of(await client.get(f"{V2}/requests/2000-99999.xml"), 404)
    error_of(await client.get(f"{V2}/requests/{refs[0]}.html"), 404)


async def _complete(settings: Settings, tenant: TenantFixture, reference: str) -> None:
    """A clerk completes the case, through the one status change every page uses."""
    db = alchemy_config(settings)
    try:
        async with tenant_session(db, tenant.id) as session:
            ctx = to_context(await TenantService(session).by_slug(tenant.slug))  # type: ignore[arg-type]
            case = await session.scalar(select(Case).where(Case.reference == reference))
            assert case is not None
            cases = CaseService(session, ctx, None)  # type: ignore[arg-type]
            clerk = Actor(kind="staff", name="Clara")
            for status in ("in_review", "in_progress", "completed"):
                await cases.change_status(case.id, status, clerk)
    finally:
        await db.get_engine().dispose()


async def test_a_municipality_never_sees_another_ones_requests(
    client: AsyncTestClient[Litestar],
    tenant: TenantFixture,
    other_tenant: TenantFixture,
    settings: Settings,
    person: Any,
) -> None:
    await submit_case(client, tenant, photo=False)
    (case,) = await case_rows(settings, tenant)
    foreign_reader = await make_key(settings, other_tenant, ["read"])
    async with person(other_tenant.host) as other:
        assert (await other.get(f"{V2}/requests.json")).json() == []
        error_of(await other.get(f"{V2}/requests/{case.reference}.json"), 404)
        error_of(await other.get(f"{V2}/requests.json", params={"jurisdiction_id": tenant.slug}), 404)
    # Its key is not a key here.
    error_of(await client.get(f"{V2}/requests.json", params={"api_key": foreign_reader}), 403)
    own = (await client.get(f"{V2}/requests.json")).json()
    assert [r["service_request_id"] for r in own] == [case.reference]
    # A citizen's own form key is no token.
    error_of(await client.get(f"{V2}/tokens/device-key-0123456789abcdef.json"), 404)


async def test_unknown_paths_and_methods_answer_in_the_specification_shape(client: AsyncTestClient[Litestar]) -> None:
    error_of(await client.get(f"{V2}/nothing.json"), 404)
    assert (await client.delete(f"{V2}/requests.json")).status_code == 405
    error_of(await client.get(f"{V2}/services/street-light"), 404)
    error_of(await client.get("/open311/discovery.json", headers={"host": "nowhere.localhost"}), 404)


async def test_reads_are_rate_limited(client: AsyncTestClient[Litestar], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(controllers, "READS_PER_MINUTE", 2)
    assert (await client.get(f"{V2}/services.json")).status_code == 200
    assert (await client.get(f"{V2}/services.json")).status_code == 200
    error_of(await client.get(f"{V2}/services.json"), 429)


async def test_a_malformed_body_is_a_bad_request(
    client: AsyncTestClient[Litestar], tenant: TenantFixture, settings: Settings
) -> None:
    key = await make_key(settings, tenant, ["write"])
    response = await client.post(
        f"{V2}/requests.json",
        content=b"service_code=street-light&attribute%5Bwhat%5D=%FF%FE&api_key=" + key.encode(),
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code in (400, 201), response.text
    assert json.loads(response.text)
