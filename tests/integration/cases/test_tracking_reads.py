"""On the embedded database the tracking page reads its case on the event loop's thread (backend/core/sqlite.py):
its short reads by key make no trip to a connection's thread, and the page still shows the case as it is now."""

from __future__ import annotations

import aiosqlite.core
import pytest

from backend.settings import Settings
from tests.conftest import csrf_token
from tests.factories import TenantFixture
from tests.helpers import Client, submit_case

CASE_TABLES = ("case_file", "case_event", "case_feedback", "attachment")


def _statement(fn: object) -> str:
    """The SQL a trip runs (the one-trip cursor's closure holds it), or ''."""
    for cell in getattr(fn, "__closure__", None) or ():
        if isinstance(cell.cell_contents, str):
            return cell.cell_contents
    return ""


async def test_the_tracking_page_reads_its_case_without_a_trip_to_a_connection_thread(
    settings: Settings, client: Client, tenant: TenantFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not settings.is_sqlite:
        pytest.skip("only the embedded database's connections have a thread of their own")
    path = await submit_case(client, tenant, photo=True)  # with a photo: the page reads the case's files too
    trips: list[str] = []
    original = aiosqlite.core.Connection._execute

    async def counted(self: aiosqlite.core.Connection, fn, *args, **kwargs):  # type: ignore[no-untyped-def]
        statement = _statement(fn)
        # The app's own sweeps (drafts, sign-ins) may run meanwhile: only the case's tables count.
        if any(table in statement for table in CASE_TABLES):
            trips.append(statement)
        return await original(self, fn, *args, **kwargs)

    monkeypatch.setattr(aiosqlite.core.Connection, "_execute", counted)
    for _ in range(3):
        page = await client.get(path)
        assert page.status_code == 200
        assert "lamp.jpg" in page.text
    assert trips == []

    # The reads are fresh: a withdrawal shows at once.
    confirm = await client.get(f"{path}/withdraw")
    data = {"_csrf_token": csrf_token(confirm.text), "reason": "Schon repariert"}
    done = await client.post(f"{path}/withdraw", data=data, follow_redirects=False)
    assert done.status_code == 303
    assert trips, "the withdrawal writes on the connection's thread"
    after = (await client.get(path)).text
    assert 'class="status-box status-withdrawn"' in after and "Schon repariert" in after
