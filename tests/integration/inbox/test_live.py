"""Live updates: changes reach the open inboxes of the municipality's staff over Server-Sent Events,
across app instances, never another municipality's, and never before the change is committed."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import re
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any

import httpx
import pytest

from backend.app import create_app
from backend.settings import Settings
from tests.e2e.conftest import LiveServer, serve_in_thread
from tests.factories import TenantFixture
from tests.helpers import login, staff_post, submit_case
from tests.integration.cases.conftest import browser
from tests.integration.inbox.town import make_town


@pytest.fixture
def streaming(settings: Settings) -> Settings:
    return dataclasses.replace(settings, live_stream_seconds=30.0)


@contextmanager
def instance(settings: Settings) -> Iterator[LiveServer]:
    with serve_in_thread(create_app(settings), name="live-uvicorn") as server:
        yield server


class Stream:
    """Reads the stream in the background, so that waiting for an event can time out without closing it."""

    def __init__(self, response: httpx.Response) -> None:
        self.lines: asyncio.Queue[str | None] = asyncio.Queue()
        self._reader = asyncio.create_task(self._read(response))

    async def _read(self, response: httpx.Response) -> None:
        try:
            async for line in response.aiter_lines():
                await self.lines.put(line)
        finally:
            await self.lines.put(None)

    async def close(self) -> None:
        self._reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._reader

    async def next_line(self) -> str:
        line = await self.lines.get()
        if line is None:
            raise AssertionError("the stream ended")
        return line

    async def next_event(self, within: float = 10) -> dict[str, Any]:
        """The next ``case`` event's data (comments and keep-alives skipped)."""
        async with asyncio.timeout(within):
            kind = ""
            while True:
                line = await self.next_line()
                if line.startswith("event:"):
                    kind = line.partition(":")[2].strip()
                elif line.startswith("data:") and kind == "case":
                    return json.loads(line.partition(":")[2])  # type: ignore[no-any-return]

    async def nothing_within(self, seconds: float) -> None:
        with pytest.raises(TimeoutError):
            await self.next_event(within=seconds)


@asynccontextmanager
async def person(server: LiveServer, tenant: TenantFixture) -> AsyncIterator[httpx.AsyncClient]:
    """A browser that follows redirects, as the page helpers expect."""
    async with browser(server, tenant) as client:
        client.follow_redirects = True
        yield client


@asynccontextmanager
async def events(server: LiveServer, tenant: TenantFixture, email: str | None = None) -> AsyncIterator[Stream]:
    """The stream of a member of staff (the factory's clerk, of the street-light service's department)."""
    async with browser(server, tenant) as clerk:
        assert (await login(clerk, email or tenant.clerk_email, tenant.password)).status_code == 303
        async with clerk.stream("GET", "/staff/events") as response:
            assert response.status_code == 200
            assert response.headers["content-type"].startswith("text/event-stream")
            assert response.headers["cache-control"] == "no-store"
            assert "content-encoding" not in response.headers  # events leave at once, not in a gzip buffer
            stream = Stream(response)
            first = await stream.next_line()
            assert first.startswith(": ready") or first.startswith("retry:"), first
            try:
                yield stream
            finally:
                await stream.close()


async def test_a_new_case_and_a_colleagues_change_appear_on_the_stream(
    streaming: Settings, tenant: TenantFixture, other_tenant: TenantFixture
) -> None:
    with instance(streaming) as server:
        async with events(server, tenant) as stream:
            async with person(server, tenant) as phone:
                await submit_case(phone, tenant, photo=False)
            submitted = await stream.next_event()
            assert submitted["change"] == "submitted"
            assert set(submitted) == {"case", "change", "departments"}  # no personal data on the wire

            # Another municipality's new case is not this inbox's business.
            async with person(server, other_tenant) as elsewhere:
                await submit_case(elsewhere, other_tenant, key="other-device-key-0123456789", photo=False)
            await stream.nothing_within(1.5)

            async with person(server, tenant) as colleague:
                assert (await login(colleague, tenant.admin_email, tenant.password)).status_code == 303
                case_page = f"/staff/cases/{submitted['case']}"
                answer = await staff_post(
                    colleague, case_page, f"{case_page}/status", {"to_status": "in_review", "message": ""}
                )
                assert answer.status_code in (200, 303), answer.text
            changed = await stream.next_event()
            assert changed == {
                "case": submitted["case"],
                "change": "status_changed",
                "departments": submitted["departments"],
            }


async def test_a_clerk_hears_of_the_cases_of_their_departments_only(streaming: Settings, tenant: TenantFixture) -> None:
    town = await make_town(streaming, tenant)
    with instance(streaming) as server:
        async with (
            events(server, tenant) as clara,  # the Straßenbetrieb's
            events(server, tenant, town.bernd_email) as bernd,  # the Bürgerbüro's, with the parking service
            events(server, tenant, town.sabine_email) as sabine,  # a supervisor: every department
        ):
            async with person(server, tenant) as phone:
                await submit_case(phone, town.parking, key="parking-device-key-0123456789", photo=False)
            parking = await bernd.next_event()
            assert parking["departments"] == [uuid.UUID(town.office).hex]
            assert (await sabine.next_event())["case"] == parking["case"]
            await clara.nothing_within(1.5)

            # Handed to the Straßenbetrieb: both departments hear of it (one to show it, one to drop it).
            async with person(server, tenant) as colleague:
                assert (await login(colleague, town.sabine_email, tenant.password)).status_code == 303
                case_page = f"/staff/cases/{parking['case']}"
                moved = await staff_post(colleague, case_page, f"{case_page}/department", {"department": town.streets})
                assert moved.status_code in (200, 303), moved.text
            assert (await clara.next_event())["case"] == parking["case"]
            assert (await bernd.next_event())["case"] == parking["case"]


async def test_a_refused_change_is_never_announced(streaming: Settings, tenant: TenantFixture) -> None:
    with instance(streaming) as server:
        async with person(server, tenant) as phone:
            await submit_case(phone, tenant, photo=False)
        async with events(server, tenant) as stream:
            async with person(server, tenant) as colleague:
                assert (await login(colleague, tenant.admin_email, tenant.password)).status_code == 303
                inbox = await colleague.get("/staff")
                case_id = re.findall(r'href="/staff/cases/([0-9a-f-]{36})"', inbox.text)[0]
                case_page = f"/staff/cases/{case_id}"
                # A status the workflow does not know: refused, rolled back, and so never announced.
                refused = await staff_post(colleague, case_page, f"{case_page}/status", {"to_status": "nonsense"})
                assert refused.status_code >= 400
            await stream.nothing_within(1.5)


async def test_the_stream_is_for_logged_in_staff_only(streaming: Settings, tenant: TenantFixture) -> None:
    with instance(streaming) as server:
        async with browser(server, tenant) as stranger:
            response = await stranger.get("/staff/events", follow_redirects=False)
            assert response.status_code in (302, 303, 401)
            assert not response.headers.get("content-type", "").startswith("text/event-stream")


async def test_a_case_submitted_on_one_instance_reaches_the_stream_of_another(
    streaming: Settings, tenant: TenantFixture
) -> None:
    if streaming.is_sqlite:
        pytest.skip("the embedded database runs as one process; instances share events through PostgreSQL")
    with instance(streaming) as first, instance(streaming) as second:
        async with events(first, tenant) as stream:
            async with person(second, tenant) as phone:
                await submit_case(phone, tenant, photo=False)
            assert (await stream.next_event())["change"] == "submitted"
