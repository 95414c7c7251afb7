"""Tenant isolation over the whole route table: every route that names an object (a case, a file, a person, a
department, a news item, a template, a forward, a link) is called by the people of one municipality - a citizen,
a clerk, an admin - with the objects of another. Every call answers 403 or 404 (410 for a link, the few others
listed with their reason), and not one row of the other
municipality changes. A route added later is covered by itself: its objects come from the world both
municipalities are built with (tests.integration.core.routes)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
import pytest_asyncio
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import func, select, update

from backend.accounts import throttle
from backend.accounts.citizens import SESSION_COOKIE
from backend.app import create_app
from backend.cases.models import Case
from backend.core.db import Base, alchemy_config, tenant_session, unscoped_session
from backend.settings import Settings
from tests.conftest import csrf_token
from tests.factories import make_tenant
from tests.helpers import login
from tests.integration.core.routes import ENDPOINTS, Endpoint, World, close_world, fill, make_world

pytestmark = pytest.mark.asyncio(loop_scope="module")

# What a form may hold, so that a route checking its form before its object still reaches the object.
FORM = {
    "message": "x",
    "body": "x",
    "title": "x",
    "name": "x",
    "to_status": "in_review",
    "visibility": "internal",
    "priority": "high",
    "confirm": "yes",
    "reason": "x",
    "resolved": "no",
    "rating": "3",
}
# Routes that answer another municipality's object otherwise than 403/404, with the reason; each still changes
# nothing (checked below).
OTHER_ANSWERS: dict[str, tuple[int, str]] = {
    "POST /staff/account/sessions/{session_id:uuid}/end": (
        303,
        "ends one of the person's own sessions; any other id ends nothing and shows their list again",
    ),
}
# A private link (tracking, invitation, password reset, forward) it does not know - expired, used or never issued:
# the same "this link is no longer valid" page whatever the reason, so 410 tells nothing either.
NOT_HERE = (403, 404, 410)
# The routes that name an object of the municipality (a route whose parameters are the same everywhere, such as
# a service's address name or a language code, reaches nothing of another municipality's).
NAMED = [e for e in ENDPOINTS if "{" in e.path]


@dataclass
class Towns:
    home: World
    foreign: World
    clerk: AsyncTestClient[Litestar]


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def towns(settings: Settings) -> AsyncIterator[Towns]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(throttle, "FAILURE_DELAY_SECONDS", 0.0)
        home = await make_world(settings, await make_tenant(settings))
        foreign = await make_world(settings, await make_tenant(settings))
        await _renumber(settings, foreign)
        # The citizen is signed in to an account: the account's routes then reach as far as they can.
        home.citizen.cookies.set(SESSION_COOKIE, home.values["citizen_session"])
        clerk = AsyncTestClient(create_app(settings), base_url=f"http://{home.tenant.host}")
        await clerk.__aenter__()
        assert (await login(clerk, home.tenant.clerk_email, home.tenant.password)).status_code == 303
        yield Towns(home, foreign, clerk)
        await clerk.__aexit__(None, None, None)
        await close_world(home)
        await close_world(foreign)


async def _renumber(settings: Settings, world: World) -> None:
    """Both towns' first case is 2026-00001: the other town's gets a reference of its own, so that the routes
    naming a case by its reference (the JSON API, Open311) are tried with it."""
    reference = "2026-09999"
    db = alchemy_config(settings)
    try:
        async with tenant_session(db, world.tenant.id) as session:
            await session.execute(
                update(Case).where(Case.reference == world.values["reference"]).values(reference=reference)
            )
    finally:
        await db.get_engine().dispose()
    world.values["request_file"] = world.values["request_file"].replace(world.values["reference"], reference)
    world.values["reference"] = reference


async def _rows_of(settings: Settings, tenant_id: Any) -> dict[str, tuple[int, Any]]:
    """Per table with a municipality column: how many rows the municipality has and their latest change."""
    db = alchemy_config(settings)
    found: dict[str, tuple[int, Any]] = {}
    try:
        async with unscoped_session(db) as session:
            for table in Base.metadata.sorted_tables:
                if "tenant_id" not in table.c:
                    continue
                latest = func.max(table.c.updated_at) if "updated_at" in table.c else func.count()
                row = (await session.execute(select(func.count(), latest).where(table.c.tenant_id == tenant_id))).one()
                found[table.name] = (row[0], row[1])
    finally:
        await db.get_engine().dispose()
    return found


def _path(endpoint: Endpoint, towns: Towns) -> str | None:
    """The route filled with the other municipality's objects; None when it names none of them."""
    own, theirs = fill(endpoint.path, towns.home.values), fill(endpoint.path, towns.foreign.values)
    return theirs if theirs != own else None


@pytest.mark.parametrize("role", ["citizen", "clerk", "admin"])
async def test_no_route_reaches_an_object_of_another_municipality(settings: Settings, towns: Towns, role: str) -> None:
    before = await _rows_of(settings, towns.foreign.tenant.id)
    routes = [e for e in NAMED if e.staff == (role != "citizen")]
    client = {"citizen": towns.home.citizen, "clerk": towns.clerk, "admin": towns.home.staff}[role]
    tried, leaks, reached = 0, [], []
    for endpoint in routes:
        path = _path(endpoint, towns)
        if path is None:
            continue
        await towns.home.ensure_staff_login(endpoint)
        page = "/staff" if endpoint.staff else f"/s/{towns.home.tenant.service_slug}/form"
        data = None
        if endpoint.method != "GET":
            data = {"_csrf_token": csrf_token((await client.get(page)).text), **FORM}
        # The JSON API with the home town's key (read and write): it must not reach the other town's case.
        headers = {"Authorization": f"Bearer {towns.home.values['api_key']}"} if path.startswith("/api/") else {}
        if path.startswith("/api/") and data is not None:
            response = await client.request(
                endpoint.method,
                path,
                json={"status": "completed", "message": "x"} if path.endswith("/status") else {"body": "x"},
                headers=headers,
            )
        else:
            response = await client.request(endpoint.method, path, data=data, headers=headers, follow_redirects=False)
        tried += 1
        reached.append(endpoint.path)
        expected = OTHER_ANSWERS.get(endpoint.id, (None, ""))[0]
        if response.status_code not in NOT_HERE and response.status_code != expected:
            leaks.append(f"{endpoint.id} as {role}: {response.status_code}")
    assert tried >= (25 if role != "citizen" else 8), f"only {tried} routes tried"
    assert not leaks, leaks
    if role == "citizen":  # the case's reference names it in the JSON API and Open311 too
        assert {p for p in reached if "{reference" in p or "{request_file" in p}, reached
        # ... and the key that found nothing there finds the home town's own case.
        own = f"/api/v1/cases/{towns.home.values['reference']}"
        headers = {"Authorization": f"Bearer {towns.home.values['api_key']}"}
        assert (await client.get(own, headers=headers)).status_code == 200
    after = await _rows_of(settings, towns.foreign.tenant.id)
    changed = {t: (before[t], after[t]) for t in before if before[t] != after[t]}
    assert not changed, changed
