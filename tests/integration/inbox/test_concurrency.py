"""Two people on one case: a form shown before someone else's change is refused with 409, the current state and the
typed text; on PostgreSQL the check runs under the row lock, so of two simultaneous changes exactly one wins."""

from __future__ import annotations

import asyncio
import re
import threading
from typing import Any

import asyncpg
import pytest
from litestar import Litestar
from litestar.testing import TestClient

from backend.app import create_app
from backend.cases.services import CaseService
from backend.settings import Settings
from tests.conftest import Person, csrf_token
from tests.factories import TenantFixture
from tests.helpers import Client, login
from tests.integration.inbox.town import Town, act, case_of, events_of, make_town, new_case, version_in

CHANGED = "This case was changed by {} meanwhile. Please check the current state and try again."


@pytest.fixture
async def town(settings: Settings, tenant: TenantFixture) -> Town:
    return await make_town(settings, tenant)


async def _staff(person: Person, town: Town, email: str) -> Client:
    client = person(town.tenant.host)
    await client.__aenter__()
    client.headers["Accept-Language"] = "en"
    assert (await login(client, email, town.tenant.password)).status_code == 303
    return client


async def _form(client: Client, case_id: Any) -> dict[str, str]:
    """The case page as shown now: its CSRF token and version, as its forms would send them."""
    page = await client.get(f"/staff/cases/{case_id}")
    assert page.status_code == 200
    return {"_csrf_token": csrf_token(page.text), "version": version_in(page.text)}


@pytest.mark.parametrize(
    ("action", "data", "kept"),
    [
        ("status", {"to_status": "in_review", "message": "Wir prüfen das bis Freitag."}, "Wir prüfen das bis Freitag."),
        ("messages", {"visibility": "public", "body": "Danke für den Hinweis!"}, "Danke für den Hinweis!"),
        ("messages", {"visibility": "internal", "body": "Rückruf bei Frau Ö."}, "Rückruf bei Frau Ö."),
        ("claim", {}, None),
        ("priority", {"priority": "high"}, None),
    ],
)
async def test_a_form_shown_before_a_colleagues_change_is_refused_with_the_current_state_and_the_text_kept(
    person: Person,
    client: Client,
    town: Town,
    settings: Settings,
    action: str,
    data: dict[str, str],
    kept: str | None,
) -> None:
    case = await new_case(client, town.tenant, settings)
    clerk = await _staff(person, town, town.tenant.clerk_email)
    admin = await _staff(person, town, town.tenant.admin_email)
    try:
        old = await _form(clerk, case.id)
        assert old["version"] == "1"
        assert (await act(admin, case.id, "priority", {"priority": "urgent"})).status_code == 303
        refused = await clerk.post(f"/staff/cases/{case.id}/{action}", data={**old, **data}, follow_redirects=False)
        assert refused.status_code == 409
        assert CHANGED.format("Anna Admin") in refused.text
        assert '<span class="badge priority-urgent">Urgent</span>' in refused.text, "the page shows the state now"
        assert version_in(refused.text) == "2", "its forms carry the current version"
        if kept:
            assert re.search(r"<textarea[^>]*>" + re.escape(kept) + "</textarea>", refused.text), "the text is kept"
        after = await case_of(settings, f"/r/{case.tracking_token}")
        assert (after.status, after.version, after.assignee_id) == ("submitted", 2, None), "nothing changed"
        assert [e.kind for e in await events_of(settings, case.id)] == ["submitted", "priority_changed"]
        again = await clerk.post(
            f"/staff/cases/{case.id}/{action}", data={**await _form(clerk, case.id), **data}, follow_redirects=False
        )
        assert again.status_code == 303, "from the current page it works"
    finally:
        await clerk.__aexit__(None, None, None)
        await admin.__aexit__(None, None, None)


