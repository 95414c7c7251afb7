"""The clerk's queue: the municipality's cases, filtered, searched and paged."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.cases.models import Case
from backend.catalogue.models import Service
from backend.core.tenancy import TenantContext

PAGE_SIZE = 25


@dataclass(frozen=True)
class InboxFilter:
    status: str = ""
    service: str = ""
    q: str = ""
    page: int = 1


@dataclass
class InboxRow:
    case: Case
    service: Service


@dataclass
class InboxPage:
    rows: list[InboxRow]
    total: int
    page: int
    pages: int
    counts: dict[str, int]


class InboxService:
    def __init__(self, session: AsyncSession, tenant: TenantContext) -> None:
        self.session = session
        self.tenant = tenant

    async def list(self, flt: InboxFilter) -> InboxPage:
        query = select(Case, Service).join(Service, Service.id == Case.service_id)
        if flt.status:
            query = query.where(Case.status == flt.status)
        if flt.service:
            query = query.where(Service.slug == flt.service)
        if flt.q:
            query = query.where(Case.reference.contains(flt.q.strip()))
        total = await self.session.scalar(select(func.count()).select_from(query.subquery())) or 0
        pages = max(1, -(-total // PAGE_SIZE))
        page = min(max(1, flt.page), pages)
        rows = await self.session.execute(
            query.order_by(Case.created_at.desc(), Case.reference.desc())
            .limit(PAGE_SIZE)
            .offset((page - 1) * PAGE_SIZE)
        )
        counts = dict(
            (await self.session.execute(select(Case.status, func.count()).group_by(Case.status))).tuples().all()
        )
        return InboxPage([InboxRow(c, s) for c, s in rows.tuples()], total, page, pages, counts)
