"""Staff accounts: passwords (argon2), login checks, roles per municipality."""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts.models import ROLES, Membership, User
from backend.accounts.staff_sessions import StaffSessions
from backend.core.offload import run_cpu
from backend.core.tenancy import TenantContext

_hasher = PasswordHasher()
# Verifying against this when the e-mail is unknown keeps the answer time the same either way.
_DUMMY_HASH = _hasher.hash("rathaus-dummy-password")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def password_mark(password_hash: str) -> str:
    """A short fingerprint of the password hash, kept in the session: when the password changes (a reset),
    every session made with the old one stops working at its next request."""
    return hashlib.sha256(password_hash.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class StaffIdentity:
    user_id: uuid.UUID
    email: str
    display_name: str
    role: str
    password_mark: str = ""
    # An authenticator app is set up (backend/accounts/second_factor.py).
    second_factor: bool = False


class AccountService:
    def __init__(self, session: AsyncSession, tenant: TenantContext) -> None:
        self.session = session
        self.tenant = tenant

    async def authenticate(self, email: str, password: str) -> StaffIdentity | None:
        """The staff member of this municipality with these credentials, or None (never says which part was wrong)."""
        user = await self.session.scalar(select(User).where(User.email == email.strip().lower()))
        try:
            # argon2 takes tens of milliseconds of CPU on purpose: never on the event loop.
            await run_cpu(_hasher.verify, user.password_hash if user else _DUMMY_HASH, password)
        except (VerificationError, InvalidHashError):
            return None
        if user is None or not user.active:
            return None
        if _hasher.check_needs_rehash(user.password_hash):
            user.password_hash = await run_cpu(hash_password, password)
        return await self.identity(user.id)

    async def has_password(self, user: User, password: str) -> bool:
        try:
            await run_cpu(_hasher.verify, user.password_hash, password)
        except (VerificationError, InvalidHashError):
            return False
        return True

    async def identity(self, user_id: uuid.UUID) -> StaffIdentity | None:
        row = (
            await self.session.execute(
                select(User, Membership)
                .join(Membership, Membership.user_id == User.id)
                .where(User.id == user_id, User.active.is_(True), Membership.active.is_(True))
            )
        ).first()
        if row is None:
            return None
        user, membership = row
        return StaffIdentity(
            user.id,
            user.email,
            user.display_name,
            membership.role,
            password_mark(user.password_hash),
            second_factor=user.totp_enabled_at is not None,
        )

    async def session_identity(self, data: dict[str, Any]) -> StaffIdentity | None:
        """The staff member a session of this municipality speaks for; None when it is not one, the person was
        deactivated, their password changed since the session began, or the session was ended or sat idle."""
        uid, tid = data.get("uid"), data.get("tid")
        if not isinstance(uid, str) or tid != str(self.tenant.id):
            return None
        try:
            user_id = uuid.UUID(uid)
        except ValueError:
            return None
        identity = await self.identity(user_id)
        if identity is None:
            return None
        if data.get("pw") != identity.password_mark:
            return None
        if not await StaffSessions(self.session).alive(data.get("sid"), user_id):
            return None
        return identity

    async def add_staff(self, email: str, password: str, display_name: str, role: str) -> User:
        if role not in ROLES:
            raise ValueError(f"role must be one of {ROLES}")
        email = email.strip().lower()
        user = await self.session.scalar(select(User).where(User.email == email))
        if user is None:
            user = User(email=email, password_hash=await run_cpu(hash_password, password), display_name=display_name)
            self.session.add(user)
            await self.session.flush()
        self.session.add(Membership(tenant_id=self.tenant.id, user_id=user.id, role=role))
        await self.session.flush()
        return user
