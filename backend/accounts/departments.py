"""Departments of a municipality: who belongs to them, which services are routed to them, whose cases a
clerk sees (``case_scope``; supervisors and admins see every case)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts.models import SEES_ALL_CASES, Department, DepartmentMember, Membership, User
from backend.cases.models import Case
from backend.catalogue.models import Service
from backend.core.errors import NotFound
from backend.core.i18n import gettext as _
from backend.core.tenancy import TenantContext
from backend.core.text import clean_line

NAME_MAX = 120


class DepartmentProblem(ValueError):
    """A change the admin asked for that cannot be made; the message says why, for the person, and ``field``
    names the form field it concerns."""

    def __init__(self, message: str, field: str = "name") -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class DepartmentSummary:
    department: Department
    members: int
    services: int


def clean_name(raw: str) -> str:
    return " ".join(clean_line(raw).split())[: NAME_MAX + 1]


async def department_ids_of(session: AsyncSession, user_id: uuid.UUID) -> frozenset[uuid.UUID]:
    """The departments of this municipality (the session's) that the person belongs to."""
    rows = await session.scalars(select(DepartmentMember.department_id).where(DepartmentMember.user_id == user_id))
    return frozenset(rows)


async def case_scope(session: AsyncSession, user_id: uuid.UUID, role: str) -> frozenset[uuid.UUID] | None:
    """Whose cases the person works on: None for every case (supervisors and admins), else the ids of the
    departments whose services' cases they see (a clerk without a department sees none)."""
    if role in SEES_ALL_CASES:
        return None
    return await department_ids_of(session, user_id)


class DepartmentService:
    def __init__(self, session: AsyncSession, tenant: TenantContext) -> None:
        self.session = session
        self.tenant = tenant

    async def all(self) -> list[Department]:
        return list(await self.session.scalars(select(Department).order_by(func.lower(Department.name))))

    async def summaries(self) -> list[DepartmentSummary]:
        members = dict(
            (
                await self.session.execute(
                    select(DepartmentMember.department_id, func.count()).group_by(DepartmentMember.department_id)
                )
            ).all()
        )
        services = dict(
            (
                await self.session.execute(
                    select(Service.department_id, func.count())
                    .where(Service.department_id.is_not(None))
                    .group_by(Service.department_id)
                )
            ).all()
        )
        return [DepartmentSummary(d, members.get(d.id, 0), services.get(d.id, 0)) for d in await self.all()]

    async def get(self, department_id: uuid.UUID) -> Department:
        department = await self.session.scalar(select(Department).where(Department.id == department_id))
        if department is None:
            raise NotFound(_("This department does not exist (any more)."))
        return department

    async def named(self, name: str) -> Department:
        """The department of this name (case-insensitive), made if there is none yet (e.g. when adopting a template)."""
        name = clean_name(name)[:NAME_MAX]
        existing = await self.session.scalar(select(Department).where(func.lower(Department.name) == name.lower()))
        if existing is not None:
            return existing
        department = Department(tenant_id=self.tenant.id, name=name)
        self.session.add(department)
        await self.session.flush()
        return department

    async def _check_name(self, name: str, department_id: uuid.UUID | None = None) -> None:
        if not name:
            raise DepartmentProblem(_("Please enter the name of the department."))
        if len(name) > NAME_MAX:
            raise DepartmentProblem(_("The name may have at most %(count)s characters.", count=NAME_MAX))
        query = select(Department.id).where(func.lower(Department.name) == name.lower())
        if department_id is not None:
            query = query.where(Department.id != department_id)
        if await self.session.scalar(query) is not None:
            raise DepartmentProblem(_("There is already a department with this name."))

    async def create(self, name: str) -> Department:
        await self._check_name(name)
        department = Department(tenant_id=self.tenant.id, name=name)
        self.session.add(department)
        await self.session.flush()
        return department

    async def member_ids(self, department_id: uuid.UUID) -> set[uuid.UUID]:
        rows = await self.session.scalars(
            select(DepartmentMember.user_id).where(DepartmentMember.department_id == department_id)
        )
        return set(rows)

    async def service_ids(self, department_id: uuid.UUID) -> set[uuid.UUID]:
        return set(await self.session.scalars(select(Service.id).where(Service.department_id == department_id)))

    async def save(
        self, department: Department, name: str, member_ids: Iterable[uuid.UUID], service_ids: Iterable[uuid.UUID]
    ) -> None:
        """Rename the department and set its members and the services routed to it (ids of this municipality only)."""
        await self._check_name(name, department.id)
        members = set(member_ids)
        known_staff = set(await self.session.scalars(select(Membership.user_id).where(Membership.user_id.in_(members))))
        services = set(service_ids)
        known_services = set(await self.session.scalars(select(Service.id).where(Service.id.in_(services))))
        if members - known_staff or services - known_services:
            raise DepartmentProblem(_("Some of the chosen people or services do not exist (any more)."), "members")
        department.name = name
        await self.session.execute(
            delete(DepartmentMember).where(
                DepartmentMember.department_id == department.id, DepartmentMember.user_id.not_in(members)
            )
        )
        for user_id in members - await self.member_ids(department.id):
            self.session.add(DepartmentMember(tenant_id=self.tenant.id, department_id=department.id, user_id=user_id))
        # A service is routed to one department: choosing it here takes it from the one it was routed to.
        await self.session.execute(
            update(Service)
            .where(Service.department_id == department.id, Service.id.not_in(services))
            .values(department_id=None)
            .execution_options(synchronize_session=False)
        )
        if services:
            await self.session.execute(
                update(Service)
                .where(Service.id.in_(services))
                .values(department_id=department.id, department=name)
                .execution_options(synchronize_session=False)
            )
        await self.session.flush()

    async def delete(self, department: Department) -> None:
        """Delete an empty department; one with members or services is refused with the reason."""
        members = len(await self.member_ids(department.id))
        services = len(await self.service_ids(department.id))
        if members or services:
            raise DepartmentProblem(
                _(
                    "This department still has %(members)s member(s) and %(services)s service(s). Please take "
                    "them out of it (or route the services to another department) before deleting it.",
                    members=members,
                    services=services,
                ),
                "delete",
            )
        # Its cases (closed ones, or open ones it was handed) are nobody's department's now: supervisors and
        # admins see them and hand them on. (PostgreSQL's foreign key would do it; SQLite keeps none.)
        await self.session.execute(
            update(Case)
            .where(Case.department_id == department.id)
            .values(department_id=None)
            .execution_options(synchronize_session=False)
        )
        await self.session.delete(department)
        await self.session.flush()

    async def set_departments_of(self, user_id: uuid.UUID, department_ids: Iterable[uuid.UUID]) -> None:
        wanted = set(department_ids)
        known = set(await self.session.scalars(select(Department.id).where(Department.id.in_(wanted))))
        if wanted - known:
            raise DepartmentProblem(_("Some of the chosen departments do not exist (any more)."), "departments")
        await self.session.execute(
            delete(DepartmentMember).where(
                DepartmentMember.user_id == user_id, DepartmentMember.department_id.not_in(wanted)
            )
        )
        for department_id in wanted - await department_ids_of(self.session, user_id):
            self.session.add(DepartmentMember(tenant_id=self.tenant.id, department_id=department_id, user_id=user_id))
        await self.session.flush()

    async def staff_choices(self) -> list[User]:
        rows = await self.session.scalars(
            select(User).join(Membership, Membership.user_id == User.id).order_by(func.lower(User.display_name))
        )
        return list(rows)
