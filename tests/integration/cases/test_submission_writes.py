"""How a submission is written: once per idempotency key even when it arrives twice at once, numbered
without gaps, and nothing written by a session that runs without a transaction except single statements."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator

import pytest
from advanced_alchemy.extensions.litestar import SQLAlchemyAsyncConfig
from sqlalchemy import func, select, update

from backend.cases.models import Case, ReferenceCounter
from backend.catalogue.models import Service
from backend.core.db import (
    ReadOnlySessionError,
    alchemy_config,
    scope_session,
    tenant_session,
    unscoped_session,
    without_transaction,
)
from backend.settings import Settings
from tests.conftest import Person
from tests.factories import TenantFixture
from tests.helpers import VALID_ANSWERS, Client, post_form, statements_run, submit_case, submit_from_review


@pytest.fixture
async def db(settings: Settings) -> AsyncIterator[SQLAlchemyAsyncConfig]:
    config = alchemy_config(settings)
    yield config
    await config.get_engine().dispose()


async def _cases_with_key(db: SQLAlchemyAsyncConfig, tenant: TenantFixture, key: str) -> int:
    async with tenant_session(db, tenant.id) as session:
        return await session.scalar(select(func.count(Case.id)).where(Case.idempotency_key == key)) or 0


async def test_the_same_submission_arriving_twice_at_once_makes_one_case(
    person: Person, tenant: TenantFixture, db: SQLAlchemyAsyncConfig
) -> None:
    key = "same-time-key-0123456789"
    async with person(tenant.host) as first, person(tenant.host) as second:
        reviews = [await post_form(c, tenant, VALID_ANSWERS, key=key) for c in (first, second)]
        answers = await asyncio.gather(
            submit_from_review(first, tenant, reviews[0].text), submit_from_review(second, tenant, reviews[1].text)
        )
    assert [a.status_code for a in answers] == [303, 303]
    assert answers[0].headers["location"] == answers[1].headers["location"]
    assert await _cases_with_key(db, tenant, key) == 1


async def test_a_first_submission_is_written_without_looking_up_its_key_first(
    client: Client, tenant: TenantFixture, db: SQLAlchemyAsyncConfig
) -> None:
    """Every submission would pay for a lookup that only a retry needs: the unique key tells a retry when its case
    is written, and a retry is still answered with the first case."""
    key = "first-attempt-key-0123456789"
    review = await post_form(client, tenant, VALID_ANSWERS, key=key)
    with statements_run() as statements:
        first = await submit_from_review(client, tenant, review.text)
    assert first.status_code == 303 and first.headers["location"].startswith("/r/")
    lookups = [s for s in statements if s.lstrip().upper().startswith("SELECT") and "idempotency_key =" in s]
    assert lookups == []
    again = await submit_from_review(client, tenant, review.text)
    assert again.status_code == 303 and again.headers["location"] == first.headers["location"]
    assert await _cases_with_key(db, tenant, key) == 1


async def test_reference_numbers_go_on_past_five_digits(
    person: Person, tenant: TenantFixture, db: SQLAlchemyAsyncConfig
) -> None:
    async with person(tenant.host) as citizen:
        first = await citizen.get(await submit_case(citizen, tenant, key="first-key-0123456789", photo=False))
        year = re.search(r"<strong>(\d{4})-00001</strong>", first.text).group(1)  # type: ignore[union-attr]
        async with unscoped_session(db) as session:
            await session.execute(
                update(ReferenceCounter).where(ReferenceCounter.tenant_id == tenant.id).values(last_number=99_998)
            )
        refs = []
        for key in ("second-key-0123456789", "third-key-0123456789"):
            page = await citizen.get(await submit_case(citizen, tenant, key=key, photo=False))
            refs.append(re.search(r"<strong>(\d{4}-\d+)</strong>", page.text).group(1))  # type: ignore[union-attr]
    assert refs == [f"{year}-99999", f"{year}-100000"]


async def test_a_rejected_duplicate_leaves_no_gap_in_the_numbers(person: Person, tenant: TenantFixture) -> None:
    async with person(tenant.host) as citizen:
        review = await post_form(citizen, tenant, VALID_ANSWERS, key="dup-key-0123456789")
        await submit_from_review(citizen, tenant, review.text)
        # The retry passes validation again; the idempotency key turns it down (by lookup, or at the insert).
        await submit_from_review(citizen, tenant, review.text)
        page = await citizen.get(await submit_case(citizen, tenant, key="next-key-0123456789", photo=False))
    assert re.search(r"<strong>\d{4}-00002</strong>", page.text)


async def test_a_session_without_transaction_for_reads_refuses_every_write(
    db: SQLAlchemyAsyncConfig, tenant: TenantFixture
) -> None:
    async with db.get_session() as session:
        scope_session(session, tenant.id)
        assert await without_transaction(session)
        assert (await session.scalar(select(Service).where(Service.slug == "street-light"))) is not None
        with pytest.raises(ReadOnlySessionError):
            await session.execute(update(Service).values(keywords="changed"))
        service = await session.scalar(select(Service))
        assert service is not None
        service.keywords = "changed"
        with pytest.raises(ReadOnlySessionError):
            await session.flush()
        await session.rollback()
    async with tenant_session(db, tenant.id) as session:
        assert (await session.scalar(select(Service.keywords))) != "changed"


async def test_a_session_without_transaction_writes_single_statements_only(
    db: SQLAlchemyAsyncConfig, tenant: TenantFixture
) -> None:
    async with db.get_session() as session:
        scope_session(session, tenant.id)
        assert await without_transaction(session, single_statement_writes=True)
        await session.execute(update(Service).values(keywords="one statement"))
        # A flush may take several statements that must commit together: refused.
        service = await session.scalar(select(Service))
        assert service is not None
        service.keywords = "flushed"
        with pytest.raises(ReadOnlySessionError):
            await session.flush()
        await session.rollback()
    # The single statement committed by itself, without any commit.
    async with tenant_session(db, tenant.id) as session:
        assert (await session.scalar(select(Service.keywords))) == "one statement"


async def test_a_session_that_has_begun_keeps_its_transaction(db: SQLAlchemyAsyncConfig, tenant: TenantFixture) -> None:
    async with tenant_session(db, tenant.id) as session:
        await session.scalar(select(Service))
        assert not await without_transaction(session)
        await session.execute(update(Service).values(keywords="in a transaction"))
        await session.rollback()
    async with tenant_session(db, tenant.id) as session:
        assert (await session.scalar(select(Service.keywords))) != "in a transaction"
