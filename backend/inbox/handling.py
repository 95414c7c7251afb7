"""Handling a case: who works on it, which department has it, how urgent it is, which service it is under.

Each change locks the case with the version the clerk's form was shown with (CaseService._lock: 404 outside
the person's scope, ChangedMeanwhile when someone else was quicker), counts the version on
(CaseService.touch) and appends an internal timeline entry that names what was and what is now, as they were
called at the time. Clerks, supervisors and admins may all do this for the cases they see.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select

from backend.accounts.models import SEES_ALL_CASES, Department, DepartmentMember, Membership, User
from backend.cases.models import PRIORITIES, Case, CaseEvent
from backend.cases.services import Actor, CaseService
from backend.catalogue.models import Service
from backend.core.i18n import gettext as _

# The timeline entries written here (all internal: the citizen never sees them).
HANDLING_KINDS = ("assigned", "department_changed", "priority_changed", "service_changed")


class HandlingProblem(ValueError):
    """A change that cannot be made as asked; the message says why, ``field`` names the form field."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


@dataclass(frozen=True)
class StaffChoice:
    """An active staff member of the municipality, as the assignment choices show them."""

    id: uuid.UUID
    name: str
    role: str
    departments: frozenset[uuid.UUID] = frozenset()

    def may_see(self, department_id: uuid.UUID | None) -> bool:
        return self.role in SEES_ALL_CASES or (department_id is not None and department_id in self.departments)


@dataclass
class HandlingView:
    """What the case page shows about the handling and offers to change."""

    assignee: str  # the name of the person working on it ("" for nobody)
    department: str  # the department's name ("" for none)
    assignable: list[StaffChoice]  # who may be given the case (they may see it)
    departments: list[Department]
    services: list[Service]
    mine: bool = False  # the case is assigned to the person looking at it


@dataclass
class Change:
    """The outcome of a handling action: the case as it is now, and whether anything changed."""

    case: Case
    changed: bool = True
    notes: list[str] = field(default_factory=list)


