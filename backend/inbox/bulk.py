"""Bulk actions from the inbox list: assign, or change the status (with one message), of up to 100 cases at once.

Each case goes through the same service method as on its own page (so each status change notifies its
citizen), in its own lock, in the order of the ids (two bulk actions never wait for each other in a circle).
A case that cannot take the change is reported and left as it was; the others are done.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from backend.cases import workflow
from backend.cases.conversation import MAX_MESSAGE
from backend.cases.models import Case
from backend.cases.services import Actor, CaseService, ChangedMeanwhile
from backend.core.errors import Conflict, NotFound
from backend.core.i18n import gettext as _
from backend.inbox.handling import HandlingProblem, HandlingService

MAX_BULK = 100
# More ids than this are not even looked at (a form with thousands of them is not a person's choice).
MAX_IDS_READ = 1000
ACTIONS = ("assign", "status")
# The statuses staff can move a case to (from some status).
STAFF_TARGETS = tuple(
    s for s in workflow.STATUSES if any(s in workflow.next_statuses(f, "staff") for f in workflow.STATUSES)
)


@dataclass
class BulkRequest:
    """The bulk form as posted, checked; ``errors`` by field name (empty: it can be carried out)."""

    case_ids: list[uuid.UUID] = field(default_factory=list)
    versions: dict[uuid.UUID, int] = field(default_factory=dict)  # the version each row was shown with
    action: str = ""
    assignee: str = ""
    to_status: str = ""
    message: str = ""
    filter: str = ""  # the list's query string, for the way back
    errors: dict[str, str] = field(default_factory=dict)


@dataclass
class BulkOutcome:
    case_id: uuid.UUID
    reference: str  # "" when the case is not found (or not the person's to see)
    outcome: str  # "done" | "unchanged" | "status" | "missing" | "changed" | "assignee"
    by: Actor | None = None  # who changed it meanwhile
    detail: str = ""


def _version(value: Any) -> int:
    try:
        return int(str(value)[:12])
    except ValueError:
        return -1  # sent, but not a version this case ever had: "changed meanwhile", never a silent change


def parse_bulk(form: Any) -> BulkRequest:
    """Read the bulk form: ``case_ids`` (repeated), ``version_<id>`` per row, ``action``, ``assignee``,
    ``to_status``, ``message``."""
    found = BulkRequest(
        action=str(form.get("action") or ""),
        assignee=str(form.get("assignee") or "").strip(),
        to_status=str(form.get("to_status") or ""),
        message=str(form.get("message") or "").strip(),
        filter=str(form.get("filter") or "")[:2000],
    )
    try:  # a person's id in its canonical form
        found.assignee = str(uuid.UUID(found.assignee)) if found.assignee else ""
    except ValueError:
        if found.action == "assign":
            found.errors["assignee"] = _("Please choose a person from the list.")
        found.assignee = ""
    raw = [str(v) for v in form.getall("case_ids", [])]
    seen: set[uuid.UUID] = set()
    for value in raw[:MAX_IDS_READ]:
        try:
            case_id = uuid.UUID(value)
        except ValueError:
            continue
        if case_id not in seen:
            seen.add(case_id)
            found.case_ids.append(case_id)
            if form.get(f"version_{case_id}") not in (None, ""):
                found.versions[case_id] = _version(form.get(f"version_{case_id}"))
    if not found.case_ids:
        found.errors["case_ids"] = _("Please choose at least one request.")
    elif len(found.case_ids) > MAX_BULK:
        found.errors["case_ids"] = _(
            "Please choose at most %(max)s requests at a time (you chose %(n)s).", max=MAX_BULK, n=len(set(raw))
        )
    if found.action not in ACTIONS:
        found.errors["action"] = _("Please choose what to do with the chosen requests.")
    elif found.action == "status":
        if found.to_status not in STAFF_TARGETS:
            found.errors["to_status"] = _("Please choose the new status.")
        elif found.to_status == "needs_info" and not found.message:
            found.errors["message"] = _("Please write what information you need from the citizen.")
    if len(found.message) > MAX_MESSAGE:
        found.errors["message"] = _("The message is too long (at most %(n)s characters).", n=MAX_MESSAGE)
    return found


class BulkService:
    def __init__(self, cases: CaseService) -> None:
        self.cases = cases
        self.handling = HandlingService(cases)

    async def check(self, request: BulkRequest) -> None:
        """What only the database can tell: the person to assign is on the active staff."""
        if request.action == "assign" and request.assignee and "assignee" not in request.errors:
            ids = {str(s.id) for s in await self.handling.staff()}
            if request.assignee not in ids:
                request.errors["assignee"] = _("Please choose a person from the list.")

    async def chosen(self, case_ids: list[uuid.UUID]) -> list[Case]:
        """The chosen cases the person may see, in the order chosen (for the form shown again)."""
        if not case_ids:
            return []
        rows = await self.cases.session.scalars(
            select(Case).where(Case.id.in_(case_ids[:MAX_IDS_READ]), self.cases.scope.condition())
        )
        by_id = {c.id: c for c in rows}
        return [by_id[i] for i in case_ids if i in by_id]

    async def run(self, request: BulkRequest, actor: Actor) -> list[BulkOutcome]:
        """Carry out a checked request (no ``errors``) case by case; each case's outcome, in the order chosen."""
        outcomes: dict[uuid.UUID, BulkOutcome] = {}
        for case_id in sorted(request.case_ids):
            outcomes[case_id] = await self._one(case_id, request, actor)
        references = select(Case.id, Case.reference).where(Case.id.in_(request.case_ids), self.cases.scope.condition())
        found = dict((await self.cases.session.execute(references)).tuples().all())
        for outcome in outcomes.values():
            if outcome.outcome != "missing":
                outcome.reference = found.get(outcome.case_id, "")
        return [outcomes[i] for i in request.case_ids]

    async def _one(self, case_id: uuid.UUID, request: BulkRequest, actor: Actor) -> BulkOutcome:
        version = request.versions.get(case_id)
        try:
            if request.action == "assign":
                change = await self.handling.assign(case_id, request.assignee, actor, version)
                return BulkOutcome(case_id, "", "done" if change.changed else "unchanged")
            await self.cases.change_status(case_id, request.to_status, actor, request.message, version=version)
            return BulkOutcome(case_id, "", "done")
        except NotFound:
            return BulkOutcome(case_id, "", "missing")
        except ChangedMeanwhile as exc:
            return BulkOutcome(case_id, "", "changed", by=exc.by)
        except Conflict as exc:
            return BulkOutcome(case_id, "", "status", detail=exc.detail)
        except HandlingProblem as exc:
            return BulkOutcome(case_id, "", "assignee", detail=exc.message)
