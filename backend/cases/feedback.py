"""Was it solved? The citizen's answer once a case is closed, the one reopen it may cause, and the figures staff see.

A closed case asks once. A "no" within the municipality's period reopens the case (once per case); the answer
given after the reopened case was closed again is kept as well, but never reopens it a second time. So a case
has at most two answers, told apart by ``round`` (0 before a reopen, 1 after).
"""

from __future__ import annotations

import datetime
import uuid
from dataclasses import dataclass

from sqlalchemy import Integer, bindparam, cast, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import aliased

from backend.cases import workflow
from backend.cases.models import Case, CaseEvent, CaseFeedback
from backend.cases.services import CITIZEN, CaseService, CaseView
from backend.catalogue.models import Service
from backend.core.db import reusable
from backend.core.errors import BadRequest, Conflict, NotFound
from backend.core.i18n import gettext as _
from backend.core.sqlite import SHORT_READ

DEFAULT_REOPEN_DAYS = 14
MAX_COMMENT = 2000


@dataclass(frozen=True)
class FeedbackAnswer:
    resolved: bool
    rating: int | None
    comment: str


def parse_answer(resolved: object, rating: object, comment: object) -> FeedbackAnswer:
    """The form's fields, checked: ``resolved`` yes|no, ``rating`` empty or 1-5, ``comment`` up to 2000 characters."""
    if resolved not in ("yes", "no"):
        raise BadRequest(_("Please answer whether your request was resolved."))
    value: int | None = None
    if rating not in (None, ""):
        try:
            value = int(str(rating))
        except ValueError:
            value = 0
        if not 1 <= value <= 5:
            raise BadRequest(_("Please choose a rating from 1 to 5, or none."))
    text = str(comment or "").strip()
    if len(text) > MAX_COMMENT:
        raise BadRequest(_("Your comment is too long (at most %(n)s characters).", n=MAX_COMMENT))
    return FeedbackAnswer(resolved == "yes", value, text)


@dataclass(frozen=True)
class FeedbackState:
    """What the tracking page shows about feedback."""

    can_answer: bool  # the case is closed and this closing has no answer yet
    can_reopen: bool  # a "no" now would reopen the case
    reopen_days: int
    answered: CaseFeedback | None  # the latest answer, if any


@dataclass(frozen=True)
class ServiceFigures:
    service: Service
    answers: int
    resolved: int
    mean_rating: float | None

    @property
    def percent_resolved(self) -> int:
        return round(100 * self.resolved / self.answers) if self.answers else 0


ANSWERS_OF_CASE = reusable(
    select(CaseFeedback)
    .where(CaseFeedback.case_id == bindparam("case_id"))
    .order_by(CaseFeedback.round)
    .execution_options(**SHORT_READ)
)


