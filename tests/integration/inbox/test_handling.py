"""Handling a case: claim, assign, hand to a department, prioritise, re-route; each an internal timeline entry;
the list's filters for them; and the department scope every case route keeps."""

from __future__ import annotations

import re
import uuid

import pytest
from litestar import Litestar
from sqlalchemy import update

from backend.cases import deadlines
from backend.cases.models import Case
from backend.catalogue.models import Service
from backend.core.db import alchemy_config, unscoped_session
from backend.inbox import services as inbox_services
from backend.settings import Settings
from tests.conftest import Person, csrf_token
from tests.factories import TenantFixture
from tests.helpers import Client, login
from tests.integration.core.routes import ENDPOINTS
from tests.integration.inbox.test_deadlines import BERLIN, _references, _run, _set_deadline, _utc
from tests.integration.inbox.town import Town, act, case_of, events_of, make_town, new_case

CASE_ROUTES = [e for e in ENDPOINTS if e.path.startswith("/staff/cases/{case_id:uuid}")]
NEXT = re.compile(r'<a href="(/staff\?[^"]*after=[^"]*)" rel="next">')


@pytest.fixture
async def town(settings: Settings, tenant: TenantFixture) -> Town:
    return await make_town(settings, tenant)


@pytest.fixture(autouse=True)
def _english(client: Client) -> None:
    client.headers["Accept-Language"] = "en"


async def _staff(person: Person, town: Town, email: str) -> Client:
    client = person(town.tenant.host)
    await client.__aenter__()
    client.headers["Accept-Language"] = "en"
    assert (await login(client, email, town.tenant.password)).status_code == 303
    return client


def _counts(html: str) -> dict[str, int]:
    return {s: int(n) for s, n in re.findall(r'data-status="(\w+)">(\d+)<', html)}


async def test_a_case_goes_to_its_services_department_with_normal_priority_and_version_1(
    client: Client, town: Town, settings: Settings
) -> None:
    street = await new_case(client, town.tenant, settings)
    parking = await new_case(client, town.parking, settings)
    assert str(street.department_id) == town.streets
    assert str(parking.department_id) == town.office
    assert (street.priority, street.version, street.assignee_id) == ("normal", 1, None)


async def test_a_clerk_claims_assigns_and_unassigns_each_an_internal_timeline_entry(
    person: Person, client: Client, town: Town, settings: Settings
) -> None:
    case = await new_case(client, town.tenant, settings)
    clerk = await _staff(person, town, town.tenant.clerk_email)
    try:
        claimed = await act(clerk, case.id, "claim")
        assert claimed.status_code == 303 and claimed.headers["location"].endswith("?done=claimed")
        page = (await clerk.get(claimed.headers["location"])).text
        assert re.search(r"<dt>Assigned to</dt><dd>Clara Clerk</dd>", page)
        assert "You are now working on this request." in page
        assert "/claim" not in page, "no need to claim one's own case"
        assert "Assigned to Clara Clerk" in page, "the timeline says so"

        given = await act(clerk, case.id, "assign", {"assignee": town.sabine_id})
        assert given.status_code == 303
        page = (await clerk.get(given.headers["location"])).text
        assert re.search(r"<dt>Assigned to</dt><dd>Sabine Super</dd>", page)

        dropped = await act(clerk, case.id, "assign", {"assignee": ""})
        assert dropped.status_code == 303
        page = (await clerk.get(dropped.headers["location"])).text
        assert re.search(r"<dt>Assigned to</dt><dd>nobody yet</dd>", page)
        assert "No longer assigned to Sabine Super" in page

        again = await act(clerk, case.id, "assign", {"assignee": ""})
        assert again.headers["location"].endswith("?done=unchanged"), "nothing to change, nothing written"
    finally:
        await clerk.__aexit__(None, None, None)
    events = [e for e in await events_of(settings, case.id) if e.kind == "assigned"]
    assert [(e.actor_name, e.public, e.detail) for e in events] == [
        ("Clara Clerk", False, {"from": None, "to": "Clara Clerk"}),
        ("Clara Clerk", False, {"from": "Clara Clerk", "to": "Sabine Super"}),
        ("Clara Clerk", False, {"from": "Sabine Super", "to": None}),
    ]
    assert all(e.created_at is not None and e.actor_id is not None for e in events)
    now = await case_of(settings, f"/r/{case.tracking_token}")
    assert now.version == 4 and now.assignee_id is None
    citizen = (await client.get(f"/r/{case.tracking_token}")).text
    assert "Clara Clerk" not in citizen and "Sabine" not in citizen, "handling is internal"


