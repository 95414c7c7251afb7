"""The JSON API at /api/v1: keys and scopes, the list with the inbox's filters and pages, one case, status
changes and messages as the inbox makes them, problem details for every error, and the OpenAPI document."""

from __future__ import annotations

from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from backend.accounts.api_keys import ApiKeyService
from backend.api import controllers
from backend.core.db import alchemy_config, tenant_session
from backend.inbox import services as inbox_services
from backend.settings import Settings
from backend.tenants.services import TenantService, to_context
from tests.conftest import Person
from tests.factories import TenantFixture
from tests.helpers import Client, submit_case
from tests.integration.inbox.town import events_of
from tests.integration.notifications.conftest import outbox
from tests.integration.open311.test_open311 import case_rows, make_key

pytestmark = pytest.mark.asyncio


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, (response.status_code, response.text)
    assert response.headers["content-type"].startswith("application/problem+json"), response.headers
    body = response.json()
    assert body["status"] == status and body["title"] and body["detail"], body
    return body  # type: ignore[no-any-return]


async def test_keys_and_scopes(
    settings: Settings, client: Client, tenant: TenantFixture, other_tenant: TenantFixture, person: Person
) -> None:
    reader = await make_key(settings, tenant, ["read"])
    foreign = await make_key(settings, other_tenant, ["read", "write"])
    missing = await client.get("/api/v1/cases")
    problem(missing, 401)
    assert missing.headers["www-authenticate"].startswith("Bearer")
    problem(await client.get("/api/v1/cases", headers=bearer("rh_wrong")), 401)
    problem(await client.get("/api/v1/cases", headers={"Authorization": f"Basic {reader}"}), 401)
    problem(await client.get("/api/v1/cases", headers=bearer(foreign)), 401)  # another municipality's key
    assert (await client.get("/api/v1/cases", headers=bearer(reader))).status_code == 200
    refused = await client.post("/api/v1/cases/2026-00001/status", json={"status": "completed"}, headers=bearer(reader))
    assert "write" in problem(refused, 403)["detail"]

    # Another municipality's case is not found with this municipality's key (references are per municipality).
    async with person(other_tenant.host) as citizen:
        await submit_case(citizen, other_tenant, key="api-foreign-case-0123456789", photo=False)
    (theirs,) = await case_rows(settings, other_tenant)
    problem(await client.get(f"/api/v1/cases/{theirs.reference}", headers=bearer(reader)), 404)
    assert (await client.get("/api/v1/cases", headers=bearer(reader))).json()["items"] == []

    # A revoked key is no key.
    db = alchemy_config(settings)
    try:
        async with tenant_session(db, tenant.id) as session:
            ctx = to_context(await TenantService(session).by_slug(tenant.slug))  # type: ignore[arg-type]
            keys = ApiKeyService(session, ctx)
            for key in await keys.all():
                await keys.revoke(key.id)
    finally:
        await db.get_engine().dispose()
    problem(await client.get("/api/v1/cases", headers=bearer(reader)), 401)


