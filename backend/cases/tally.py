"""Running counts of a municipality's cases per department, service and status, and of those with a reply no
clerk has seen: what the inbox shows above its list, read without counting a big town's cases on every page.

Database triggers (migration 0029) add a row of +1 or -1 for every case inserted or deleted and for every
change of one of these columns. No row is ever updated, so concurrent changes of cases never wait for one
another (nor deadlock) over a shared counter. A group's counts are the sums of its rows; ``compact`` folds
each group's rows into one (the app's periodic sweep), so that a read sums few rows.
"""

from __future__ import annotations

import uuid

from advanced_alchemy.extensions.litestar import SQLAlchemyAsyncConfig
from advanced_alchemy.types import GUID
from sqlalchemy import BigInteger, Column, Index, Integer, String, Table, delete, func, insert, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from backend.cases.scope import CaseScope
from backend.core.db import metadata, unscoped_session

case_tally = Table(
    "case_tally",
    metadata,
    Column("id", BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True),
    Column("tenant_id", GUID(length=16), nullable=False),
    Column("department_id", GUID(length=16), nullable=True),
    Column("service_id", GUID(length=16), nullable=False),
    Column("status", String(32), nullable=False),
    Column("cases", Integer, nullable=False),
    Column("replied", Integer, nullable=False),  # of them, with a reply no clerk has seen
    Column("dated", Integer, nullable=False),  # of them, with a deadline
    Column("dated_replied", Integer, nullable=False),  # of them, with a deadline and an unseen reply
    Index("ix_case_tally_tenant_status", "tenant_id", "status"),
)

_GROUP = ("tenant_id", "department_id", "service_id", "status")
_SUMS = ("cases", "replied", "dated", "dated_replied")

# PostgreSQL: the rows taken are exactly the rows summed (one statement, one snapshot); rows written meanwhile
# stay for the next round.
_COMPACT_POSTGRES = text(
    """
    WITH taken AS (
        DELETE FROM case_tally
        RETURNING tenant_id, department_id, service_id, status, cases, replied, dated, dated_replied
    )
    INSERT INTO case_tally (tenant_id, department_id, service_id, status, cases, replied, dated, dated_replied)
    SELECT tenant_id, department_id, service_id, status, sum(cases), sum(replied), sum(dated), sum(dated_replied)
    FROM taken
    GROUP BY tenant_id, department_id, service_id, status
    HAVING sum(cases) <> 0
    """
)


async def counts(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    scope: CaseScope,
    *,
    department_id: uuid.UUID | None = None,
    service_id: uuid.UUID | None = None,
    dated: bool = False,
) -> dict[str, tuple[int, int]]:
    """(cases, cases with an unseen reply) per status, of the cases ``scope`` sees (and of one department or
    service of them); ``dated``: of those with a deadline."""
    if scope.departments is not None and not scope.departments:
        return {}
    n, replied = (
        (case_tally.c.dated, case_tally.c.dated_replied) if dated else (case_tally.c.cases, case_tally.c.replied)
    )
    query = (
        select(case_tally.c.status, func.sum(n), func.sum(replied))
        .where(case_tally.c.tenant_id == tenant_id)
        .group_by(case_tally.c.status)
    )
    if scope.departments is not None:
        query = query.where(case_tally.c.department_id.in_(sorted(scope.departments)))
    if department_id is not None:
        query = query.where(case_tally.c.department_id == department_id)
    if service_id is not None:
        query = query.where(case_tally.c.service_id == service_id)
    found = (await session.execute(query)).tuples()
    return {status: (int(total), int(answered)) for status, total, answered in found if total}


async def compact(db: SQLAlchemyAsyncConfig) -> None:
    """Fold every group's rows into one row with its sums (groups that sum to nothing disappear)."""
    async with unscoped_session(db) as session:
        if session.bind is not None and session.bind.dialect.name == "postgresql":
            await session.execute(_COMPACT_POSTGRES)
            return
        # SQLite has one writer: nothing is written between these statements of one transaction.
        top = await session.scalar(select(func.max(case_tally.c.id)))
        if top is None:
            return
        group = [case_tally.c[name] for name in _GROUP]
        summed = (
            select(*group, *(func.sum(case_tally.c[name]) for name in _SUMS))
            .where(case_tally.c.id <= top)
            .group_by(*group)
            .having(func.sum(case_tally.c.cases) != 0)
        )
        await session.execute(insert(case_tally).from_select([*_GROUP, *_SUMS], summed))
        await session.execute(delete(case_tally).where(case_tally.c.id <= top))
