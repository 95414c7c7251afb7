"""Row-level security on PostgreSQL (migration 0033): the database's own wall between municipalities, behind the
application's tenant filter. These tests go past the service layer on purpose, with plain SQL.

The policies hold for every role but superusers and BYPASSRLS roles. The test command runs the suite as such a
role (tests/run.sh); where the suite runs as a superuser, the direct tests take a throwaway role of their own,
and the test of the app's own sessions is skipped.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, create_async_engine

from backend.catalogue.models import Service
from backend.core.db import Base, alchemy_config, read_only, tenant_session, unscoped_session
from backend.settings import Settings
from backend.tenants.models import TenantHost
from tests.factories import TenantFixture

TENANT_TABLES = sorted(t.name for t in Base.metadata.sorted_tables if "tenant_id" in t.c)


@pytest.fixture(autouse=True)
def postgres_only(settings: Settings) -> None:
    if settings.is_sqlite:
        pytest.skip("row-level security is PostgreSQL's")


@asynccontextmanager
async def walled(settings: Settings) -> AsyncIterator[AsyncConnection]:
    """A connection in a transaction (rolled back at the end) as a role the policies hold for."""
    engine = create_async_engine(settings.database_url)
    try:
        async with engine.connect() as conn:
            await conn.begin()
            if (
                await conn.execute(text("SELECT rolsuper OR rolbypassrls FROM pg_roles WHERE rolname = current_user"))
            ).scalar():
                probe = f"rathaus_rls_probe_{secrets.token_hex(4)}"  # gone again with the rollback
                await conn.execute(text(f"CREATE ROLE {probe} NOLOGIN"))
                await conn.execute(
                    text(f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {probe}")
                )
                await conn.execute(text(f"SET LOCAL ROLE {probe}"))
            try:
                yield conn
            finally:
                await conn.rollback()
    finally:
        await engine.dispose()


async def name(conn: AsyncConnection, value: str) -> None:
    await conn.execute(text("SELECT set_config('rathaus.tenant', :v, true)"), {"v": value})


async def count(conn: AsyncConnection, table: str, where: str = "true", **params: object) -> int:
    return int((await conn.execute(text(f'SELECT count(*) FROM "{table}" WHERE {where}'), params)).scalar_one())


async def test_every_table_of_a_municipality_has_the_wall(settings: Settings) -> None:
    """A table added later with a tenant_id column and no policy makes this fail."""
    async with walled(settings) as conn:
        rows = await conn.execute(
            text(
                "SELECT c.relname, c.relrowsecurity, c.relforcerowsecurity,"
                " EXISTS (SELECT FROM pg_policies p WHERE p.tablename = c.relname AND p.policyname = 'tenant_wall')"
                " FROM pg_class c WHERE c.relnamespace = current_schema()::regnamespace AND c.relname = ANY(:names)"
            ),
            {"names": TENANT_TABLES},
        )
        found = {r[0]: r[1:] for r in rows}
    assert set(found) == set(TENANT_TABLES)
    assert [t for t, flags in found.items() if flags != (True, True, True)] == []


async def test_sql_that_forgets_the_municipality_still_reaches_only_its_own_rows(
    settings: Settings, tenant: TenantFixture, other_tenant: TenantFixture
) -> None:
    own, other = str(tenant.id), str(other_tenant.id)
    async with walled(settings) as conn:
        # No municipality named: no row of any table.
        await name(conn, "")
        assert {t: await count(conn, t) for t in TENANT_TABLES} == dict.fromkeys(TENANT_TABLES, 0)

        await name(conn, own)
        assert await count(conn, "service") == await count(conn, "service", "tenant_id = :t", t=own) > 0
        assert await count(conn, "service", "tenant_id = :t", t=other) == 0
        assert await count(conn, "tenant_host", "tenant_id = :t", t=other) == 0
        changed = await conn.execute(text("UPDATE service SET name = name WHERE tenant_id = :t"), {"t": other})
        assert changed.rowcount == 0
        removed = await conn.execute(text("DELETE FROM saved_view WHERE tenant_id = :t"), {"t": other})
        assert removed.rowcount == 0
        # Moving a row to another municipality is refused by the policy's check.
        await conn.execute(text("SAVEPOINT move"))
        with pytest.raises(DBAPIError, match="row-level security"):
            await conn.execute(text("UPDATE service SET tenant_id = :o WHERE tenant_id = :t"), {"o": other, "t": own})
        await conn.execute(text("ROLLBACK TO SAVEPOINT move"))

        # "*": the jobs that span municipalities see both.
        await name(conn, "*")
        assert await count(conn, "service", "tenant_id IN (:a, :b)", a=own, b=other) >= 2


async def test_the_apps_sessions_name_their_municipality(
    settings: Settings, tenant: TenantFixture, other_tenant: TenantFixture
) -> None:
    """Through the app's own sessions: SQL without a filter sees the session's municipality only, a statement
    marked as spanning municipalities sees them all, and the session's wall is back right after it."""
    db = alchemy_config(settings)
    try:
        async with unscoped_session(db) as session:
            role = (
                await session.execute(
                    text("SELECT rolsuper OR rolbypassrls FROM pg_roles WHERE rolname = current_user")
                )
            ).scalar()
        if role:
            pytest.skip(
                "the suite runs as a role that passes row-level security (tests/run.sh makes one that does not)"
            )
        async with tenant_session(db, tenant.id) as session:
            assert (await session.execute(text("SELECT current_setting('rathaus.tenant')"))).scalar() == str(tenant.id)
            everywhere = (await session.execute(text("SELECT count(DISTINCT tenant_id) FROM service"))).scalar()
            assert everywhere == 1
            hosts = await session.scalars(
                select(TenantHost.tenant_id)
                .where(TenantHost.tenant_id == other_tenant.id)
                .execution_options(all_tenants=True)
            )
            assert set(hosts) <= {other_tenant.id}
            spanning = await session.scalar(
                select(Service.id).where(Service.tenant_id == other_tenant.id).execution_options(all_tenants=True)
            )
            assert spanning is not None
            assert (await session.execute(text("SELECT count(DISTINCT tenant_id) FROM service"))).scalar() == 1
        async with unscoped_session(db) as session:
            assert (await session.execute(text("SELECT count(DISTINCT tenant_id) FROM service"))).scalar() >= 2
        async with tenant_session(db, uuid.uuid4()) as session:  # a municipality with nothing
            assert (await session.execute(text("SELECT count(*) FROM service"))).scalar() == 0
    finally:
        await db.get_engine().dispose()


