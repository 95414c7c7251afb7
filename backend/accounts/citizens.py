"""Citizens' accounts: sign in with a one-time code by e-mail, sessions, and "My requests" (the data download and
deleting the account are in backend/accounts/citizen_data.py).

An account belongs to one municipality (its host is its own origin) and is made at the first sign-in, which
verifies its address. The code: 6 digits, valid 10 minutes, at most 5 tries, used once, kept only as an HMAC
and bound to the browser that asked for it (a cookie with a random token, of which only the hash is kept).
Every try is counted in its own committed statement *before* the code is compared, so parallel guesses can
never all pass a stale count. A signed-in browser holds its own cookie, apart from the staff session: a random
secret made anew at every sign-in, of which the database keeps only the hash.
"""

from __future__ import annotations

import datetime
import hashlib
import hmac
import secrets
import uuid
from dataclasses import dataclass

from advanced_alchemy.extensions.litestar import SQLAlchemyAsyncConfig
from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts.models import CitizenAccount, CitizenSession, CitizenSignInCode, PasskeyChallenge
from backend.cases import workflow
from backend.cases.models import Case
from backend.catalogue.models import Service
from backend.core import i18n
from backend.core.db import unscoped_session
from backend.core.tenancy import TenantContext
from backend.core.text import ascii_digits
from backend.notifications.services import follow_account

CODE_VALIDITY = datetime.timedelta(minutes=10)
CODE_TRIES = 5
CODE_DIGITS = 6
SESSION_VALIDITY = datetime.timedelta(days=30)
# Codes asked for: per address (nobody floods a stranger's mailbox) and per client; codes tried per client.
CODES_PER_ADDRESS, CODES_PER_CLIENT, CODE_WINDOW = 5, 20, 3600
CHECKS_PER_CLIENT, CHECK_WINDOW = 30, 900

SESSION_COOKIE = "rathaus_citizen"
PENDING_COOKIE = "rathaus_citizen_pending"
# The requests a device remembers that may join an account at once (the device keeps at most 50).
MAX_DEVICE_TOKENS = 50


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def _aware(value: datetime.datetime) -> datetime.datetime:
    return value if value.tzinfo else value.replace(tzinfo=datetime.UTC)


def secret_hash(value: str) -> str:
    """What the database may know of a browser's secret (a session or a pending sign-in): its hash."""
    return hashlib.sha256(value.encode()).hexdigest()


def normalise_email(value: str) -> str:
    return value.strip().lower()[:254]


def plausible_email(value: str) -> bool:
    local, at, domain = value.rpartition("@")
    return bool(at and local and "." in domain and not any(c.isspace() for c in value) and len(value) <= 254)


def address_key(email: str) -> str:
    """Rate-limit key part for an address: a digest, so counters never hold the address itself."""
    return hashlib.sha256(normalise_email(email).encode()).hexdigest()[:32]


def new_code() -> str:
    return f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"


@dataclass(frozen=True)
class CodeRequest:
    """A code just made: the code for the e-mail, and the browser's secret for its cookie (neither is stored)."""

    code: str
    browser_secret: str