@pytest.mark.parametrize("who", ["garbage", "unknown", "bernd", "dora", "stranger"])
async def test_an_assignee_who_may_not_work_on_the_case_is_refused(
    person: Person, client: Client, town: Town, settings: Settings, other_tenant: TenantFixture, who: str
) -> None:
    case = await new_case(client, town.tenant, settings)
    stranger = await make_town(settings, other_tenant)
    value = {
        "garbage": "not-a-person",
        "unknown": str(uuid.uuid4()),
        "bernd": town.bernd_id,  # works in the Bürgerbüro, the case is the Straßenbetrieb's
        "dora": town.dora_id,  # deactivated
        "stranger": stranger.admin_id,  # another municipality's admin
    }[who]
    clerk = await _staff(person, town, town.tenant.clerk_email)
    try:
        refused = await act(clerk, case.id, "assign", {"assignee": value})
        assert refused.status_code == 422
        assert 'id="assignee-error"' in refused.text and 'aria-invalid="true"' in refused.text
    finally:
        await clerk.__aexit__(None, None, None)
    after = await case_of(settings, f"/r/{case.tracking_token}")
    assert after.assignee_id is None and after.version == 1
    assert [e.kind for e in await events_of(settings, case.id)] == ["submitted"]


async def test_handing_a_case_to_another_department_lets_go_of_an_assignee_who_does_not_work_there(
    person: Person, client: Client, town: Town, settings: Settings
) -> None:
    case = await new_case(client, town.tenant, settings)
    clerk = await _staff(person, town, town.tenant.clerk_email)
    bernd = await _staff(person, town, town.bernd_email)
    try:
        assert (await bernd.get(f"/staff/cases/{case.id}")).status_code == 404
        for bad in ("", "nonsense", str(uuid.uuid4())):
            refused = await act(clerk, case.id, "department", {"department": bad})
            assert refused.status_code == 422 and 'id="department-error"' in refused.text
        assert (await act(clerk, case.id, "claim")).status_code == 303
        moved = await act(clerk, case.id, "department", {"department": town.office})
        assert moved.status_code == 303
        assert moved.headers["location"] == f"/staff?done=moved&moved={case.reference}", "out of the clerk's sight"
        inbox = (await clerk.get(moved.headers["location"])).text
        assert f"Request {case.reference} has been handed to the department." in inbox
        assert (await clerk.get(f"/staff/cases/{case.id}")).status_code == 404
        page = await bernd.get(f"/staff/cases/{case.id}")
        assert page.status_code == 200
        assert re.search(r"<dt>Department</dt><dd>Bürgerbüro</dd>", page.text)
        assert re.search(r"<dt>Assigned to</dt><dd>nobody yet</dd>", page.text)
        assert "Department: Straßenbetrieb → Bürgerbüro" in page.text
        assert "No longer assigned to Clara Clerk, who does not work in the new department" in page.text
    finally:
        await clerk.__aexit__(None, None, None)
        await bernd.__aexit__(None, None, None)
    after = await case_of(settings, f"/r/{case.tracking_token}")
    assert str(after.department_id) == town.office and after.assignee_id is None