async def test_a_pooled_connection_never_carries_one_sessions_municipality_into_the_next(
    settings: Settings, tenant: TenantFixture, other_tenant: TenantFixture
) -> None:
    """Sessions without a transaction skip setting a value their connection surely holds; a value set inside a
    transaction (which a rollback would take back, or which a commit keeps) is never taken as sure."""
    a, b = tenant.id, other_tenant.id
    db = alchemy_config(settings)
    seen: list[tuple[str, int]] = []

    async def look(session: Any) -> None:
        row = (await session.execute(select(func.current_setting("rathaus.tenant"), func.pg_backend_pid()))).one()
        seen.append((row[0], row[1]))

    async def reading(tenant_id: uuid.UUID) -> None:
        async with tenant_session(db, tenant_id) as session:
            await read_only(session)
            await look(session)

    try:
        await reading(b)
        await reading(b)  # held: not set again
        await reading(a)
        async with tenant_session(db, b) as session:  # in a transaction, committed
            await look(session)
        await reading(a)
        with pytest.raises(RuntimeError):
            async with tenant_session(db, b) as session:  # in a transaction, rolled back
                await look(session)
                raise RuntimeError("rolled back")
        await reading(a)
        await reading(b)
        async with unscoped_session(db) as session:
            await read_only(session)
            await look(session)
    finally:
        await db.get_engine().dispose()
    assert len({pid for _, pid in seen}) == 1, "one connection, reused"
    assert [value for value, _ in seen] == [str(t) for t in (b, b, a, b, a, b, a, b)] + ["*"]


async def test_a_failing_statement_across_municipalities_raises_its_own_error(
    settings: Settings, tenant: TenantFixture, other_tenant: TenantFixture
) -> None:
    db = alchemy_config(settings)
    try:
        async with tenant_session(db, tenant.id) as session:
            failing = select(Service.id).where(text("1 / 0 = 1")).execution_options(all_tenants=True)
            with pytest.raises(DBAPIError, match="division by zero"):
                await session.execute(failing)
            await session.rollback()
            assert (await session.execute(text("SELECT current_setting('rathaus.tenant')"))).scalar() == str(tenant.id)
            mine = await session.scalars(select(Service.tenant_id))
            assert set(mine) == {tenant.id}
    finally:
        await db.get_engine().dispose()
