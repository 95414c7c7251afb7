"""The local S3-compatible server for the object storage tests (tests/s3server.py), and the world the route
table's tests call the routes in (one per module that asks for it)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest_asyncio

from backend.settings import Settings
from tests.factories import make_tenant
from tests.integration.core.routes import World, close_world, make_world
from tests.s3server import s3_endpoint, s3_settings  # noqa: F401  (fixtures)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def world(settings: Settings) -> AsyncIterator[World]:
    tenant = await make_tenant(settings)
    world = await make_world(settings, tenant)
    yield world
    await close_world(world)
