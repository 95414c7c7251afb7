"""Login throttling with device cookies (OWASP: "Slow down online guessing attacks with device cookies").

A browser that has logged in to an account before holds a signed device cookie for it. Such a *trusted*
device is never locked by failures from elsewhere; it has its own small failure budget. Every other
client is *untrusted* and shares one failure budget per account. So a guesser (or a colleague's typos
behind the same town-hall NAT) can lock an account only for clients that never logged in to it, and
knowing a clerk's address is not enough to lock the clerk out of their own browser.

Attempts are counted with one atomic ``hit`` *before* the password is checked: parallel guesses can never
all pass a check that reads a stale count.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import secrets
import uuid
from dataclasses import dataclass
from typing import Any

from litestar import Request, Response

from backend.core.ratelimit import RateLimiter

DEVICE_COOKIE = "rathaus_device"
DEVICE_COOKIE_MAX_AGE = 180 * 24 * 3600
# A shared browser may have logged in to a few accounts; older entries drop out.
DEVICE_ENTRIES_KEPT = 5

WINDOW_SECONDS = 15 * 60
UNTRUSTED_FAILURES_PER_ACCOUNT = 10
TRUSTED_FAILURES_PER_DEVICE = 5
# From this many attempts in the window on, each failure waits longer before it is answered: guessing gets
# slow, a typo costs a second.
FAILURES_BEFORE_DELAY = 3
FAILURE_DELAY_SECONDS = 1.0


@dataclass(frozen=True)
class Attempt:
    key: str
    trusted: bool
    count: int


class LoginThrottle:
    def __init__(self, limiter: RateLimiter, secret: str, tenant_id: uuid.UUID) -> None:
        self.limiter = limiter
        self.secret = secret.encode()
        self.tenant_id = tenant_id

    def _sign(self, email: str, nonce: str) -> str:
        message = f"device|{self.tenant_id}|{email}|{nonce}".encode()
        return hmac.new(self.secret, message, hashlib.sha256).hexdigest()[:32]

    def trusted_nonce(self, request: Request[Any, Any, Any], email: str) -> str | None:
        """The nonce of this browser's valid device cookie for ``email``, if it has one."""
        for entry in _entries(request):
            if (nonce := self._nonce_of(entry, email)) is not None:
                return nonce
        return None

    async def admit(self, request: Request[Any, Any, Any], email: str) -> Attempt | None:
        """Count this attempt; None when the client's budget is spent and the password must not be checked."""
        email = email.strip().lower()
        nonce = self.trusted_nonce(request, email)
        if nonce is not None:
            key, limit = f"{self.tenant_id}:login:device:{nonce}", TRUSTED_FAILURES_PER_DEVICE
        else:
            account = hashlib.sha256(email.encode()).hexdigest()[:32]
            key, limit = f"{self.tenant_id}:login:account:{account}", UNTRUSTED_FAILURES_PER_ACCOUNT
        count = await self.limiter.hit(key, WINDOW_SECONDS)
        if count > limit:
            return None
        return Attempt(key=key, trusted=nonce is not None, count=count)

    async def failed(self, attempt: Attempt) -> None:
        if attempt.count >= FAILURES_BEFORE_DELAY:
            await asyncio.sleep(min(FAILURE_DELAY_SECONDS * 2 ** (attempt.count - FAILURES_BEFORE_DELAY), 8))

    async def succeeded(self, attempt: Attempt) -> None:
        if attempt.trusted:
            await self.limiter.reset(attempt.key)
        else:
            # Take back only this attempt: a clerk logging in on a new device must not give a guesser a
            # fresh budget for the account.
            await self.limiter.hit(attempt.key, WINDOW_SECONDS, cost=-1)

    def remember_device(
        self, request: Request[Any, Any, Any], response: Response[Any], email: str, secure: bool
    ) -> None:
        email = email.strip().lower()
        nonce = secrets.token_urlsafe(12).replace(".", "_")
        fresh = f"{nonce}.{self._sign(email, nonce)}"
        others = [e for e in _entries(request) if self._nonce_of(e, email) is None]
        value = "~".join([fresh, *others][:DEVICE_ENTRIES_KEPT])
        response.set_cookie(
            DEVICE_COOKIE,
            value,
            max_age=DEVICE_COOKIE_MAX_AGE,
            path="/staff",
            httponly=True,
            secure=secure,
            samesite="lax",
        )

    def _nonce_of(self, entry: str, email: str) -> str | None:
        nonce, _, signature = entry.partition(".")
        # Bytes, not str: compare_digest refuses str with non-ASCII characters, and a cookie may hold any.
        given = signature.encode("utf-8", "replace")
        return nonce if nonce and hmac.compare_digest(given, self._sign(email, nonce).encode()) else None


def _entries(request: Request[Any, Any, Any]) -> list[str]:
    raw = request.cookies.get(DEVICE_COOKIE, "")
    return [e for e in raw.split("~") if e][:DEVICE_ENTRIES_KEPT]
