"""Shared fixtures: a migrated database (SQLite or PostgreSQL, from RATHAUS_TEST_DATABASE), the app, factories."""

from __future__ import annotations

import os
import re
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from backend.app import create_app
from backend.core.migrate import upgrade
from backend.settings import Settings
from tests.factories import TenantFixture, make_tenant

TEST_SECRET = "test-secret-key-that-is-long-enough-for-production-0123456789"


def _database_url(tmp: Path) -> str:
    target = os.environ.get("RATHAUS_TEST_DATABASE", "sqlite")
    if target == "sqlite":
        return f"sqlite+aiosqlite:///{tmp / 'test.db'}"
    return target


@pytest.fixture(scope="session")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    data_dir = tmp_path_factory.mktemp("data")
    settings = Settings(
        env="development",
        database_url=_database_url(data_dir),
        data_dir=data_dir,
        base_domain="localhost",
        secret_key=TEST_SECRET,
        https=False,
        max_upload_bytes=2 * 1024 * 1024,
        max_files=3,
        # Tests drive delivery themselves (tests/integration/notifications); no background worker races them.
        run_worker=False,
        push_endpoint_allowlist=("127.0.0.1",),
        # Webhook tests (and the route table's world) receive on loopback.
        webhook_allow_private=True,
        # Live-update streams end soon, so that a test client reading one to its end is not held up.
        live_stream_seconds=0.2,
    ).with_defaults()
    upgrade(settings.database_url)
    yield settings


@pytest.fixture
def app(settings: Settings) -> Litestar:
    return create_app(settings)


@pytest.fixture
async def tenant(settings: Settings) -> TenantFixture:
    return await make_tenant(settings)


@pytest.fixture
async def other_tenant(settings: Settings) -> TenantFixture:
    return await make_tenant(settings)


@pytest.fixture
async def client(app: Litestar, tenant: TenantFixture) -> AsyncIterator[AsyncTestClient[Litestar]]:
    async with AsyncTestClient(app, base_url=f"http://{tenant.host}") as c:
        yield c


Person = Callable[[str], AsyncTestClient[Litestar]]


@pytest.fixture
def person(settings: Settings) -> Person:
    """Another person with their own browser (cookie jar), served by their own app instance.

    Each instance has its own connection pool, as separate server processes would.
    """

    def make(host: str) -> AsyncTestClient[Litestar]:
        return AsyncTestClient(create_app(settings), base_url=f"http://{host}")

    return make


# A form's hidden field, or the page's meta tag (pages whose scripts send the token, like the tracking page).
CSRF_RE = re.compile(r'name="_csrf_token" value="([^"]+)"|<meta name="csrf-token" content="([^"]+)"')


def csrf_token(html: str) -> str:
    match = CSRF_RE.search(html)
    assert match, "page has no CSRF token"
    return match.group(1) or match.group(2)
