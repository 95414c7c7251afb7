"""The municipality's staff as its admin manages them: invitations, roles, departments, deactivation."""

from __future__ import annotations

import datetime
import secrets
import uuid
from dataclasses import dataclass

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts.departments import DepartmentService
from backend.accounts.invitations import Invitation, invite
from backend.accounts.models import ROLES, Department, DepartmentMember, Membership, User
from backend.accounts.resets import PasswordReset
from backend.core.errors import NotFound
from backend.core.i18n import gettext as _
from backend.core.tenancy import TenantContext


class StaffProblem(ValueError):
    """A change the admin asked for that cannot be made; ``field`` is the form field it concerns."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


@dataclass(frozen=True)
class StaffMember:
    user: User
    membership: Membership
    departments: list[Department]
    invitation_pending: bool


def last_admin_text() -> str:
    return _("This is the last administrator of the municipality. Please make someone else an administrator first.")


def role_label(role: str) -> str:
    return {"clerk": _("Clerk"), "supervisor": _("Supervisor"), "admin": _("Administrator")}.get(role, role)


def valid_email(raw: str) -> str:
    try:
        return validate_email(raw.strip(), check_deliverability=False).normalized.lower()
    except EmailNotValidError:
        raise StaffProblem("email", _("Please enter a valid e-mail address, e.g. name@example.org.")) from None


class StaffService:
    def __init__(self, session: AsyncSession, tenant: TenantContext) -> None:
        self.session = session
        self.tenant = tenant
        self.departments = DepartmentService(session, tenant)

    async def members(self) -> list[StaffMember]:
        rows = (
            await self.session.execute(
                select(User, Membership)
                .join(Membership, Membership.user_id == User.id)
                .order_by(func.lower(User.display_name), User.email)
            )
        ).all()
        links = (await self.session.execute(select(DepartmentMember.user_id, DepartmentMember.department_id))).all()
        by_id = {d.id: d for d in await self.departments.all()}
        now = datetime.datetime.now(datetime.UTC)
        pending = set(
            await self.session.scalars(
                select(Invitation.user_id).where(Invitation.accepted_at.is_(None), Invitation.expires_at > now)
            )
        )
        return [
            StaffMember(
                user,
                membership,
                sorted((by_id[d] for u, d in links if u == user.id and d in by_id), key=lambda d: d.name.lower()),
                user.id in pending,
            )
            for user, membership in rows
        ]

    async def member(self, user_id: uuid.UUID) -> StaffMember:
        for member in await self.members():
            if member.user.id == user_id:
                return member
        raise NotFound(_("This person is not on the staff of this municipality."))

    async def invite(
        self, email: str, role: str, department_ids: list[uuid.UUID], display_name: str = ""
    ) -> tuple[User, str]:
        """Add the person (a new account, or an existing one from another municipality) and return the secret
        token of their invitation link."""
        address = valid_email(email)
        if role not in ROLES:
            raise StaffProblem("role", _("Please choose a role."))
        user = await self.session.scalar(select(User).where(User.email == address))
        if user is not None:
            here = await self.session.scalar(select(Membership.id).where(Membership.user_id == user.id))
            if here is not None:
                raise StaffProblem("email", _("This person is already on the staff of this municipality."))
        else:
            # Nobody knows this password: the person sets their own through the invitation link.
            user = User(
                email=address,
                password_hash="!" + secrets.token_urlsafe(32),
                display_name=display_name or address.split("@", 1)[0],
            )
            self.session.add(user)
            await self.session.flush()
        self.session.add(Membership(tenant_id=self.tenant.id, user_id=user.id, role=role))
        await self.session.flush()
        try:
            await self.departments.set_departments_of(user.id, department_ids)
        except ValueError as exc:
            raise StaffProblem("departments", str(exc)) from None
        return user, await invite(self.session, self.tenant, user, role)

    async def _other_active_admins(self, user_id: uuid.UUID) -> int:
        return int(
            await self.session.scalar(
                select(func.count())
                .select_from(Membership)
                .join(User, User.id == Membership.user_id)
                .where(
                    Membership.role == "admin",
                    Membership.active.is_(True),
                    User.active.is_(True),
                    Membership.user_id != user_id,
                )
            )
            or 0
        )

    async def change(self, user_id: uuid.UUID, role: str, department_ids: list[uuid.UUID]) -> None:
        member = await self.member(user_id)
        if role not in ROLES:
            raise StaffProblem("role", _("Please choose a role."))
        demoted = member.membership.role == "admin" and role != "admin" and member.membership.active
        if demoted and not await self._other_active_admins(user_id):
            raise StaffProblem("role", last_admin_text())
        try:
            await self.departments.set_departments_of(user_id, department_ids)
        except ValueError as exc:
            raise StaffProblem("departments", str(exc)) from None
        member.membership.role = role
        await self.session.execute(
            update(Invitation)
            .where(Invitation.user_id == user_id, Invitation.accepted_at.is_(None))
            .values(role=role)
            .execution_options(synchronize_session=False)
        )
        await self.session.flush()

    async def set_active(self, user_id: uuid.UUID, active: bool) -> None:
        """Deactivate (no login, sessions end at their next request, open links stop working) or reactivate."""
        member = await self.member(user_id)
        if not active and member.membership.role == "admin" and not await self._other_active_admins(user_id):
            raise StaffProblem(
                "active",
                last_admin_text(),
            )
        member.membership.active = active
        if not active:
            now = datetime.datetime.now(datetime.UTC)
            for model in (Invitation, PasswordReset):
                await self.session.execute(
                    update(model)
                    .where(model.user_id == user_id, model.expires_at > now)
                    .values(expires_at=now)
                    .execution_options(synchronize_session=False)
                )
        await self.session.flush()
