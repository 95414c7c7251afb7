"""Real servers for tests that need requests to run at the same time.

The test client runs each request to its end before the next starts, so "at once" needs uvicorn:
each ``live`` server is one app on its own event loop in its own thread, like a separate process.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractContextManager, asynccontextmanager, contextmanager

import httpx
import pytest

from backend.app import create_app
from backend.settings import Settings
from tests.e2e.conftest import LiveServer, serve_in_thread
from tests.factories import TenantFixture

Live = Callable[[], AbstractContextManager[LiveServer]]


@pytest.fixture
def live(settings: Settings) -> Live:
    @contextmanager
    def start() -> Iterator[LiveServer]:
        with serve_in_thread(create_app(settings), name="cases-uvicorn") as server:
            yield server

    return start


@asynccontextmanager
async def browser(server: LiveServer, tenant: TenantFixture) -> AsyncIterator[httpx.AsyncClient]:
    """One person's browser (cookie jar) talking to a live server as the municipality's host."""
    async with httpx.AsyncClient(
        base_url=f"http://127.0.0.1:{server.port}", headers={"Host": tenant.host}, timeout=60
    ) as client:
        yield client


async def csrf(client: httpx.AsyncClient, path: str) -> str:
    page = await client.get(path)
    match = re.search(r'name="_csrf_token" value="([^"]+)"', page.text)
    assert match, page.text
    return match.group(1)