async def test_services_cases_pages_and_one_case(
    settings: Settings, client: Client, tenant: TenantFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = await make_key(settings, tenant, ["read"])
    for n in range(3):
        await submit_case(client, tenant, key=f"api-list-key-{n:02d}-0123456789", photo=False)
    cases = await case_rows(settings, tenant)

    services = (await client.get("/api/v1/services", headers=bearer(key))).json()
    assert tenant.service_slug in [s["slug"] for s in services]
    assert {"slug", "name", "summary", "processing_days"} <= set(services[0])

    monkeypatch.setattr(inbox_services, "PAGE_SIZE", 2)
    first = (await client.get("/api/v1/cases", headers=bearer(key))).json()
    assert first["total"] == 3 and first["counts"] == {"submitted": 3}
    assert [c["reference"] for c in first["items"]] == [c.reference for c in reversed(cases)][:2]
    assert first["next"]
    second = (await client.get("/api/v1/cases", params={"after": first["next"]}, headers=bearer(key))).json()
    assert [c["reference"] for c in second["items"]] == [cases[0].reference] and second["next"] is None
    oldest = (await client.get("/api/v1/cases?sort=oldest&status=submitted", headers=bearer(key))).json()
    assert oldest["items"][0]["reference"] == cases[0].reference
    empty = (await client.get("/api/v1/cases?status=completed", headers=bearer(key))).json()
    assert empty["items"] == [] and empty["total"] == 0
    item = first["items"][0]
    assert item["service"] == tenant.service_slug and item["status"] == "submitted" and item["citizen_replied"] is False

    one = (await client.get(f"/api/v1/cases/{cases[0].reference}", headers=bearer(key))).json()
    assert one["reference"] == cases[0].reference and one["answers"] and one["events"]
    assert "contact_email" not in one and "tracking_token" not in str(one)

    bad_ones = ("status=bogus", "sort=sideways", "from=31.12.2026", "from=2026-05-01&to=2026-04-01", "from=0001-01-01")
    for bad in (*bad_ones, "replied=maybe"):
        problem(await client.get(f"/api/v1/cases?{bad}", headers=bearer(key)), 400)
    problem(await client.get("/api/v1/cases/1999-99999", headers=bearer(key)), 404)


async def test_status_changes_and_messages_are_the_inbox_operations(
    settings: Settings, client: Client, tenant: TenantFixture
) -> None:
    key = await make_key(settings, tenant, ["read", "write"])
    tracking = await submit_case(client, tenant, key="api-change-key-0123456789", photo=False)
    (case,) = await case_rows(settings, tenant)
    url = f"/api/v1/cases/{case.reference}"
    queued = len(await outbox(settings, tenant_id=tenant.id))

    changed = await client.post(
        f"{url}/status", json={"status": "in_review", "message": "Der Bauhof ist unterwegs."}, headers=bearer(key)
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["status"] == "in_review"
    event = (await events_of(settings, case.id))[-1]
    assert (event.kind, event.to_status, event.actor_kind) == ("status_changed", "in_review", "staff")
    assert event.actor_name == "API: Bauhof-Software" and event.public
    assert len(await outbox(settings, tenant_id=tenant.id)) > queued, "the citizen is notified as from the inbox"
    page = await client.get(tracking)
    assert "Der Bauhof ist unterwegs." in page.text

    # The service's workflow decides, as in the inbox.
    assert (
        "workflow"
        in problem(await client.post(f"{url}/status", json={"status": "submitted"}, headers=bearer(key)), 409)["detail"]
    )
    assert (
        "message"
        in problem(await client.post(f"{url}/status", json={"status": "rejected"}, headers=bearer(key)), 422)["detail"]
    )
    problem(await client.post(f"{url}/status", json={"status": "bogus"}, headers=bearer(key)), 400)
    problem(await client.post(f"{url}/status", json={"status": "completed", "extra": 1}, headers=bearer(key)), 400)
    problem(await client.post(f"{url}/status", json={"message": "no status"}, headers=bearer(key)), 400)
    problem(await client.post(f"{url}/status", content=b"{not json", headers=bearer(key)), 400)
    long = {"status": "completed", "message": "x" * 5001}
    problem(await client.post(f"{url}/status", json=long, headers=bearer(key)), 400)
    problem(
        await client.post("/api/v1/cases/1999-99999/status", json={"status": "completed"}, headers=bearer(key)), 404
    )

    sent = await client.post(f"{url}/messages", json={"body": "Bitte Foto vom Mast schicken."}, headers=bearer(key))
    assert sent.status_code == 201, sent.text
    assert sent.json()["events"][-1]["kind"] == "public_message"
    assert "Bitte Foto vom Mast schicken." in (await client.get(tracking)).text
    problem(await client.post(f"{url}/messages", json={"body": "   "}, headers=bearer(key)), 400)

    for status in ("in_progress", "completed"):
        done = await client.post(f"{url}/status", json={"status": status, "message": "Erledigt."}, headers=bearer(key))
        assert done.json()["status"] == status, done.text


async def test_a_key_is_limited_per_minute(
    settings: Settings, client: Client, tenant: TenantFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = await make_key(settings, tenant, ["read"])
    monkeypatch.setattr(controllers, "READS_PER_MINUTE", 2)
    for _ in range(2):
        assert (await client.get("/api/v1/services", headers=bearer(key))).status_code == 200
    limited = await client.get("/api/v1/services", headers=bearer(key))
    assert "2 read requests" in problem(limited, 429)["detail"]
    assert limited.headers["retry-after"] == "60"


async def test_the_openapi_document_and_the_documentation_page(app: Litestar, tenant: TenantFixture) -> None:
    async with AsyncTestClient(app, base_url=f"http://{tenant.host}") as client:
        doc = (await client.get("/schema/openapi.json")).json()
        assert doc["openapi"].startswith("3.1")
        assert set(doc["paths"]) == {
            "/api/v1/services",
            "/api/v1/cases",
            "/api/v1/cases/{reference}",
            "/api/v1/cases/{reference}/status",
            "/api/v1/cases/{reference}/messages",
        }
        assert doc["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
        names = {p["name"] for p in doc["paths"]["/api/v1/cases"]["get"]["parameters"]}
        assert {"status", "service", "q", "replied", "due", "from", "to", "assignee", "department", "priority"} <= names
        assert {"sort", "after"} <= names
        page = await client.get("/api", headers={"Accept-Language": "en"})
        assert page.status_code == 200 and "/schema/openapi.json" in page.text and "Authorization: Bearer" in page.text
