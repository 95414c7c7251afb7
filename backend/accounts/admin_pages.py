"""The admin pages for staff and departments (/staff/admin/staff, /staff/admin/departments)."""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Controller, Request, get, post
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts.departments import DepartmentProblem, DepartmentService, clean_name
from backend.accounts.invitations import INVITE_PATH
from backend.accounts.models import ROLES
from backend.accounts.password_pages import send_reset_link
from backend.accounts.services import StaffIdentity
from backend.accounts.staff import StaffProblem, StaffService, role_label
from backend.catalogue.services import CatalogueService
from backend.core.i18n import gettext as _
from backend.core.i18n import translate_text
from backend.core.tenancy import TenantContext
from backend.core.text import clean_line
from backend.notifications.staff_mail import queue_staff_email

NO_STORE = {"Cache-Control": "no-store"}


def _ids(values: list[str]) -> list[uuid.UUID] | None:
    """The ids chosen in a list of checkboxes; None if one of them is not an id at all."""
    try:
        return [uuid.UUID(v) for v in values if v]
    except ValueError:
        return None


def _roles() -> list[tuple[str, str]]:
    return [(role, role_label(role)) for role in ROLES]


# --- staff -----------------------------------------------------------------------------------------------


class StaffAdminController(Controller):
    path = "/staff"

    async def _list(
        self,
        staff: StaffIdentity,
        session: AsyncSession,
        tenant: TenantContext,
        values: dict[str, Any] | None = None,
        errors: dict[str, str] | None = None,
        invite_link: str = "",
        status: int = 200,
    ) -> Template:
        service = StaffService(session, tenant)
        return Template(
            "staff/admin/staff.html",
            context={
                "staff": staff,
                "members": await service.members(),
                "departments": await service.departments.all(),
                "roles": _roles(),
                "role_label": role_label,
                "values": values or {"email": "", "name": "", "role": "clerk", "departments": []},
                "errors": errors or {},
                "invite_link": invite_link,
            },
            status_code=status,
            headers=NO_STORE,
        )

    @get("/")
    async def index(
        self,
        request: Request[Any, Any, State],
        staff: NamedDependency[StaffIdentity],
        session: NamedDependency[AsyncSession],
        tenant: NamedDependency[TenantContext],
    ) -> Template:
        # The link of an invitation just made is shown once, from the session, never in an address.
        link = ""
        data = dict(request.session or {})
        if data.get("invite_link"):
            link = str(data.pop("invite_link"))
            request.set_session(data)
        return await self._list(staff, session, tenant, invite_link=link)

    @post("/invite", status_code=200)
    async def invite(
        self,
        request: Request[Any, Any, State],
        staff: NamedDependency[StaffIdentity],
        session: NamedDependency[AsyncSession],
        tenant: NamedDependency[TenantContext],
    ) -> Template | Redirect:
        data = await request.form()
        chosen = [str(v)[:40] for v in data.getall("departments", [])][:200]
        values = {
            "email": clean_line(str(data.get("email") or ""))[:254],
            "name": clean_line(str(data.get("name") or ""))[:200],
            "role": str(data.get("role") or "")[:20],
            "departments": chosen,
        }
        department_ids = _ids(chosen)
        if department_ids is None:
            errors = {"departments": _("Please choose departments from the list.")}
            return await self._list(staff, session, tenant, values, errors, status=422)
        service = StaffService(session, tenant)
        try:
            user, token = await service.invite(values["email"], values["role"], department_ids, values["name"])
        except StaffProblem as problem:
            await session.rollback()
            return await self._list(staff, session, tenant, values, {problem.field: problem.message}, status=422)
        path = INVITE_PATH + token
        await queue_staff_email(
            session,
            tenant.id,
            email=user.email,
            kind="staff_invitation",
            subject=_("Your invitation to the staff area"),
            lines=[
                _("%(who)s has invited you to the staff area of %(name)s.", who=staff.display_name, name=tenant.name),
                _("Please choose your password within 72 hours with this link (it works once):"),
            ],
            path=path,
            after=[_("If you did not expect this invitation, you can ignore this e-mail.")],
        )
        await session.commit()
        request.set_session({**(request.session or {}), "invite_link": str(request.base_url).rstrip("/") + path})
        return Redirect(path="/staff/admin/staff?invited=1", status_code=303)

    async def _person(
        self,
        staff: StaffIdentity,
        session: AsyncSession,
        tenant: TenantContext,
        user_id: uuid.UUID,
        values: dict[str, Any] | None = None,
        errors: dict[str, str] | None = None,
        status: int = 200,
    ) -> Template:
        service = StaffService(session, tenant)
        member = await service.member(user_id)
        return Template(
            "staff/admin/staff_person.html",
            context={
                "staff": staff,
                "member": member,
                "departments": await service.departments.all(),
                "roles": _roles(),
                "role_label": role_label,
                "values": values
                or {"role": member.membership.role, "departments": [str(d.id) for d in member.departments]},
                "errors": errors or {},
            },
            status_code=status,
            headers=NO_STORE,
        )

    @get("/{user_id:uuid}")
    async def person(
        self,
        user_id: FromPath[uuid.UUID],
        staff: NamedDependency[StaffIdentity],
        session: NamedDependency[AsyncSession],
        tenant: NamedDependency[TenantContext],
    ) -> Template:
        return await self._person(staff, session, tenant, user_id)

    @post("/{user_id:uuid}", status_code=200)
    async def save(
        self,
        user_id: FromPath[uuid.UUID],
        request: Request[Any, Any, State],
        staff: NamedDependency[StaffIdentity],
        session: NamedDependency[AsyncSession],
        tenant: NamedDependency[TenantContext],
    ) -> Template | Redirect:
        service = StaffService(session, tenant)
        await service.member(user_id)  # 404 before anything else for a person of another municipality
        data = await request.form()
        chosen = [str(v)[:40] for v in data.getall("departments", [])][:200]
        values = {"role": str(data.get("role") or "")[:20], "departments": chosen}
        department_ids = _ids(chosen)
        if department_ids is None:
            errors = {"departments": _("Please choose departments from the list.")}
            return await self._person(staff, session, tenant, user_id, values, errors, status=422)
        try:
            await service.change(user_id, values["role"], department_ids)
        except StaffProblem as problem:
            await session.rollback()
            return await self._person(staff, session, tenant, user_id, values, {problem.field: problem.message}, 422)
        await session.commit()
        return Redirect(path=f"/staff/admin/staff/{user_id}?saved=1", status_code=303)

    async def _set_active(
        self, user_id: uuid.UUID, active: bool, staff: StaffIdentity, session: AsyncSession, tenant: TenantContext
    ) -> Template | Redirect:
        try:
            await StaffService(session, tenant).set_active(user_id, active)
        except StaffProblem as problem:
            await session.rollback()
            return await self._person(staff, session, tenant, user_id, None, {problem.field: problem.message}, 422)
        await session.commit()
        done = "activated" if active else "deactivated"
        return Redirect(path=f"/staff/admin/staff/{user_id}?{done}=1", status_code=303)

    @post("/{user_id:uuid}/deactivate", status_code=200)
    async def deactivate(
        self,
        user_id: FromPath[uuid.UUID],
        staff: NamedDependency[StaffIdentity],
        session: NamedDependency[AsyncSession],
        tenant: NamedDependency[TenantContext],
    ) -> Template | Redirect:
        return await self._set_active(user_id, False, staff, session, tenant)

    @post("/{user_id:uuid}/reactivate", status_code=200)
    async def reactivate(
        self,
        user_id: FromPath[uuid.UUID],
        staff: NamedDependency[StaffIdentity],
        session: NamedDependency[AsyncSession],
        tenant: NamedDependency[TenantContext],
    ) -> Template | Redirect:
        return await self._set_active(user_id, True, staff, session, tenant)

    @post("/{user_id:uuid}/password-reset", status_code=200)
    async def password_reset(
        self,
        user_id: FromPath[uuid.UUID],
        staff: NamedDependency[StaffIdentity],
        session: NamedDependency[AsyncSession],
        tenant: NamedDependency[TenantContext],
    ) -> Template | Redirect:
        member = await StaffService(session, tenant).member(user_id)
        if not member.membership.active or not member.user.active:
            errors = {"reset": _("This person is deactivated. Please reactivate them first.")}
            return await self._person(staff, session, tenant, user_id, None, errors, 422)
        await send_reset_link(session, tenant, member.user)
        await session.commit()
        return Redirect(path=f"/staff/admin/staff/{user_id}?reset_sent=1", status_code=303)


