"""Duplicates: a clerk closes a case that reports the same matter as another one (its main case).

The duplicate is completed through CaseService.change_status (its citizen is told, with a message), points at
its main case from then on, and both timelines say so. Its citizen follows the main case: the main case's status
changes and public messages notify them too (backend/notifications/services.py), and their tracking page shows
the main case's current public status. A main case is never itself a duplicate: marking a main case as a
duplicate hands its own duplicates on to the new main case.
"""

from __future__ import annotations

import datetime
import uuid
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.orm import load_only

from backend.cases import lookup, workflow
from backend.cases.models import Case, CaseEvent
from backend.cases.services import Actor, CaseService
from backend.catalogue.models import Service
from backend.core import i18n
from backend.core.errors import NotFound
from backend.core.i18n import gettext as _
from backend.core.sqlite import SHORT_READ
from backend.core.text import clean_text

MAX_MESSAGE = 5000


class DuplicateRefused(ValueError):
    """Why a case cannot be marked as a duplicate (of that case), in the clerk's language, and of which input."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


@dataclass(frozen=True)
class MainStatus:
    """What the citizen of a duplicate sees of the main case: its reference and its current public status."""

    reference: str
    status: str
    label: str
    updated_at: datetime.datetime

    @property
    def open(self) -> bool:
        return self.status in workflow.OPEN_STATUSES


def default_message(reference: str, language: str) -> str:
    """What the citizen of a duplicate reads when the clerk wrote nothing, in the citizen's language."""
    previous = i18n.get_language()
    i18n.set_language(language)
    try:
        return _(
            "Thank you for your request. The same matter has already been reported to us as request %(ref)s, "
            "and we are dealing with it there. We have closed your request and will keep you informed here "
            "about the progress of %(ref)s.",
            ref=reference,
        )
    finally:
        i18n.set_language(previous)


def merged_text(reference: str, language: str) -> str:
    """The duplicate's public timeline entry, as its citizen reads it."""
    previous = i18n.get_language()
    i18n.set_language(language)
    try:
        return _("Merged into request %(ref)s, which reports the same matter.", ref=reference)
    finally:
        i18n.set_language(previous)


class DuplicateService:
    def __init__(self, cases: CaseService) -> None:
        self.cases = cases
        self.session = cases.session
        self.tenant = cases.tenant

    async def mark(self, case_id: uuid.UUID, original: str, actor: Actor, message: str = "") -> Case:
        """Close ``case_id`` as a duplicate of the case with the reference ``original``; returns the main case.

        Raises DuplicateRefused for an unknown reference (another municipality's looks exactly the same: the
        session only sees this one's cases), the case itself, a main case that is itself a duplicate, or a case
        that is closed already.
        """
        reference = lookup.normalise_reference(original)
        if not reference:
            raise DuplicateRefused("original", _("Please enter the reference number of the main request."))
        duplicate = await self._case(case_id)
        main = await self.session.scalar(
            select(Case).where(Case.tenant_id == self.tenant.id, Case.reference == reference)
        )
        if main is None:
            raise DuplicateRefused(
                "original", _("There is no request with the reference number %(ref)s.", ref=reference)
            )
        # Both rows locked, always in the same order, so that two clerks marking each other's case wait in turn.
        for locked in sorted((duplicate.id, main.id)):
            await self.cases._lock(locked)
        if main.id == duplicate.id:
            raise DuplicateRefused("original", _("A request cannot be a duplicate of itself."))
        if main.duplicate_of_id is not None:
            first = await self.session.scalar(select(Case.reference).where(Case.id == main.duplicate_of_id))
            raise DuplicateRefused(
                "original",
                _(
                    "%(ref)s is itself a duplicate of %(main)s. Please mark this request as a duplicate of %(main)s.",
                    ref=main.reference,
                    main=first or "?",
                ),
            )
        if duplicate.status not in workflow.OPEN_STATUSES or duplicate.duplicate_of_id is not None:
            raise DuplicateRefused("original", _("This request is closed already, so it cannot be marked."))
        if main.status == "withdrawn":
            raise DuplicateRefused(
                "original", _("%(ref)s was withdrawn, so no one follows it any more.", ref=main.reference)
            )
        # The marked case's own duplicates follow the new main case (a main case is never a duplicate); handed on
        # first, so that the closing below is not announced to them as news of the case they followed.
        handed_on = list(
            await self.session.scalars(
                select(Case).where(Case.duplicate_of_id == duplicate.id).options(load_only(Case.id, Case.reference))
            )
        )
        if handed_on:
            await self.session.execute(
                update(Case)
                .where(Case.duplicate_of_id == duplicate.id)
                .values(duplicate_of_id=main.id)
                .execution_options(synchronize_session=False)
            )
        text = clean_text(message).strip()[:MAX_MESSAGE] or default_message(main.reference, duplicate.language)
        await self.cases.change_status(duplicate.id, "completed", actor, text, as_duplicate=True)
        duplicate.duplicate_of_id = main.id
        self._event(duplicate, actor, "merged", merged_text(main.reference, duplicate.language), public=True)
        for other in [duplicate, *handed_on]:
            note = _("%(ref)s was marked as a duplicate of this request.", ref=other.reference)
            self._event(main, actor, "duplicate_added", note, public=False)
        self.cases.touch(main)
        await self.session.flush()
        return main

    def _event(self, case: Case, actor: Actor, kind: str, body: str, *, public: bool) -> None:
        self.session.add(
            CaseEvent(
                tenant_id=self.tenant.id,
                case_id=case.id,
                kind=kind,
                actor_kind=actor.kind,
                actor_id=actor.user_id,
                actor_name=actor.name,
                body=body,
                public=public,
            )
        )

    async def _case(self, case_id: uuid.UUID) -> Case:
        case = await self.session.scalar(select(Case).where(Case.id == case_id))
        if case is None:
            raise NotFound()
        return case  # type: ignore[no-any-return]

    async def duplicates_of(self, case_id: uuid.UUID) -> list[Case]:
        """The duplicates of a main case, oldest first (for the clerk's case page)."""
        rows = await self.session.scalars(
            select(Case)
            .where(Case.duplicate_of_id == case_id)
            .options(load_only(Case.id, Case.reference, Case.status, Case.created_at))
            .order_by(Case.created_at, Case.id)
        )
        return list(rows)

    async def main_of(self, case: Case) -> Case | None:
        """The main case of a duplicate (None for a case that is no duplicate)."""
        if case.duplicate_of_id is None:
            return None
        return await self.session.scalar(  # type: ignore[no-any-return]
            select(Case)
            .where(Case.id == case.duplicate_of_id)
            .options(load_only(Case.id, Case.reference, Case.status, Case.created_at))
        )

    async def main_status(self, case: Case) -> MainStatus | None:
        """For the duplicate's tracking page: the main case's reference and current public status."""
        if case.duplicate_of_id is None:
            return None
        row = (
            await self.session.execute(
                select(Case.reference, Case.status, Case.updated_at, Service.workflow)
                .join(Service, Service.id == Case.service_id)
                .where(Case.id == case.duplicate_of_id)
                .execution_options(**SHORT_READ)
            )
        ).first()
        if row is None:
            return None
        reference, status, updated_at, flow = row
        return MainStatus(reference, status, follower_label(status, workflow.of(flow)), updated_at)


def follower_label(status: str, flow: workflow.Workflow) -> str:
    """The main case's status as the citizen of a duplicate reads it: the main case's question is not theirs."""
    if status == "needs_info":
        return _("Waiting for information from the person who reported it first")
    return flow.label(status)