async def test_priority_is_set_and_a_priority_not_offered_is_refused(
    person: Person, client: Client, town: Town, settings: Settings
) -> None:
    case = await new_case(client, town.tenant, settings)
    clerk = await _staff(person, town, town.tenant.clerk_email)
    try:
        refused = await act(clerk, case.id, "priority", {"priority": "whenever"})
        assert refused.status_code == 422 and 'id="priority-error"' in refused.text
        done = await act(clerk, case.id, "priority", {"priority": "urgent"})
        assert done.status_code == 303
        page = (await clerk.get(done.headers["location"])).text
        assert '<span class="badge priority-urgent">Urgent</span>' in page
        assert "Priority: Normal → Urgent" in page
        listed = (await clerk.get("/staff")).text
        assert '<span class="badge priority-urgent">Urgent</span>' in listed
    finally:
        await clerk.__aexit__(None, None, None)
    [event] = [e for e in await events_of(settings, case.id) if e.kind == "priority_changed"]
    assert (event.detail, event.public, event.actor_name) == ({"from": "normal", "to": "urgent"}, False, "Clara Clerk")


async def test_changing_the_service_keeps_the_answers_and_the_department_follows(
    person: Person, client: Client, town: Town, settings: Settings
) -> None:
    case = await new_case(client, town.tenant, settings)
    sabine = await _staff(person, town, town.sabine_email)
    try:
        for bad in ("", "no-such-service", str(uuid.uuid4())):
            refused = await act(sabine, case.id, "service", {"service": bad})
            assert refused.status_code == 422 and 'id="service-error"' in refused.text
        assert (await act(sabine, case.id, "claim")).status_code == 303
        done = await act(sabine, case.id, "service", {"service": town.parking_id})
        assert done.status_code == 303 and done.headers["location"].endswith("?done=service")
        page = (await sabine.get(done.headers["location"])).text
        assert "<h1>" + case.reference + ": Resident parking</h1>" in page
        assert "Service: Broken street light → Resident parking" in page
        assert "Department: Straßenbetrieb → Bürgerbüro" in page
        assert "Hauptstraße 12" in page, "the answers stay"
        assert re.search(r"<dt>Assigned to</dt><dd>Sabine Super</dd>", page), "a supervisor sees every department"
    finally:
        await sabine.__aexit__(None, None, None)
    after = await case_of(settings, f"/r/{case.tracking_token}")
    assert str(after.service_id) == town.parking_id and str(after.department_id) == town.office
    assert after.form_version_id == case.form_version_id and after.answers == case.answers
    kinds = [e.kind for e in await events_of(settings, case.id)]
    assert kinds[-2:] == ["service_changed", "department_changed"]


async def test_changing_the_service_counts_the_deadline_anew_from_the_submission(
    person: Person, client: Client, town: Town, settings: Settings
) -> None:
    await _set_deadline(settings, town.tenant, None, "BY")  # no service has a deadline yet; Bavaria's holidays
    case = await new_case(client, town.tenant, settings)
    assert case.due_at is None
    db = alchemy_config(settings)
    try:
        async with unscoped_session(db) as session:
            await session.execute(
                update(Service).where(Service.id == uuid.UUID(town.parking_id)).values(processing_days=10)
            )
            await session.commit()
    finally:
        await db.get_engine().dispose()
    sabine = await _staff(person, town, town.sabine_email)
    try:
        assert (await act(sabine, case.id, "service", {"service": town.parking_id})).status_code == 303
        moved = await case_of(settings, f"/r/{case.tracking_token}")
        assert moved.due_at == deadlines.due_date(_utc(case.created_at), 10, "BY", BERLIN)
        assert (await act(sabine, case.id, "service", {"service": town.tenant.service_slug})).status_code == 303
    finally:
        await sabine.__aexit__(None, None, None)
    assert (await case_of(settings, f"/r/{case.tracking_token}")).due_at is None


