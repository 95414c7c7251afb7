"""Bulk actions from the inbox list: each chosen case assigned or moved to a status on its own (a notification per
case), an outcome per case (done, not possible from its status, not found or out of scope, changed meanwhile),
at most 100 at a time, and bad input answered with the form again, never a 500."""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest
from sqlalchemy import func, select, update

from backend.cases.models import Case
from backend.core.db import alchemy_config, unscoped_session
from backend.notifications.models import OutboxMessage
from backend.settings import Settings
from tests.conftest import Person, csrf_token
from tests.factories import TenantFixture
from tests.helpers import Client, login
from tests.integration.inbox.test_deadlines import _run
from tests.integration.inbox.town import Town, act, case_of, events_of, make_town, new_case


@pytest.fixture
async def town(settings: Settings, tenant: TenantFixture) -> Town:
    return await make_town(settings, tenant)


async def _staff(person: Person, town: Town, email: str) -> Client:
    client = person(town.tenant.host)
    await client.__aenter__()
    client.headers["Accept-Language"] = "en"
    assert (await login(client, email, town.tenant.password)).status_code == 303
    return client


async def _choose(client: Client, cases: list[Case], list_url: str = "/staff") -> dict[str, Any]:
    """The list's bulk form with these cases ticked, as the browser sends it (every row's version goes along)."""
    page = (await client.get(list_url)).text
    form = re.search(r'<form method="post" action="/staff/bulk".*?</form>', page, re.S)
    assert form, "the list has a bulk form"
    data: dict[str, Any] = {"_csrf_token": csrf_token(page), "case_ids": [str(c.id) for c in cases]}
    data |= dict(
        re.findall(r'<input type="hidden" name="(version_[0-9a-f-]{36}|filter)" value="([^"]*)"', form.group(0))
    )
    shown = set(re.findall(r'name="case_ids" value="([0-9a-f-]{36})"', form.group(0)))
    assert {str(c.id) for c in cases if c.department_id is not None} & shown
    return data


async def _mails(settings: Settings, case_id: uuid.UUID) -> int:
    db = alchemy_config(settings)
    try:
        async with unscoped_session(db) as session:
            count = await session.scalar(
                select(func.count()).select_from(OutboxMessage).where(OutboxMessage.case_id == case_id)
            )
            return int(count or 0)
    finally:
        await db.get_engine().dispose()


def _outcomes(html: str) -> dict[str, str]:
    """Reference (or id) -> outcome class, from the result page."""
    rows = re.findall(
        r'<tr class="outcome-(\w+)">\s*<td>(?:<a href="[^"]+">)?(?:<span class="case-id">)?([^<]+)<', html
    )
    return {ref: outcome for outcome, ref in rows}


async def test_a_status_change_with_one_message_goes_to_each_case_with_an_outcome_for_every_one(
    person: Person, client: Client, town: Town, settings: Settings
) -> None:
    fresh, other, closed, changed = [await new_case(client, town.tenant, settings) for _ in range(4)]
    office = await new_case(client, town.parking, settings)
    await _run(settings, update(Case).where(Case.id == closed.id).values(status="completed"))
    clerk = await _staff(person, town, town.tenant.clerk_email)
    admin = await _staff(person, town, town.tenant.admin_email)
    try:
        form = await _choose(clerk, [fresh, other, closed, changed, office])
        assert (await act(admin, changed.id, "priority", {"priority": "high"})).status_code == 303
        before = {c.id: await _mails(settings, c.id) for c in (fresh, other, closed, changed, office)}
        message = "Wir haben Ihre Meldung erhalten und prüfen sie."
        answer = await clerk.post(
            "/staff/bulk", data={**form, "action": "status", "to_status": "in_review", "message": message}
        )
        assert answer.status_code == 200
        outcomes = _outcomes(answer.text)
        assert outcomes == {
            fresh.reference: "done",
            other.reference: "done",
            closed.reference: "status",
            changed.reference: "changed",
            str(office.id): "missing",
        }, answer.text
        assert (
            "Not possible from its status (Completed)" in answer.text or "Not possible from its status" in answer.text
        )
        assert "Not changed: Anna Admin changed it meanwhile" in answer.text
        assert "Not found, or not one of the requests you work on" in answer.text
        assert office.reference not in answer.text, "a case out of scope is not named"
        assert "Done: 2 of 5 chosen requests." in answer.text
    finally:
        await clerk.__aexit__(None, None, None)
        await admin.__aexit__(None, None, None)
    for case in (fresh, other):
        after = await case_of(settings, f"/r/{case.tracking_token}")
        assert after.status == "in_review"
        assert await _mails(settings, case.id) == before[case.id] + 1, "each citizen is told"
        [change] = [e for e in await events_of(settings, case.id) if e.kind == "status_changed"]
        assert (change.body, change.actor_name, change.public) == (message, "Clara Clerk", True)
    for case in (closed, changed, office):
        assert await _mails(settings, case.id) == before[case.id]
        assert not [e for e in await events_of(settings, case.id) if e.kind == "status_changed"]
    citizen = (await client.get(f"/r/{fresh.tracking_token}")).text
    assert message in citizen


