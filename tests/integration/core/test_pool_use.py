"""A citizen page served from the caches (tenants/changes.py) takes no database connection from the pool; a page
that reads the database takes one, which goes back when the answer is sent."""

from __future__ import annotations

import asyncio
from typing import Any

from litestar import Litestar
from sqlalchemy import event

from tests.factories import TenantFixture
from tests.helpers import Client, submit_case

# The app's own background tasks take connections whenever they run: only the requests' are counted.
BACKGROUND = ("run_periodically", "listen", "run_forever")


async def test_pages_from_the_caches_take_no_connection_and_others_give_theirs_back(
    app: Litestar, client: Client, tenant: TenantFixture
) -> None:
    tracking = await submit_case(client, tenant, photo=False)
    pages = ("/", f"/s/{tenant.service_slug}/form")
    for path in pages:  # fills the caches
        assert (await client.get(path)).status_code == 200

    taken: list[str] = []
    returned: list[str] = []

    def by_request(into: list[str]) -> Any:
        def note(*_args: Any) -> None:
            task = asyncio.current_task()
            name = getattr(task.get_coro(), "__qualname__", "") if task else ""
            if not name.endswith(BACKGROUND):
                into.append(name)

        return note

    engine = app.state.db.get_engine().sync_engine
    event.listen(engine, "checkout", by_request(taken))
    event.listen(engine, "checkin", by_request(returned))
    for path in pages:
        page = await client.get(path)
        assert page.status_code == 200
    assert taken == []

    assert (await client.get(tracking)).status_code == 200
    assert len(taken) == 1
    assert len(returned) == 1