# --- departments -----------------------------------------------------------------------------------------


class DepartmentAdminController(Controller):
    path = "/departments"

    async def _list(
        self,
        staff: StaffIdentity,
        session: AsyncSession,
        tenant: TenantContext,
        name: str = "",
        errors: dict[str, str] | None = None,
        status: int = 200,
    ) -> Template:
        return Template(
            "staff/admin/departments.html",
            context={
                "staff": staff,
                "summaries": await DepartmentService(session, tenant).summaries(),
                "values": {"name": name},
                "errors": errors or {},
            },
            status_code=status,
            headers=NO_STORE,
        )

    @get("/")
    async def index(
        self,
        staff: NamedDependency[StaffIdentity],
        session: NamedDependency[AsyncSession],
        tenant: NamedDependency[TenantContext],
    ) -> Template:
        return await self._list(staff, session, tenant)

    @post("/", status_code=200)
    async def create(
        self,
        request: Request[Any, Any, State],
        staff: NamedDependency[StaffIdentity],
        session: NamedDependency[AsyncSession],
        tenant: NamedDependency[TenantContext],
    ) -> Template | Redirect:
        data = await request.form()
        name = clean_name(str(data.get("name") or "")[:400])
        try:
            department = await DepartmentService(session, tenant).create(name)
        except DepartmentProblem as problem:
            await session.rollback()
            return await self._list(staff, session, tenant, name, {"name": str(problem)}, status=422)
        await session.commit()
        return Redirect(path=f"/staff/admin/departments/{department.id}?created=1", status_code=303)

    async def _page(
        self,
        staff: StaffIdentity,
        session: AsyncSession,
        tenant: TenantContext,
        department_id: uuid.UUID,
        values: dict[str, Any] | None = None,
        errors: dict[str, str] | None = None,
        status: int = 200,
    ) -> Template:
        departments = DepartmentService(session, tenant)
        department = await departments.get(department_id)
        services = await CatalogueService(session, tenant).all_services()
        names = {d.id: d.name for d in await departments.all()}
        return Template(
            "staff/admin/department.html",
            context={
                "staff": staff,
                "department": department,
                "people": await departments.staff_choices(),
                "services": [
                    (
                        s,
                        translate_text(s.name),
                        None if s.department_id == department.id else names.get(s.department_id),
                    )
                    for s in services
                ],
                "values": values
                or {
                    "name": department.name,
                    "members": [str(i) for i in await departments.member_ids(department.id)],
                    "services": [str(i) for i in await departments.service_ids(department.id)],
                },
                "errors": errors or {},
            },
            status_code=status,
            headers=NO_STORE,
        )

    @get("/{department_id:uuid}")
    async def show(
        self,
        department_id: FromPath[uuid.UUID],
        staff: NamedDependency[StaffIdentity],
        session: NamedDependency[AsyncSession],
        tenant: NamedDependency[TenantContext],
    ) -> Template:
        return await self._page(staff, session, tenant, department_id)

    @post("/{department_id:uuid}", status_code=200)
    async def save(
        self,
        department_id: FromPath[uuid.UUID],
        request: Request[Any, Any, State],
        staff: NamedDependency[StaffIdentity],
        session: NamedDependency[AsyncSession],
        tenant: NamedDependency[TenantContext],
    ) -> Template | Redirect:
        departments = DepartmentService(session, tenant)
        department = await departments.get(department_id)
        data = await request.form()
        members = [str(v)[:40] for v in data.getall("members", [])][:500]
        services = [str(v)[:40] for v in data.getall("services", [])][:500]
        values = {"name": clean_name(str(data.get("name") or "")[:400]), "members": members, "services": services}
        member_ids, service_ids = _ids(members), _ids(services)
        if member_ids is None or service_ids is None:
            errors = {"members": _("Please choose people and services from the lists.")}
            return await self._page(staff, session, tenant, department_id, values, errors, 422)
        try:
            await departments.save(department, values["name"], member_ids, service_ids)
        except DepartmentProblem as problem:
            await session.rollback()
            return await self._page(staff, session, tenant, department_id, values, {problem.field: str(problem)}, 422)
        await session.commit()
        return Redirect(path=f"/staff/admin/departments/{department_id}?saved=1", status_code=303)

    @post("/{department_id:uuid}/delete", status_code=200)
    async def delete(
        self,
        department_id: FromPath[uuid.UUID],
        staff: NamedDependency[StaffIdentity],
        session: NamedDependency[AsyncSession],
        tenant: NamedDependency[TenantContext],
    ) -> Template | Redirect:
        departments = DepartmentService(session, tenant)
        department = await departments.get(department_id)
        try:
            await departments.delete(department)
        except DepartmentProblem as problem:
            await session.rollback()
            return await self._page(staff, session, tenant, department_id, None, {"delete": str(problem)}, 422)
        await session.commit()
        return Redirect(path="/staff/admin/departments?deleted=1", status_code=303)
