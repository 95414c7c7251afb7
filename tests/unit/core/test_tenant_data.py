"""TenantData keeps a municipality's page data for a while, never past a change it was told of."""

from __future__ import annotations

import asyncio
import uuid

from backend.core.tenancy import TenantData

TOWN, OTHER = uuid.uuid4(), uuid.uuid4()


def loader(values: list[str], lasts: float | None = None):  # type: ignore[no-untyped-def]
    async def load() -> tuple[str, float | None]:
        values.append(f"v{len(values) + 1}")
        return values[-1], lasts

    return load


async def test_kept_until_forgotten_or_its_time_is_up() -> None:
    kept, loads = TenantData(ttl=30), []
    assert await kept.get(TOWN, "services", loader(loads)) == "v1"
    assert await kept.get(TOWN, "services", loader(loads)) == "v1"
    kept.forget(OTHER)
    assert await kept.get(TOWN, "services", loader(loads)) == "v1", "another town's change leaves it"
    kept.forget(TOWN)
    assert await kept.get(TOWN, "services", loader(loads)) == "v2"
    kept.forget(None)
    assert await kept.get(TOWN, "services", loader(loads)) == "v3"

    short, loads = TenantData(ttl=30), []
    assert await short.get(TOWN, "news", loader(loads, lasts=0.05)) == "v1"  # an announcement starts soon
    await asyncio.sleep(0.06)
    assert await short.get(TOWN, "news", loader(loads, lasts=0.05)) == "v2"


async def test_what_was_loaded_while_a_change_came_in_is_used_once_but_not_kept() -> None:
    kept, loads = TenantData(ttl=30), []
    loading = asyncio.Event()

    async def slow() -> tuple[str, float | None]:
        loading.set()
        await asyncio.sleep(0.05)
        return "old", None

    request = asyncio.create_task(kept.get(TOWN, "services", slow))
    await loading.wait()
    kept.forget(TOWN)  # the change is committed while the request still reads the old rows
    assert await request == "old"
    assert await kept.get(TOWN, "services", loader(loads)) == "v1"
