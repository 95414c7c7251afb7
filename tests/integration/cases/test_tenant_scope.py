"""The cached tenant criterion: one process serving several municipalities in turn never mixes up their rows."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
from advanced_alchemy.extensions.litestar import SQLAlchemyAsyncConfig
from sqlalchemy import func, select, update

from backend.cases.models import Case
from backend.catalogue.models import FormVersion, Service
from backend.core.db import ALL_TENANTS, alchemy_config, tenant_criteria, tenant_session, unscoped_session
from backend.settings import Settings
from tests.factories import TenantFixture


@pytest.fixture
async def db(settings: Settings) -> AsyncIterator[SQLAlchemyAsyncConfig]:
    config = alchemy_config(settings)
    yield config
    await config.get_engine().dispose()


async def _visible(db: SQLAlchemyAsyncConfig, tenant_id: uuid.UUID | None) -> set[uuid.UUID]:
    """Tenant ids of the services (and, joined, their form versions) one municipality's session sees."""
    async with tenant_session(db, tenant_id) as session:
        rows = await session.execute(
            select(Service.tenant_id, FormVersion.tenant_id).outerjoin(
                FormVersion, FormVersion.service_id == Service.id
            )
        )
        return {t for pair in rows for t in pair if t is not None}


def test_the_criterion_is_built_once_per_municipality() -> None:
    a, b = uuid.uuid4(), uuid.uuid4()
    assert tenant_criteria(a) is tenant_criteria(a)
    assert tenant_criteria(a) is not tenant_criteria(b)


async def test_alternating_municipalities_each_see_only_their_own_rows(
    db: SQLAlchemyAsyncConfig, tenant: TenantFixture, other_tenant: TenantFixture
) -> None:
    # The same statement shapes run for A, B, A, B ... on one engine: its compiled SQL is cached after the
    # first run, so a tenant id baked into the cache would show up as the other municipality's rows here.
    for _ in range(3):
        for t in (tenant, other_tenant):
            assert await _visible(db, t.id) == {t.id}
            async with tenant_session(db, t.id) as session:
                services = list(await session.scalars(select(Service)))
                assert services and {s.tenant_id for s in services} == {t.id}
                by_slug = await session.scalar(select(Service).where(Service.slug == "street-light"))
                assert by_slug is not None and by_slug.tenant_id == t.id


async def test_sessions_of_two_municipalities_open_at_once_stay_apart(
    db: SQLAlchemyAsyncConfig, tenant: TenantFixture, other_tenant: TenantFixture
) -> None:
    async with tenant_session(db, tenant.id) as a, tenant_session(db, other_tenant.id) as b:
        for _ in range(3):
            assert {s.tenant_id for s in await a.scalars(select(Service))} == {tenant.id}
            assert {s.tenant_id for s in await b.scalars(select(Service))} == {other_tenant.id}


async def test_a_session_without_municipality_sees_nothing_and_the_opt_out_sees_all(
    db: SQLAlchemyAsyncConfig, tenant: TenantFixture, other_tenant: TenantFixture
) -> None:
    assert await _visible(db, None) == set()
    async with tenant_session(db, tenant.id) as session:
        everything = await session.scalars(select(Service.tenant_id).execution_options(**{ALL_TENANTS: True}))
        assert {tenant.id, other_tenant.id} <= set(everything)
    async with unscoped_session(db) as session:
        assert {tenant.id, other_tenant.id} <= set(await session.scalars(select(Service.tenant_id)))


async def test_updates_of_one_municipality_leave_the_others_rows_alone(
    db: SQLAlchemyAsyncConfig, tenant: TenantFixture, other_tenant: TenantFixture
) -> None:
    for t in (tenant, other_tenant, tenant):
        async with tenant_session(db, t.id) as session:
            await session.execute(
                update(Service)
                .where(Service.slug == "street-light")
                .values(keywords=f"changed by {t.slug}")
                .execution_options(synchronize_session=False)
            )
    async with unscoped_session(db) as session:
        keywords = dict(
            (await session.execute(select(Service.tenant_id, Service.keywords).where(Service.slug == "street-light")))
            .tuples()
            .all()
        )
    assert keywords[tenant.id] == f"changed by {tenant.slug}"
    assert keywords[other_tenant.id] == f"changed by {other_tenant.slug}"


async def test_counting_is_scoped_too(
    db: SQLAlchemyAsyncConfig, tenant: TenantFixture, other_tenant: TenantFixture
) -> None:
    for t in (tenant, other_tenant):
        async with tenant_session(db, t.id) as session:
            assert await session.scalar(select(func.count()).select_from(Service)) == 1
            assert await session.scalar(select(func.count(Case.id))) == 0