async def test_the_list_filters_by_assignee_department_and_priority_with_counts_and_pages(
    person: Person,
    client: Client,
    town: Town,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(inbox_services, "PAGE_SIZE", 2)
    mine = [await new_case(client, town.tenant, settings) for _ in range(3)]
    nobodys = await new_case(client, town.tenant, settings)
    sabines = await new_case(client, town.tenant, settings)
    office = await new_case(client, town.parking, settings)
    await _run(
        settings,
        update(Case).where(Case.id.in_([c.id for c in mine])).values(assignee_id=uuid.UUID(town.clerk_id)),
        update(Case).where(Case.id == mine[0].id).values(status="in_review", priority="high"),
        update(Case).where(Case.id == sabines.id).values(assignee_id=uuid.UUID(town.sabine_id), priority="high"),
        update(Case).where(Case.id == office.id).values(priority="high"),
    )
    clerk = await _staff(person, town, town.tenant.clerk_email)
    sabine = await _staff(person, town, town.sabine_email)
    try:

        async def refs(who: Client, query: str) -> list[str]:
            found: list[str] = []
            url = "/staff?" + query
            while url:
                page = await who.get(url)
                assert page.status_code == 200
                found += _references(page.text)
                following = NEXT.search(page.text)
                url = following.group(1).replace("&amp;", "&") if following else ""
            return sorted(found)

        def ref(*cases: Case) -> list[str]:
            return sorted(c.reference for c in cases)

        assert await refs(clerk, "assignee=me") == ref(*mine), "three cases over two pages"
        assert await refs(clerk, "assignee=none") == ref(nobodys)
        assert await refs(clerk, f"assignee={town.sabine_id}") == ref(sabines)
        assert await refs(clerk, "priority=high") == ref(mine[0], sabines), "never the Bürgerbüro's"
        assert await refs(clerk, "assignee=me&priority=high") == ref(mine[0])
        assert await refs(sabine, "priority=high") == ref(mine[0], sabines, office)
        assert await refs(sabine, f"department={town.office}") == ref(office)
        assert await refs(sabine, f"department={town.streets}&assignee=none") == ref(nobodys)
        assert await refs(sabine, "assignee=me") == ref(sabines)
        assert await refs(clerk, "assignee=whoever&department=x&priority=soon") == ref(*mine, nobodys, sabines)
        page = (await clerk.get("/staff?assignee=me")).text
        assert _counts(page) == {"submitted": 2, "in_review": 1}, "counts follow the filter"
        assert 'value="me" selected' in page
        nxt = NEXT.search(page)
        assert nxt and "assignee=me" in nxt.group(1), "the next page keeps the filter"
    finally:
        await clerk.__aexit__(None, None, None)
        await sabine.__aexit__(None, None, None)


async def test_a_clerk_gets_404_for_another_departments_case_on_every_case_route(
    person: Person, client: Client, town: Town, settings: Settings
) -> None:
    """Each /staff/cases/<id>... route of the route table (a route added later included), read or write."""
    assert len(CASE_ROUTES) >= 9, CASE_ROUTES
    theirs = await new_case(client, town.parking, settings, photo=True)
    ours = await new_case(client, town.tenant, settings)
    bernd = await _staff(person, town, town.bernd_email)
    clerk = await _staff(person, town, town.tenant.clerk_email)
    sabine = await _staff(person, town, town.sabine_email)
    try:
        page = (await bernd.get(f"/staff/cases/{theirs.id}")).text
        file_url = re.search(r'src="(/staff/cases/[^"]+/files/([0-9a-f-]{36}))"', page)
        assert file_url, "the Bürgerbüro's clerk sees the photo"
        assert (await bernd.get(file_url.group(1))).status_code == 200
        inbox = (await clerk.get("/staff")).text
        assert _references(inbox) == [ours.reference], "the list shows the clerk's departments only"
        assert _counts(inbox) == {"submitted": 1}, "and counts them only"
        token = csrf_token(inbox)
        form = {
            "_csrf_token": token,
            "to_status": "in_review",
            "visibility": "internal",
            "body": "x",
            "assignee": town.clerk_id,
            "department": town.streets,
            "priority": "high",
            "service": town.tenant.service_slug,
        }
        for endpoint in CASE_ROUTES:
            path = endpoint.path.replace("{case_id:uuid}", str(theirs.id)).replace("{file_id:uuid}", file_url.group(2))
            data = form if endpoint.method != "GET" else None
            response = await clerk.request(endpoint.method, path, data=data, follow_redirects=False)
            assert response.status_code == 404, (endpoint.id, response.status_code)
            assert "Anwohnerparken" not in response.text and theirs.reference not in response.text
        bulk = await clerk.post("/staff/bulk", data={**form, "case_ids": [str(theirs.id)], "action": "status"})
        assert bulk.status_code == 200 and "Not found, or not one of the requests you work on" in bulk.text
        assert theirs.reference not in bulk.text
        # A supervisor sees every case of the municipality.
        everything = (await sabine.get("/staff")).text
        assert sorted(_references(everything)) == sorted([theirs.reference, ours.reference])
        assert (await sabine.get(f"/staff/cases/{theirs.id}")).status_code == 200
        assert (await sabine.get(file_url.group(1))).status_code == 200
    finally:
        for c in (bernd, clerk, sabine):
            await c.__aexit__(None, None, None)
    after = await case_of(settings, f"/r/{theirs.tracking_token}")
    assert (after.status, after.version, after.assignee_id, after.priority) == ("submitted", 1, None, "normal")
    assert [e.kind for e in await events_of(settings, theirs.id)] == ["submitted"]


async def test_a_case_without_department_is_for_supervisors_and_admins_only(
    person: Person, client: Client, town: Town, settings: Settings
) -> None:
    case = await new_case(client, town.tenant, settings)
    await _run(settings, update(Case).where(Case.id == case.id).values(department_id=None))
    clerk = await _staff(person, town, town.tenant.clerk_email)
    admin = await _staff(person, town, town.tenant.admin_email)
    try:
        assert (await clerk.get(f"/staff/cases/{case.id}")).status_code == 404
        page = await admin.get(f"/staff/cases/{case.id}")
        assert page.status_code == 200
        assert "none (supervisors and administrators only)" in page.text
        assert town.clerk_id not in re.search(r'<select id="assignee".*?</select>', page.text, re.S).group(0)  # type: ignore[union-attr]
        refused = await act(admin, case.id, "assign", {"assignee": town.clerk_id})
        assert refused.status_code == 422, "a clerk may only be given cases of their departments"
        moved = await act(admin, case.id, "department", {"department": town.streets})
        assert moved.status_code == 303
        assert (await clerk.get(f"/staff/cases/{case.id}")).status_code == 200
        assert "Department: none → Straßenbetrieb" in (await clerk.get(f"/staff/cases/{case.id}")).text
    finally:
        await clerk.__aexit__(None, None, None)
        await admin.__aexit__(None, None, None)


async def test_deleting_a_department_leaves_its_cases_to_supervisors(
    person: Person, app: Litestar, client: Client, town: Town, settings: Settings
) -> None:
    case = await new_case(client, town.parking, settings)
    admin = await _staff(person, town, town.tenant.admin_email)
    try:
        page = f"/staff/admin/departments/{town.office}"
        form = {"_csrf_token": csrf_token((await admin.get(page)).text), "name": "Bürgerbüro"}
        assert (await admin.post(page, data=form, follow_redirects=False)).status_code == 303  # empty it
        deleted = await admin.post(page + "/delete", data=form, follow_redirects=False)
        assert deleted.status_code == 303, deleted.text
        assert "none (supervisors and administrators only)" in (await admin.get(f"/staff/cases/{case.id}")).text
    finally:
        await admin.__aexit__(None, None, None)
    assert (await case_of(settings, f"/r/{case.tracking_token}")).department_id is None