def _uuid(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(value.strip()) if value.strip() else None
    except ValueError:
        return None


class HandlingService:
    def __init__(self, cases: CaseService) -> None:
        self.cases = cases
        self.session = cases.session
        self.tenant = cases.tenant

    # --- what can be chosen ---------------------------------------------------------------------

    async def staff(self) -> list[StaffChoice]:
        """The municipality's active staff with their departments, by name."""
        rows = (
            await self.session.execute(
                select(User.id, User.display_name, Membership.role)
                .join(Membership, Membership.user_id == User.id)
                .where(User.active.is_(True), Membership.active.is_(True))
                .order_by(func.lower(User.display_name), User.id)
            )
        ).all()
        links: dict[uuid.UUID, set[uuid.UUID]] = {}
        for user_id, department_id in await self.session.execute(
            select(DepartmentMember.user_id, DepartmentMember.department_id)
        ):
            links.setdefault(user_id, set()).add(department_id)
        return [StaffChoice(i, name, role, frozenset(links.get(i, ()))) for i, name, role in rows]

    async def departments(self) -> list[Department]:
        return list(await self.session.scalars(select(Department).order_by(func.lower(Department.name))))

    async def view(self, case: Case) -> HandlingView:
        staff = await self.staff()
        departments = await self.departments()
        names = {d.id: d.name for d in departments}
        assignee = next((s.name for s in staff if s.id == case.assignee_id), "")
        if case.assignee_id is not None and not assignee:  # deactivated meanwhile: still named
            assignee = await self._name_of(case.assignee_id)
        services = list(await self.session.scalars(select(Service).order_by(Service.position, Service.slug)))
        return HandlingView(
            assignee=assignee,
            department=names.get(case.department_id, "") if case.department_id else "",
            assignable=[s for s in staff if s.may_see(case.department_id)],
            departments=departments,
            services=services,
            mine=case.assignee_id is not None and case.assignee_id == self.cases.scope.user_id,
        )

    async def _name_of(self, user_id: uuid.UUID | None) -> str | None:
        if user_id is None:
            return None
        return await self.session.scalar(select(User.display_name).where(User.id == user_id))  # type: ignore[no-any-return]

    async def _department_name(self, department_id: uuid.UUID | None) -> str | None:
        if department_id is None:
            return None
        return await self.session.scalar(select(Department.name).where(Department.id == department_id))  # type: ignore[no-any-return]

    async def _choice(self, user_id: uuid.UUID) -> StaffChoice | None:
        return next((s for s in await self.staff() if s.id == user_id), None)

    # --- changes --------------------------------------------------------------------------------

    async def claim(self, case_id: uuid.UUID, actor: Actor, version: int | None = None) -> Change:
        """The person takes the case on (taking it over from a colleague, if someone had it)."""
        if actor.user_id is None:
            raise HandlingProblem("assignee", _("Please choose a person."))
        return await self.assign(case_id, str(actor.user_id), actor, version)

    async def assign(self, case_id: uuid.UUID, assignee: str, actor: Actor, version: int | None = None) -> Change:
        """Give the case to an active staff member who may see it, or to nobody (``assignee`` empty)."""
        wanted = _uuid(assignee)
        if assignee.strip() and wanted is None:
            raise HandlingProblem("assignee", _("Please choose a person from the list."))
        case = await self.cases._lock(case_id, version)
        if wanted is not None:
            person = await self._choice(wanted)
            if person is None:
                raise HandlingProblem("assignee", _("This person is not on the active staff of this municipality."))
            if not person.may_see(case.department_id):
                raise HandlingProblem(
                    "assignee", _("%(name)s does not work on this request's department.", name=person.name)
                )
        if case.assignee_id == wanted:
            return Change(case, changed=False)
        before = await self._name_of(case.assignee_id)
        case.assignee_id = wanted
        self._record(case, actor, "assigned", before, await self._name_of(wanted))
        await self.session.flush()
        return Change(case)

    async def move(self, case_id: uuid.UUID, department: str, actor: Actor, version: int | None = None) -> Change:
        """Hand the case to another department (of this municipality)."""
        wanted = _uuid(department)
        if wanted is None:
            raise HandlingProblem("department", _("Please choose a department."))
        case = await self.cases._lock(case_id, version)
        name = await self._department_name(wanted)
        if name is None:
            raise HandlingProblem("department", _("This department does not exist (any more)."))
        if case.department_id == wanted:
            return Change(case, changed=False)
        change = Change(case)
        await self._to_department(case, wanted, name, actor, change)
        await self.session.flush()
        return change

    async def set_priority(self, case_id: uuid.UUID, priority: str, actor: Actor, version: int | None = None) -> Change:
        if priority not in PRIORITIES:
            raise HandlingProblem("priority", _("Please choose a priority."))
        case = await self.cases._lock(case_id, version)
        if case.priority == priority:
            return Change(case, changed=False)
        before, case.priority = case.priority, priority
        self._record(case, actor, "priority_changed", before, priority)
        await self.session.flush()
        return Change(case)

    async def reroute(self, case_id: uuid.UUID, service: str, actor: Actor, version: int | None = None) -> Change:
        """Put the case under another service of the municipality (given by id, or by its address name): it keeps
        its answers and form version; its department and deadline become the new service's."""
        wanted = _uuid(service)
        if not service.strip():
            raise HandlingProblem("service", _("Please choose a service."))
        case = await self.cases._lock(case_id, version)
        found = await self.session.scalar(
            select(Service).where(Service.id == wanted if wanted is not None else Service.slug == service.strip()[:80])
        )
        if found is None:
            raise HandlingProblem("service", _("This service does not exist (any more)."))
        if case.service_id == found.id:
            return Change(case, changed=False)
        before = await self.session.scalar(select(Service.name).where(Service.id == case.service_id))
        case.service_id = found.id
        await self.cases.recount_deadline(case, found.processing_days)
        change = Change(case)
        self._record(case, actor, "service_changed", before, dict(found.name or {}))
        if found.department_id != case.department_id:
            await self._to_department(
                case, found.department_id, await self._department_name(found.department_id), actor, change
            )
        await self.session.flush()
        return change

    async def _to_department(
        self, case: Case, department_id: uuid.UUID | None, name: str | None, actor: Actor, change: Change
    ) -> None:
        """Move the case; a person working on it who does not see the new department's cases lets go of it."""
        before = await self._department_name(case.department_id)
        case.department_id = department_id
        self._record(case, actor, "department_changed", before, name)
        if case.assignee_id is not None:
            person = await self._choice(case.assignee_id)
            if person is None or not person.may_see(department_id):
                had = await self._name_of(case.assignee_id)
                case.assignee_id = None
                self._record(case, actor, "assigned", had, None, reason="department")
                change.notes.append("unassigned")

    def _record(self, case: Case, actor: Actor, kind: str, before: Any, after: Any, **more: str) -> None:
        """An internal timeline entry for the change; the case counts on (its version, its last activity)."""
        self.cases.touch(case)
        self.session.add(
            CaseEvent(
                tenant_id=self.tenant.id,
                case_id=case.id,
                kind=kind,
                actor_kind=actor.kind,
                actor_id=actor.user_id,
                actor_name=actor.name,
                public=False,
                detail={"from": before, "to": after, **more},
            )
        )
