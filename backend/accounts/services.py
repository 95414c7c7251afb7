"""Staff accounts: passwords (argon2), login checks, roles per municipality."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts.models import ROLES, Membership, User
from backend.core.tenancy import TenantContext

_hasher = PasswordHasher()
# Verifying against this when the e-mail is unknown keeps the answer time the same either way.
_DUMMY_HASH = _hasher.hash("rathaus-dummy-password")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


@dataclass(frozen=True)
class StaffIdentity:
    user_id: uuid.UUID
    email: str
    display_name: str
    role: str


class AccountService:
    def __init__(self, session: AsyncSession, tenant: TenantContext) -> None:
        self.session = session
        self.tenant = tenant

    async def authenticate(self, email: str, password: str) -> StaffIdentity | None:
        """The staff member of this municipality with these credentials, or None (never says which part was wrong)."""
        user = await self.session.scalar(select(User).where(User.email == email.strip().lower()))
        try:
            _hasher.verify(user.password_hash if user else _DUMMY_HASH, password)
        except (VerificationError, InvalidHashError):
            return None
        if user is None or not user.active:
            return None
        if _hasher.check_needs_rehash(user.password_hash):
            user.password_hash = hash_password(password)
        return await self.identity(user.id)

    async def identity(self, user_id: uuid.UUID) -> StaffIdentity | None:
        row = (
            await self.session.execute(
                select(User, Membership)
                .join(Membership, Membership.user_id == User.id)
                .where(User.id == user_id, User.active.is_(True))
            )
        ).first()
        if row is None:
            return None
        user, membership = row
        return StaffIdentity(user.id, user.email, user.display_name, membership.role)

    async def add_staff(self, email: str, password: str, display_name: str, role: str) -> User:
        if role not in ROLES:
            raise ValueError(f"role must be one of {ROLES}")
        email = email.strip().lower()
        user = await self.session.scalar(select(User).where(User.email == email))
        if user is None:
            user = User(email=email, password_hash=hash_password(password), display_name=display_name)
            self.session.add(user)
            await self.session.flush()
        self.session.add(Membership(tenant_id=self.tenant.id, user_id=user.id, role=role))
        await self.session.flush()
        return user
