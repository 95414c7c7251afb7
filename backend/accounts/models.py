"""Staff users, their role in each municipality, and the municipality's departments."""

from __future__ import annotations

import datetime
import uuid

from advanced_alchemy.types import DateTimeUTC
from sqlalchemy import BigInteger, ForeignKey, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from backend.core.db import Base, TenantOwned

# clerk: the cases of their departments; supervisor: every case; admin: every case and the administration.
ROLES = ("clerk", "supervisor", "admin")
# Roles that see every case of the municipality, whatever their departments.
SEES_ALL_CASES = frozenset({"supervisor", "admin"})


class User(Base):
    """A person who can log in; what they may do is decided per municipality by a Membership."""

    __tablename__ = "user_account"

    email: Mapped[str] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    display_name: Mapped[str] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(default=True)
    # The second factor (backend/accounts/second_factor.py): a TOTP secret (base32), set once confirmed with a
    # code, and the last time step used, so that a code is accepted once only.
    totp_secret: Mapped[str | None] = mapped_column(String(64), nullable=True)
    totp_enabled_at: Mapped[datetime.datetime | None] = mapped_column(DateTimeUTC(timezone=True), nullable=True)
    totp_last_step: Mapped[int | None] = mapped_column(nullable=True)


class StaffSession(TenantOwned, Base):
    """A staff login in one browser: listed to its person, ended from anywhere (backend/accounts/staff_sessions.py).

    The session's data lives in the session store; this row names it by the hash of its id.
    """

    __tablename__ = "staff_session"

    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    user_agent: Mapped[str] = mapped_column(String(300), default="")
    last_seen_at: Mapped[datetime.datetime] = mapped_column(DateTimeUTC(timezone=True))


class RecoveryCode(Base):
    """A one-time code that stands in for the authenticator app once; only its hash is kept."""

    __tablename__ = "recovery_code"

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64))
    used_at: Mapped[datetime.datetime | None] = mapped_column(DateTimeUTC(timezone=True), nullable=True)


class Membership(TenantOwned, Base):
    __tablename__ = "membership"
    __table_args__ = (UniqueConstraint("tenant_id", "user_id", name="uq_membership_user"),)

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(20))
    # Deactivated by the municipality's admin: no login here, and running sessions end at their next request.
    # Per municipality: the same person may still work for another one.
    active: Mapped[bool] = mapped_column(default=True)


class Department(TenantOwned, Base):
    """A part of the town hall that handles the cases of the services routed to it."""

    __tablename__ = "department"
    __table_args__ = (UniqueConstraint("tenant_id", "name", name="uq_department_name"),)

    name: Mapped[str] = mapped_column(String(120))


class DepartmentMember(TenantOwned, Base):
    __tablename__ = "department_member"
    __table_args__ = (UniqueConstraint("department_id", "user_id", name="uq_department_member"),)

    department_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("department.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)


class CitizenAccount(TenantOwned, Base):
    """A citizen's account with one municipality (its host is its own origin), made when they first sign in
    with a code sent to their address: the address is verified from then on (backend/accounts/citizens.py)."""

    __tablename__ = "citizen_account"
    __table_args__ = (UniqueConstraint("tenant_id", "email", name="uq_citizen_account_email"),)

    email: Mapped[str] = mapped_column(String(254))
    language: Mapped[str] = mapped_column(String(8), default="de")
    verified_at: Mapped[datetime.datetime] = mapped_column(DateTimeUTC(timezone=True))


class CitizenSignInCode(TenantOwned, Base):
    """A one-time sign-in code sent by e-mail: only an HMAC of it is kept, bound to the browser that asked for
    it (by the hash of a token in that browser's cookie); ten minutes, five tries, one use."""

    __tablename__ = "citizen_sign_in_code"

    email: Mapped[str] = mapped_column(String(254), index=True)
    browser_hash: Mapped[str] = mapped_column(String(64), unique=True)
    code_hash: Mapped[str] = mapped_column(String(64))
    expires_at: Mapped[datetime.datetime] = mapped_column(DateTimeUTC(timezone=True))
    tries: Mapped[int] = mapped_column(default=0)
    used_at: Mapped[datetime.datetime | None] = mapped_column(DateTimeUTC(timezone=True), nullable=True)


class CitizenSession(TenantOwned, Base):
    """A signed-in citizen in one browser, apart from staff sessions: its own cookie names it by a secret of
    which only the hash is kept here; a new one is made at every sign-in."""

    __tablename__ = "citizen_session"

    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    account_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("citizen_account.id", ondelete="CASCADE"), index=True)
    expires_at: Mapped[datetime.datetime] = mapped_column(DateTimeUTC(timezone=True))


class CitizenPasskey(TenantOwned, Base):
    """A passkey (WebAuthn credential) a citizen added to their account: signing in with it needs no e-mail.

    Only the public key is kept. ``rp_id`` is the host it was made on: the browser offers it there only.
    """

    __tablename__ = "citizen_passkey"
    __table_args__ = (UniqueConstraint("tenant_id", "credential_id", name="uq_citizen_passkey_credential"),)

    account_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("citizen_account.id", ondelete="CASCADE"), index=True)
    credential_id: Mapped[str] = mapped_column(String(1400))
    public_key: Mapped[bytes] = mapped_column(LargeBinary)
    sign_count: Mapped[int] = mapped_column(BigInteger, default=0)
    rp_id: Mapped[str] = mapped_column(String(253))
    name: Mapped[str] = mapped_column(String(80))
    last_used_at: Mapped[datetime.datetime | None] = mapped_column(DateTimeUTC(timezone=True), nullable=True)


class PasskeyChallenge(TenantOwned, Base):
    """A challenge handed to the browser for one passkey ceremony: used once, valid a few minutes.

    With ``account_id`` it adds a passkey to that account; without, it signs in.
    """

    __tablename__ = "passkey_challenge"

    challenge: Mapped[str] = mapped_column(String(64), unique=True)
    account_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("citizen_account.id", ondelete="CASCADE"), nullable=True
    )
    expires_at: Mapped[datetime.datetime] = mapped_column(DateTimeUTC(timezone=True), index=True)