async def test_the_citizens_reply_meanwhile_is_named_and_a_form_without_version_is_taken_as_before(
    person: Person, client: Client, town: Town, settings: Settings
) -> None:
    case = await new_case(client, town.tenant, settings)
    clerk = await _staff(person, town, town.tenant.clerk_email)
    try:
        old = await _form(clerk, case.id)
        page = await client.get(f"/r/{case.tracking_token}")
        reply = await client.post(
            f"/r/{case.tracking_token}/reply",
            data={"_csrf_token": csrf_token(page.text), "message": "Die Laterne ist jetzt ganz aus."},
            follow_redirects=False,
        )
        assert reply.status_code == 303, reply.text
        refused = await clerk.post(
            f"/staff/cases/{case.id}/status", data={**old, "to_status": "in_review"}, follow_redirects=False
        )
        assert refused.status_code == 409
        assert "This case was changed by the citizen meanwhile." in refused.text
        for bad in ("", "x"):
            if bad == "":  # an older page without the field: taken as before
                data = {"_csrf_token": old["_csrf_token"], "to_status": "in_review"}
                assert (
                    await clerk.post(f"/staff/cases/{case.id}/status", data=data, follow_redirects=False)
                ).status_code == 303
            else:  # a version that is none is never taken unchecked
                data = {"_csrf_token": old["_csrf_token"], "version": bad, "priority": "low"}
                answer = await clerk.post(f"/staff/cases/{case.id}/priority", data=data, follow_redirects=False)
                assert answer.status_code == 409
    finally:
        await clerk.__aexit__(None, None, None)
    assert (await case_of(settings, f"/r/{case.tracking_token}")).status == "in_review"


def _log_in(client: TestClient[Litestar], email: str, password: str) -> str:
    page = client.get("/staff/login")
    data = {"_csrf_token": csrf_token(page.text), "email": email, "password": password, "next": "/staff"}
    assert client.post("/staff/login", data=data, follow_redirects=False).status_code == 303
    return csrf_token(client.get("/staff").text)


async def test_of_two_simultaneous_status_changes_from_the_same_page_exactly_one_wins(
    client: Client, town: Town, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two people, each with an app of their own (own connection pool), post the same change from the same state.
    The first to lock the case holds the lock until the second is seen waiting for it in the database; then the
    first commits and the second, checking the version under the lock, is refused."""
    if not settings.database_url.startswith("postgresql"):
        pytest.skip("SQLite has one writer at a time: the row lock is PostgreSQL's")
    case = await new_case(client, town.tenant, settings)
    inside, release = threading.Event(), threading.Event()
    locked = CaseService._lock

    async def lock_and_hold(self: CaseService, case_id: Any, version: int | None = None) -> Any:
        found = await locked(self, case_id, version)
        if version is not None and not inside.is_set():
            inside.set()
            await asyncio.to_thread(release.wait, 60)
        return found

    monkeypatch.setattr(CaseService, "_lock", lock_and_hold)
    url = f"/staff/cases/{case.id}/status"
    with (
        TestClient(create_app(settings), base_url=f"http://{town.tenant.host}") as clerk,
        TestClient(create_app(settings), base_url=f"http://{town.tenant.host}") as admin,
    ):
        forms = []
        for who, email in ((clerk, town.tenant.clerk_email), (admin, town.tenant.admin_email)):
            who.headers["Accept-Language"] = "en"
            _log_in(who, email, town.tenant.password)
            page = who.get(f"/staff/cases/{case.id}").text
            forms.append({"_csrf_token": csrf_token(page), "version": version_in(page), "to_status": "in_review"})
        both = asyncio.gather(
            asyncio.to_thread(clerk.post, url, data=forms[0], follow_redirects=False),
            asyncio.to_thread(admin.post, url, data=forms[1], follow_redirects=False),
        )
        assert await asyncio.to_thread(inside.wait, 60), "neither change got the lock"
        watcher = await asyncpg.connect(settings.database_url.replace("+asyncpg", ""))
        try:
            for _ in range(1500):
                waiting = await watcher.fetchval(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                    "AND wait_event_type = 'Lock'"
                )
                if waiting:
                    break
                await asyncio.sleep(0.02)
            else:
                release.set()
                await both
                pytest.fail("the second change never waited for the first one's row lock")
        finally:
            await watcher.close()
        release.set()
        answers = await both
    codes = sorted(a.status_code for a in answers)
    assert codes == [303, 409], codes
    loser = next(a for a in answers if a.status_code == 409)
    winner = "Clara Clerk" if answers[0].status_code == 303 else "Anna Admin"
    assert CHANGED.format(winner) in loser.text
    changes = [e for e in await events_of(settings, case.id) if e.kind == "status_changed"]
    assert len(changes) == 1 and changes[0].actor_name == winner
    after = await case_of(settings, f"/r/{case.tracking_token}")
    assert (after.status, after.version) == ("in_review", 2)
