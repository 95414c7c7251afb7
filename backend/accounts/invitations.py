"""Invitations: a one-time link with which a new staff member sets their password (valid 72 hours).

Only a hash of the token is stored; the link itself is shown once, to whoever creates the invitation.
"""

from __future__ import annotations

import datetime
import hashlib
import secrets
import uuid
from dataclasses import dataclass

from advanced_alchemy.types import DateTimeUTC
from sqlalchemy import ForeignKey, String, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from backend.accounts.models import ROLES, Membership, User
from backend.core.db import ALL_TENANTS, Base, TenantOwned
from backend.core.tenancy import TenantContext

INVITATION_VALIDITY = datetime.timedelta(hours=72)
INVITE_PATH = "/staff/invite/"


class Invitation(TenantOwned, Base):
    __tablename__ = "invitation"

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(20))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    expires_at: Mapped[datetime.datetime] = mapped_column(DateTimeUTC(timezone=True))
    accepted_at: Mapped[datetime.datetime | None] = mapped_column(DateTimeUTC(timezone=True), nullable=True)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def invite(
    session: AsyncSession, tenant: TenantContext, user: User, role: str, now: datetime.datetime | None = None
) -> str:
    """Record an invitation for ``user`` and return the secret token for the link (never stored)."""
    if role not in ROLES:
        raise ValueError(f"role must be one of {ROLES}")
    token = secrets.token_urlsafe(32)
    session.add(
        Invitation(
            tenant_id=tenant.id,
            user_id=user.id,
            role=role,
            token_hash=hash_token(token),
            expires_at=(now or datetime.datetime.now(datetime.UTC)) + INVITATION_VALIDITY,
        )
    )
    await session.flush()
    return token


@dataclass(frozen=True)
class OpenInvitation:
    invitation: Invitation
    user: User
    # The person already had a password before this invitation (another municipality, or an earlier
    # invitation): the link must not let whoever holds it replace that password.
    existing_account: bool


class InvitationGone(Exception):
    """The link was used already or has expired."""


async def open_invitation(
    session: AsyncSession, token: str, now: datetime.datetime | None = None
) -> OpenInvitation | None:
    """The invitation of this municipality behind ``token``; None if unknown, InvitationGone if no longer valid."""
    if not token or len(token) > 200:
        return None
    invitation = await session.scalar(select(Invitation).where(Invitation.token_hash == hash_token(token)))
    if invitation is None:
        return None
    if invitation.accepted_at is not None or invitation.expires_at <= (now or datetime.datetime.now(datetime.UTC)):
        raise InvitationGone()
    user = await session.get(User, invitation.user_id)
    if user is None or not user.active:
        return None
    return OpenInvitation(invitation, user, await _has_password_elsewhere(session, invitation))


async def _has_password_elsewhere(session: AsyncSession, invitation: Invitation) -> bool:
    # Looks across municipalities on purpose: a membership elsewhere or an accepted invitation means the
    # person chose a password before, which this municipality's link must not overwrite.
    other_membership = await session.scalar(
        select(func.count())
        .select_from(Membership)
        .where(Membership.user_id == invitation.user_id, Membership.tenant_id != invitation.tenant_id)
        .execution_options(**{ALL_TENANTS: True})
    )
    accepted_before = await session.scalar(
        select(func.count())
        .select_from(Invitation)
        .where(Invitation.user_id == invitation.user_id, Invitation.accepted_at.is_not(None))
        .execution_options(**{ALL_TENANTS: True})
    )
    return bool(other_membership or accepted_before)


async def accept(
    session: AsyncSession, opened: OpenInvitation, password_hash: str | None, now: datetime.datetime | None = None
) -> bool:
    """Mark the invitation used (once, even with two tabs racing) and set the password if given."""
    now = now or datetime.datetime.now(datetime.UTC)
    result = await session.execute(
        update(Invitation)
        .where(
            Invitation.id == opened.invitation.id,
            Invitation.accepted_at.is_(None),
            Invitation.expires_at > now,
        )
        .values(accepted_at=now)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        return False
    if password_hash is not None and not opened.existing_account:
        opened.user.password_hash = password_hash
    membership = await session.scalar(select(Membership).where(Membership.user_id == opened.user.id))
    if membership is None:
        session.add(
            Membership(tenant_id=opened.invitation.tenant_id, user_id=opened.user.id, role=opened.invitation.role)
        )
    await session.flush()
    return True
