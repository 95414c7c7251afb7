"""Connections the database server dropped cost at most one error page, never a stack trace, and the pool heals.

The pool does not ping a connection before each use (that cost three round trips per request on asyncpg):
a dead connection fails its next statement instead, and SQLAlchemy then replaces the pool's connections.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from advanced_alchemy.extensions.litestar import SQLAlchemyAsyncConfig
from sqlalchemy import text

from backend.core.db import alchemy_config, unscoped_session
from backend.settings import Settings
from tests.conftest import Person
from tests.factories import TenantFixture
from tests.helpers import submit_case


@pytest.fixture
async def db(settings: Settings) -> AsyncIterator[SQLAlchemyAsyncConfig]:
    if settings.is_sqlite:
        pytest.skip("an embedded database has no server that could drop connections")
    config = alchemy_config(settings)
    yield config
    await config.get_engine().dispose()


async def test_dropped_connections_give_one_error_page_at_most_and_the_pool_recovers(
    person: Person, tenant: TenantFixture, db: SQLAlchemyAsyncConfig
) -> None:
    async with person(tenant.host) as citizen:
        tracking = await submit_case(citizen, tenant, photo=False)
        assert (await citizen.get(tracking)).status_code == 200  # the app's pool holds connections now

        async with unscoped_session(db) as session:
            killed = await session.scalar(
                text(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
            )
        assert killed

        statuses = []
        for _ in range(3):
            page = await citizen.get(tracking)
            statuses.append(page.status_code)
            if page.status_code != 200:
                assert page.status_code == 500
                assert "Traceback" not in page.text and "asyncpg" not in page.text
                assert "Something went wrong" in page.text or "Fehler aufgetreten" in page.text
        assert statuses.count(500) <= 1 and statuses[-1] == 200
