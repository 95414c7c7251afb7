"""Password reset links: one hour, one use, only a hash of the token stored.

The link is sent by e-mail (through the outbox) to the address of a staff member of this municipality;
whoever asks gets the same neutral answer whether or not the address belongs to anyone.
"""

from __future__ import annotations

import datetime
import secrets
import uuid
from dataclasses import dataclass

from advanced_alchemy.types import DateTimeUTC
from sqlalchemy import ForeignKey, String, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from backend.accounts.invitations import hash_token
from backend.accounts.models import Membership, User
from backend.core.db import Base, TenantOwned
from backend.core.tenancy import TenantContext

RESET_VALIDITY = datetime.timedelta(hours=1)
RESET_PATH = "/staff/password/reset/"


class PasswordReset(TenantOwned, Base):
    __tablename__ = "password_reset"

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    expires_at: Mapped[datetime.datetime] = mapped_column(DateTimeUTC(timezone=True))
    used_at: Mapped[datetime.datetime | None] = mapped_column(DateTimeUTC(timezone=True), nullable=True)


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


async def active_member(session: AsyncSession, email: str) -> User | None:
    """The active staff member of this municipality with this address (the session is the municipality's)."""
    row = (
        await session.execute(
            select(User)
            .join(Membership, Membership.user_id == User.id)
            .where(User.email == email.strip().lower(), User.active.is_(True), Membership.active.is_(True))
        )
    ).first()
    return row[0] if row else None


async def create_reset(
    session: AsyncSession, tenant: TenantContext, user: User, now: datetime.datetime | None = None
) -> str:
    """Record a reset for ``user`` and return the secret token for the link (never stored)."""
    token = secrets.token_urlsafe(32)
    session.add(
        PasswordReset(
            tenant_id=tenant.id,
            user_id=user.id,
            token_hash=hash_token(token),
            expires_at=(now or _now()) + RESET_VALIDITY,
        )
    )
    await session.flush()
    return token


@dataclass(frozen=True)
class OpenReset:
    reset: PasswordReset
    user: User


class ResetGone(Exception):
    """The link was used already or has expired."""


async def open_reset(session: AsyncSession, token: str, now: datetime.datetime | None = None) -> OpenReset | None:
    """The reset of this municipality behind ``token``; None if unknown, ResetGone if no longer valid."""
    if not token or len(token) > 200:
        return None
    reset = await session.scalar(select(PasswordReset).where(PasswordReset.token_hash == hash_token(token)))
    if reset is None:
        return None
    if reset.used_at is not None or reset.expires_at <= (now or _now()):
        raise ResetGone()
    user = await session.get(User, reset.user_id)
    if user is None or not user.active:
        raise ResetGone()
    member = await session.scalar(
        select(Membership.id).where(Membership.user_id == user.id, Membership.active.is_(True))
    )
    if member is None:
        raise ResetGone()
    return OpenReset(reset, user)


async def use_reset(
    session: AsyncSession, opened: OpenReset, password_hash: str, now: datetime.datetime | None = None
) -> bool:
    """Set the new password and mark the link used (once, even with two tabs racing); the person's other
    open links of this municipality are used up with it."""
    now = now or _now()
    result = await session.execute(
        update(PasswordReset)
        .where(PasswordReset.id == opened.reset.id, PasswordReset.used_at.is_(None), PasswordReset.expires_at > now)
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        return False
    await session.execute(
        update(PasswordReset)
        .where(PasswordReset.user_id == opened.user.id, PasswordReset.used_at.is_(None))
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    opened.user.password_hash = password_hash
    await session.flush()
    return True