class CodeRefused(Exception):
    """The code cannot sign in: ``reason`` is "wrong", "expired" (or used, or unknown) or "exhausted"."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class MyCase:
    reference: str
    service: str
    status: str
    submitted: datetime.datetime
    tracking_token: str


class CitizenService:
    """Every query through a session scoped to the request's municipality (core.db adds the criterion)."""

    def __init__(self, session: AsyncSession, tenant: TenantContext, secret_key: str) -> None:
        self.session = session
        self.tenant = tenant
        self.secret = secret_key.encode()

    def _code_hash(self, browser_hash: str, code: str) -> str:
        message = f"citizen-code|{self.tenant.id}|{browser_hash}|{code}".encode()
        return hmac.new(self.secret, message, hashlib.sha256).hexdigest()

    # --- the code ------------------------------------------------------------------------------

    async def request_code(self, email: str) -> CodeRequest:
        """A fresh code for ``email`` in this browser; earlier unused codes for the address stop working."""
        email = normalise_email(email)
        now = _now()
        await self.session.execute(
            update(CitizenSignInCode)
            .where(CitizenSignInCode.email == email, CitizenSignInCode.used_at.is_(None))
            .values(used_at=now)
            .execution_options(synchronize_session=False)
        )
        code, browser_secret = new_code(), secrets.token_urlsafe(32)
        browser_hash = secret_hash(browser_secret)
        self.session.add(
            CitizenSignInCode(
                tenant_id=self.tenant.id,
                email=email,
                browser_hash=browser_hash,
                code_hash=self._code_hash(browser_hash, code),
                expires_at=now + CODE_VALIDITY,
                tries=0,
            )
        )
        await self.session.flush()
        return CodeRequest(code, browser_secret)

    async def pending_email(self, browser_secret: str | None) -> str | None:
        """The address this browser is waiting for a code for, while that code can still be used."""
        row = await self._pending(browser_secret)
        if row is None or row.used_at is not None or _aware(row.expires_at) <= _now() or row.tries >= CODE_TRIES:
            return None
        return row.email

    async def _pending(self, browser_secret: str | None) -> CitizenSignInCode | None:
        if not browser_secret or len(browser_secret) > 100:
            return None
        return await self.session.scalar(  # type: ignore[no-any-return]
            select(CitizenSignInCode).where(CitizenSignInCode.browser_hash == secret_hash(browser_secret))
        )

    async def check_code(self, browser_secret: str | None, code: str) -> CitizenAccount:
        """The account the code signs in to (made at the first sign-in); CodeRefused otherwise.

        The try is counted and committed before the code is compared, so a wrong code stays counted
        whatever the request's answer, and the code is marked used by one statement that only one request wins.
        """
        row = await self._pending(browser_secret)
        if row is None:
            raise CodeRefused("expired")
        now = _now()
        counted = await self.session.execute(
            update(CitizenSignInCode)
            .where(
                CitizenSignInCode.id == row.id,
                CitizenSignInCode.used_at.is_(None),
                CitizenSignInCode.expires_at > now,
                CitizenSignInCode.tries < CODE_TRIES,
            )
            .values(tries=CitizenSignInCode.tries + 1)
            .execution_options(synchronize_session=False)
        )
        await self.session.commit()
        if counted.rowcount != 1:  # type: ignore[attr-defined]
            exhausted = row.used_at is None and _aware(row.expires_at) > now and row.tries >= CODE_TRIES
            raise CodeRefused("exhausted" if exhausted else "expired")
        digits = "".join(ch for ch in ascii_digits(code) if ch.isascii() and ch.isdigit())
        if not hmac.compare_digest(self._code_hash(row.browser_hash, digits), row.code_hash):
            tries = await self.session.scalar(select(CitizenSignInCode.tries).where(CitizenSignInCode.id == row.id))
            raise CodeRefused("exhausted" if (tries or 0) >= CODE_TRIES else "wrong")
        used = await self.session.execute(
            update(CitizenSignInCode)
            .where(CitizenSignInCode.id == row.id, CitizenSignInCode.used_at.is_(None))
            .values(used_at=now)
            .execution_options(synchronize_session=False)
        )
        if used.rowcount != 1:  # type: ignore[attr-defined]
            raise CodeRefused("expired")
        return await self._account_for(row.email)

    async def _account_for(self, email: str) -> CitizenAccount:
        account = await self.session.scalar(select(CitizenAccount).where(CitizenAccount.email == email))
        if account is None:
            account = CitizenAccount(
                tenant_id=self.tenant.id, email=email, language=i18n.get_language(), verified_at=_now()
            )
            self.session.add(account)
            await self.session.flush()
        return account  # type: ignore[no-any-return]

    # --- sessions ------------------------------------------------------------------------------

    async def start_session(self, account: CitizenAccount, old_secret: str | None) -> str:
        """Sign ``account`` in: a new secret for this browser (an earlier session of the browser ends);
        the cases sent earlier with the now verified address join the account. Returns the secret."""
        await self.end_session(old_secret)
        browser_secret = secrets.token_urlsafe(32)
        self.session.add(
            CitizenSession(
                tenant_id=self.tenant.id,
                key_hash=secret_hash(browser_secret),
                account_id=account.id,
                expires_at=_now() + SESSION_VALIDITY,
            )
        )
        await self.link_by_address(account)
        await self.session.flush()
        return browser_secret

    async def account_of(self, browser_secret: str | None) -> CitizenAccount | None:
        """The signed-in account of this browser in this municipality, if any."""
        if not browser_secret or len(browser_secret) > 100:
            return None
        return await self.session.scalar(  # type: ignore[no-any-return]
            select(CitizenAccount)
            .join(CitizenSession, CitizenSession.account_id == CitizenAccount.id)
            .where(CitizenSession.key_hash == secret_hash(browser_secret), CitizenSession.expires_at > _now())
        )

    async def end_session(self, browser_secret: str | None) -> None:
        if browser_secret and len(browser_secret) <= 100:
            await self.session.execute(
                delete(CitizenSession)
                .where(CitizenSession.key_hash == secret_hash(browser_secret))
                .execution_options(synchronize_session=False)
            )

    # --- cases ---------------------------------------------------------------------------------

    async def link_by_address(self, account: CitizenAccount) -> None:
        """Cases of this municipality sent with the account's (verified) address, and in no account, join it."""
        await self.session.execute(
            update(Case)
            .where(func.lower(Case.contact_email) == account.email, Case.account_id.is_(None))
            .values(account_id=account.id)
            .execution_options(synchronize_session=False)
        )
        await follow_account(self.session, self.tenant.id, account.id)

    async def link_case(self, account_id: uuid.UUID, case_id: uuid.UUID) -> None:
        """A case sent while signed in joins the account (one statement: it runs without a transaction too)."""
        await self.session.execute(
            update(Case)
            .where(Case.id == case_id, Case.account_id.is_(None))
            .values(account_id=account_id)
            .execution_options(synchronize_session=False)
        )
        await follow_account(self.session, self.tenant.id, account_id)

    async def link_tokens(self, account: CitizenAccount, tokens: list[str]) -> int:
        """The requests a device remembers (their tracking tokens) join the account, those in no account yet;
        returns how many joined. Holding a request's private link is what lets one see it at all."""
        wanted = [t for t in dict.fromkeys(tokens) if 0 < len(t) <= 64][:MAX_DEVICE_TOKENS]
        if not wanted:
            return 0
        joined = await self.session.execute(
            update(Case)
            .where(Case.tracking_token.in_(wanted), Case.account_id.is_(None))
            .values(account_id=account.id)
            .execution_options(synchronize_session=False)
        )
        await follow_account(self.session, self.tenant.id, account.id)
        return int(joined.rowcount or 0)

    async def my_cases(self, account: CitizenAccount) -> list[MyCase]:
        rows = await self.session.execute(
            select(Case.reference, Service.name, Service.workflow, Case.status, Case.created_at, Case.tracking_token)
            .join(Service, Service.id == Case.service_id)
            .where(Case.account_id == account.id)
            .order_by(Case.created_at.desc(), Case.id.desc())
        )
        return [
            MyCase(reference, i18n.translate_text(name), workflow.of(flow).label(status), created, token)
            for reference, name, flow, status, created, token in rows.tuples()
        ]


async def purge_expired_sign_ins(db: SQLAlchemyAsyncConfig, now: datetime.datetime | None = None) -> None:
    """Forget codes, passkey challenges and citizen sessions that can no longer be used (a background job across
    municipalities)."""
    now = now or _now()
    async with unscoped_session(db) as session:
        await session.execute(
            delete(CitizenSignInCode)
            .where(CitizenSignInCode.expires_at < now)
            .execution_options(synchronize_session=False)
        )
        await session.execute(
            delete(CitizenSession).where(CitizenSession.expires_at < now).execution_options(synchronize_session=False)
        )
        await session.execute(
            delete(PasskeyChallenge)
            .where(PasskeyChallenge.expires_at < now)
            .execution_options(synchronize_session=False)
        )