async def test_bulk_assignment_to_someone_who_may_not_see_a_case_leaves_that_case_alone(
    person: Person, client: Client, town: Town, settings: Settings
) -> None:
    street = await new_case(client, town.tenant, settings)
    office = await new_case(client, town.parking, settings)
    sabine = await _staff(person, town, town.sabine_email)
    try:
        form = await _choose(sabine, [street, office])
        answer = await sabine.post("/staff/bulk", data={**form, "action": "assign", "assignee": town.bernd_id})
        assert answer.status_code == 200
        assert _outcomes(answer.text) == {street.reference: "assignee", office.reference: "done"}
        assert "Bernd Büro does not work on this request&#39;s department." in answer.text
        mine = await sabine.post("/staff/bulk", data={**await _choose(sabine, [street, office]), "action": "assign"})
        assert _outcomes(mine.text) == {street.reference: "unchanged", office.reference: "done"}, "nobody: unassigned"
        assert (await case_of(settings, f"/r/{office.tracking_token}")).assignee_id is None
        again = await sabine.post(
            "/staff/bulk", data={**await _choose(sabine, [street]), "action": "assign", "assignee": town.sabine_id}
        )
        assert _outcomes(again.text) == {street.reference: "done"}
    finally:
        await sabine.__aexit__(None, None, None)
    assert str((await case_of(settings, f"/r/{street.tracking_token}")).assignee_id) == town.sabine_id
    kinds = [e.kind for e in await events_of(settings, office.id)]
    assert kinds == ["submitted", "assigned", "assigned"]


@pytest.mark.parametrize(
    ("change", "field", "text"),
    [
        ({"case_ids": []}, "case_ids", "Please choose at least one request."),
        ({"case_ids": ["nonsense"]}, "case_ids", "Please choose at least one request."),
        ({"action": "delete"}, "action", "Please choose what to do with the chosen requests."),
        ({"action": "status", "to_status": "withdrawn"}, "to_status", "Please choose the new status."),
        ({"action": "status", "to_status": "needs_info", "message": ""}, "message", "Please write what information"),
        ({"action": "status", "to_status": "in_review", "message": "x" * 5001}, "message", "The message is too long"),
        ({"action": "assign", "assignee": "somebody"}, "assignee", "Please choose a person from the list."),
        ({"action": "assign", "assignee": str(uuid.uuid4())}, "assignee", "Please choose a person from the list."),
    ],
)
async def test_bad_bulk_input_shows_the_form_again_with_the_choice_and_the_text_kept(
    person: Person,
    client: Client,
    town: Town,
    settings: Settings,
    change: dict[str, Any],
    field: str,
    text: str,
) -> None:
    case = await new_case(client, town.tenant, settings)
    clerk = await _staff(person, town, town.tenant.clerk_email)
    try:
        form = await _choose(clerk, [case], "/staff?priority=normal")
        data = {**form, "action": "status", "to_status": "needs_info", "message": "Bitte Foto schicken", **change}
        answer = await clerk.post("/staff/bulk", data=data)
        assert answer.status_code == 422
        assert text in answer.text
        assert f'href="#bulk-{field}"' in answer.text, "the summary links to the field"
        assert f'id="bulk-{field}"' in answer.text
        if change.get("case_ids") is None:
            assert f'value="{case.id}" checked' in answer.text, "the choice is kept"
        if "message" not in change:
            assert ">Bitte Foto schicken</textarea>" in answer.text, "the text is kept"
        assert 'href="/staff?priority=normal"' in answer.text, "the way back keeps the list's filter"
    finally:
        await clerk.__aexit__(None, None, None)
    assert (await case_of(settings, f"/r/{case.tracking_token}")).version == 1


async def test_more_than_100_cases_are_refused_with_a_clear_message(
    person: Person, client: Client, town: Town, settings: Settings
) -> None:
    case = await new_case(client, town.tenant, settings)
    clerk = await _staff(person, town, town.tenant.clerk_email)
    try:
        token = csrf_token((await clerk.get("/staff")).text)
        ids = [str(case.id)] + [str(uuid.uuid4()) for _ in range(100)]
        data = {"_csrf_token": token, "case_ids": ids, "action": "status", "to_status": "in_review"}
        answer = await clerk.post("/staff/bulk", data=data)
        assert answer.status_code == 422
        assert "Please choose at most 100 requests at a time (you chose 101)." in answer.text
        assert f'value="{case.id}" checked' in answer.text, "the chosen cases can be unticked there"
    finally:
        await clerk.__aexit__(None, None, None)
    assert (await case_of(settings, f"/r/{case.tracking_token}")).status == "submitted"
