"""The staff's second factor: time-based one-time codes (TOTP, RFC 6238) from an authenticator app, and
recovery codes for the day the phone is lost.

A code is accepted once only: the time step of the last accepted code is stored, and a code of that step
or an earlier one is refused, also when two requests bring the same code at the same moment (one atomic
UPDATE decides). Recovery codes are random, shown once, stored as hashes, and used once each.
"""

from __future__ import annotations

import datetime
import hashlib
import hmac
import secrets
import uuid
from dataclasses import dataclass

import pyotp
import segno
from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts.models import RecoveryCode, User
from backend.core.text import ascii_digits

# One step either side of now: a phone clock a little off, or a code typed just as it changed.
VALID_WINDOW = 1
RECOVERY_CODES = 10
# A login that passed the password waits this long for its code, and allows this many wrong ones.
PENDING_SECONDS = 300
PENDING_TRIES = 5


def new_secret() -> str:
    return pyotp.random_base32()  # 160 bits, as RFC 4226 recommends


def grouped(secret: str) -> str:
    """The secret in groups of four, for typing it into an app by hand."""
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


def provisioning_uri(secret: str, account: str, issuer: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=account, issuer_name=issuer)


def qr_svg(uri: str, title: str) -> str:
    """The enrolment link as a QR code, an SVG drawn on the server (no script, no image request)."""
    return segno.make(uri, error="m").svg_inline(scale=4, border=2, title=title, dark="#000", light="#fff")


def _matching_step(secret: str, code: str, now: datetime.datetime) -> int | None:
    """The time step the code belongs to, within the window around ``now``; None if it matches none."""
    totp = pyotp.TOTP(secret)
    step = totp.timecode(now)
    for candidate in range(step - VALID_WINDOW, step + VALID_WINDOW + 1):
        if hmac.compare_digest(totp.generate_otp(candidate).encode(), code.encode()):
            return candidate
    return None


def normalized_code(raw: str) -> str:
    """The code as typed, without spaces and dashes, in lower case, its digits as ASCII digits."""
    return ascii_digits("".join(ch for ch in raw if not ch.isspace() and ch != "-")).lower()


def _hash(code: str) -> str:
    return hashlib.sha256(normalized_code(code).encode()).hexdigest()


@dataclass(frozen=True)
class Enrolled:
    recovery_codes: list[str]


class SecondFactorService:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def user(self, user_id: uuid.UUID) -> User:
        user = await self.session.get(User, user_id)
        assert user is not None
        return user

    async def enrol(
        self, user_id: uuid.UUID, secret: str, code: str, now: datetime.datetime | None = None
    ) -> Enrolled | None:
        """Switch the second factor on with ``secret`` if ``code`` comes from it; new recovery codes."""
        now = now or datetime.datetime.now(datetime.UTC)
        step = _matching_step(secret, normalized_code(code), now)
        if step is None:
            return None
        user = await self.user(user_id)
        user.totp_secret, user.totp_enabled_at, user.totp_last_step = secret, now, step
        return Enrolled(await self.new_recovery_codes(user_id))

    async def new_recovery_codes(self, user_id: uuid.UUID) -> list[str]:
        """Replace the person's recovery codes; the new ones are returned once and only their hashes kept."""
        await self.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user_id))
        codes = [f"{secrets.token_hex(3)}-{secrets.token_hex(3)}" for _ in range(RECOVERY_CODES)]
        self.session.add_all(RecoveryCode(user_id=user_id, code_hash=_hash(c)) for c in codes)
        await self.session.flush()
        return codes

    async def unused_recovery_codes(self, user_id: uuid.UUID) -> int:
        query = select(func.count()).where(RecoveryCode.user_id == user_id, RecoveryCode.used_at.is_(None))
        return int(await self.session.scalar(query) or 0)

    async def check(self, user_id: uuid.UUID, raw: str, now: datetime.datetime | None = None) -> bool:
        """A code from the app (six digits) or an unused recovery code; either works once only."""
        now = now or datetime.datetime.now(datetime.UTC)
        code = normalized_code(raw)
        user = await self.user(user_id)
        if not user.totp_secret or not code:
            return False
        if code.isascii() and code.isdigit() and len(code) == 6:
            step = _matching_step(user.totp_secret, code, now)
            if step is None:
                return False
            # Atomic: of two requests with the same code, one moves the step on and the other finds it moved.
            used = await self.session.execute(
                update(User)
                .where(User.id == user_id, or_(User.totp_last_step.is_(None), User.totp_last_step < step))
                .values(totp_last_step=step)
                .execution_options(synchronize_session=False)
            )
            return used.rowcount == 1  # type: ignore[attr-defined,no-any-return]
        used = await self.session.execute(
            update(RecoveryCode)
            .where(
                RecoveryCode.user_id == user_id, RecoveryCode.code_hash == _hash(code), RecoveryCode.used_at.is_(None)
            )
            .values(used_at=now)
            .execution_options(synchronize_session=False)
        )
        return used.rowcount == 1  # type: ignore[attr-defined,no-any-return]

    async def disable(self, user_id: uuid.UUID) -> None:
        user = await self.user(user_id)
        user.totp_secret = user.totp_enabled_at = user.totp_last_step = None
        await self.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user_id))
