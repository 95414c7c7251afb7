"""What the JSON API reads and does, in the shapes its OpenAPI document describes.

Everything goes through the services the inbox uses: the list is InboxService.list (same filters, same keyset
pages, same counts), a status change is CaseService.change_status (same workflow checks, same timeline entry,
same notifications and webhooks), a message is CaseService.add_message. A key acts for its whole municipality.
"""

from __future__ import annotations

import datetime
import uuid
from typing import Any

import msgspec

from backend.accounts.api_keys import KeyHolder
from backend.cases.scope import EVERY_CASE
from backend.cases.services import Actor, CaseService
from backend.catalogue.services import CatalogueService
from backend.inbox.services import InboxFilter, InboxRow, InboxService, due_now


class Service(msgspec.Struct):
    slug: str
    name: dict[str, str]
    summary: dict[str, str]
    processing_days: int | None


class CaseSummary(msgspec.Struct):
    reference: str
    service: str
    status: str
    summary: str
    priority: str
    created_at: datetime.datetime
    last_activity_at: datetime.datetime
    due_at: datetime.datetime | None
    deadline: str  # "overdue", "soon" or ""
    citizen_replied: bool  # a reply of the citizen's no clerk has seen yet
    assignee: str


class CaseList(msgspec.Struct):
    items: list[CaseSummary]
    total: int  # cases matching the filter, on all pages
    counts: dict[str, int]  # per status, for the filter without its status
    next: str | None  # the "after" value of the next page; null on the last page


class Event(msgspec.Struct):
    kind: str
    at: datetime.datetime
    public: bool  # seen by the citizen
    actor: str  # "citizen", "staff" or "system"
    actor_name: str
    body: str
    from_status: str | None
    to_status: str | None


class CaseDetail(CaseSummary):
    """A case as the list shows it, with its answers and its whole timeline."""

    language: str
    answers: dict[str, Any]
    location: dict[str, Any] | None
    events: list[Event]


class StatusChange(msgspec.Struct, forbid_unknown_fields=True):
    status: str
    message: str = ""


class NewMessage(msgspec.Struct, forbid_unknown_fields=True):
    body: str


def _summary(row: InboxRow) -> CaseSummary:
    case = row.case
    return CaseSummary(
        reference=case.reference,
        service=row.service.slug,
        status=case.status,
        summary=case.summary,
        priority=case.priority,
        created_at=case.created_at,
        last_activity_at=case.last_activity_at,
        due_at=case.due_at,
        deadline=row.due,
        citizen_replied=case.citizen_replied_at is not None,
        assignee=row.assignee,
    )


def actor_of(holder: KeyHolder) -> Actor:
    """A key acts as the municipality's staff; the timeline names the key."""
    return Actor("staff", None, f"API: {holder.name}")


class ApiService:
    def __init__(self, cases: CaseService) -> None:
        self.cases = cases
        self.inbox = InboxService(cases.session, cases.tenant, scope=EVERY_CASE)
        self.catalogue = CatalogueService(cases.session, cases.tenant)

    async def services(self) -> list[Service]:
        return [
            Service(slug=s.slug, name=s.name, summary=s.summary or {}, processing_days=s.processing_days)
            for s in await self.catalogue.list_services()
        ]

    async def cases_page(self, flt: InboxFilter) -> CaseList:
        page = await self.inbox.list(flt)
        return CaseList(
            items=[_summary(row) for row in page.rows],
            total=page.total,
            counts=page.counts,
            next=page.next_after or None,
        )

    async def case(self, reference: str) -> CaseDetail:
        view = await self.cases.by_id(await self.cases.case_id_for_reference(reference))
        case = view.case
        due = await due_now(self.cases.session, self.cases.tenant)
        names = await self.inbox.names_of([case])
        row = InboxRow(case, view.service, due.state(case), due.day(case), names.get(case.assignee_id, ""))
        return CaseDetail(
            **msgspec.structs.asdict(_summary(row)),
            language=case.language,
            answers=case.answers or {},
            location=case.location,
            events=[
                Event(
                    kind=e.kind,
                    at=e.created_at,
                    public=e.public,
                    actor=e.actor_kind,
                    actor_name=e.actor_name or "",
                    body=e.body or "",
                    from_status=e.from_status,
                    to_status=e.to_status,
                )
                for e in view.events
            ],
        )

    async def change_status(self, reference: str, change: StatusChange, holder: KeyHolder) -> uuid.UUID:
        case_id = await self.cases.case_id_for_reference(reference)
        await self.cases.change_status(case_id, change.status, actor_of(holder), change.message)
        return case_id

    async def add_message(self, reference: str, message: NewMessage, holder: KeyHolder) -> None:
        case_id = await self.cases.case_id_for_reference(reference)
        await self.cases.add_message(case_id, actor_of(holder), message.body, public=True)