class FeedbackService:
    """Feedback of one municipality's cases; the case itself changes only through CaseService.change_status."""

    def __init__(self, cases: CaseService) -> None:
        self.cases = cases
        self.session = cases.session
        self.tenant = cases.tenant

    def reopen_days(self) -> int:
        return self.tenant.feedback_reopen_days

    async def answers(self, case_id: uuid.UUID) -> list[CaseFeedback]:
        return list(await self.session.scalars(ANSWERS_OF_CASE, {"case_id": case_id}))

    async def state(self, view: CaseView) -> FeedbackState:
        """For the tracking page: no query of its own (an open case has no answers to read, a closed case's come with
        the page's statement), and the closing time comes from its timeline."""
        case = view.case
        if case.status not in (*workflow.REOPENABLE_STATUSES, "reopened"):
            return FeedbackState(False, False, DEFAULT_REOPEN_DAYS, None)
        closings = [e.created_at for e in view.events if e.kind == "status_changed" and e.to_status == case.status]
        answers = view.feedback if view.feedback is not None else await self.answers(case.id)
        return await self._state(case, answers, max(closings, default=None))

    async def _state(
        self, case: Case, answers: list[CaseFeedback], closed_at: datetime.datetime | None
    ) -> FeedbackState:
        latest = answers[-1] if answers else None
        # A duplicate was closed for the main case's sake: whether the matter is solved is asked there.
        if case.status not in workflow.REOPENABLE_STATUSES or case.duplicate_of_id is not None:
            return FeedbackState(False, False, DEFAULT_REOPEN_DAYS, latest)
        # A case that was reopened is asked again after it was closed again, without a second reopen;
        # any other answer is final.
        if latest is not None:
            again = latest.reopened and len(answers) == 1
            return FeedbackState(again, False, DEFAULT_REOPEN_DAYS, latest)
        days = self.reopen_days()
        in_time = closed_at is not None and _now() - _utc(closed_at) <= datetime.timedelta(days=days)
        return FeedbackState(True, in_time, days, latest)

    async def _closed_at(self, case: Case) -> datetime.datetime | None:
        when = await self.session.scalar(
            select(func.max(CaseEvent.created_at)).where(
                CaseEvent.case_id == case.id, CaseEvent.kind == "status_changed", CaseEvent.to_status == case.status
            )
        )
        return _utc(when) if when is not None else None

    async def submit(self, token: str, answer: FeedbackAnswer) -> CaseFeedback:
        """Store the answer for the current closing; a "no" in time reopens the case (once).

        The case row is locked first, so two answers sent at once cannot both count; the unique
        (case, round) constraint backs that up.
        """
        case_id = await self.cases.case_id_for_token(token)
        case = await self.session.scalar(
            select(Case).where(Case.id == case_id).with_for_update().execution_options(populate_existing=True)
        )
        if case is None:
            raise NotFound()
        answers = await self.answers(case.id)
        state = await self._state(case, answers, await self._closed_at(case))
        if not state.can_answer:
            if case.status in workflow.REOPENABLE_STATUSES or answers:
                raise Conflict(_("You have already told us whether your request was resolved. Thank you."))
            raise Conflict(_("You can tell us whether your request was resolved once it has been closed."))
        feedback = CaseFeedback(
            tenant_id=self.tenant.id,
            case_id=case.id,
            round=len(answers),
            resolved=answer.resolved,
            rating=answer.rating,
            comment=answer.comment,
            about_status=case.status,
            reopened=not answer.resolved and state.can_reopen,
        )
        self.session.add(feedback)
        try:
            await self.session.flush()
        except IntegrityError as exc:  # the same answer sent twice at once: the other one counted
            raise Conflict(_("You have already told us whether your request was resolved. Thank you.")) from exc
        if feedback.reopened:
            await self.cases.change_status(case.id, "reopened", CITIZEN, answer.comment)
        return feedback

    async def figures(self) -> list[ServiceFigures]:
        """Per service: how many cases were answered, how many resolved, the mean rating (latest answer per case);
        of the cases in the case service's scope (a clerk: their departments')."""
        later = aliased(CaseFeedback)
        latest = (
            ~select(later.id).where(later.case_id == CaseFeedback.case_id, later.round > CaseFeedback.round).exists()
        )
        rows = await self.session.execute(
            select(
                Service,
                func.count(CaseFeedback.id),
                func.sum(cast(CaseFeedback.resolved, Integer)),
                func.avg(CaseFeedback.rating),
            )
            .join(Case, Case.service_id == Service.id)
            .join(CaseFeedback, CaseFeedback.case_id == Case.id)
            .where(latest, self.cases.scope.condition())
            .group_by(Service.id)
            .order_by(func.count(CaseFeedback.id).desc())
        )
        return [
            ServiceFigures(service, int(count), int(resolved or 0), round(float(mean), 1) if mean is not None else None)
            for service, count, resolved, mean in rows.tuples()
        ]


async def feedback_for_case(cases: CaseService, case_id: uuid.UUID) -> list[CaseFeedback]:
    """The answers of one case, for the staff's case page (tenant-scoped through the case service's session)."""
    return await FeedbackService(cases).answers(case_id)


async def feedback_state(cases: CaseService, view: CaseView) -> FeedbackState:
    """For the tracking page."""
    return await FeedbackService(cases).state(view)


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def _utc(value: datetime.datetime) -> datetime.datetime:
    return value if value.tzinfo else value.replace(tzinfo=datetime.UTC)  # SQLite hands back naive UTC
