"""Passkeys for citizens' accounts: add one while signed in, then sign in with it instead of a code by e-mail.

The WebAuthn ceremonies are the `webauthn` package's. Each challenge is kept until it is used, once, for at
most CHALLENGE_VALIDITY, in the municipality that made it: a credential answered for one challenge cannot be
sent again. The relying party is the host the citizen is on (each municipality has its own), and the origin
must be that host's. Passkeys are discoverable, so signing in asks for no address: the browser offers the
passkeys it holds for this host.
"""

from __future__ import annotations

import datetime
import json
import secrets
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from webauthn import (
    generate_authentication_options,
    generate_registration_options,
    options_to_json,
    verify_authentication_response,
    verify_registration_response,
)
from webauthn.helpers.exceptions import WebAuthnException
from webauthn.helpers.structs import (
    AuthenticatorSelectionCriteria,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from backend.accounts.models import CitizenAccount, CitizenPasskey, PasskeyChallenge
from backend.core.tenancy import TenantContext
from backend.notifications.push import b64url, b64url_decode

CHALLENGE_VALIDITY = datetime.timedelta(minutes=5)
MAX_PASSKEYS = 10
MAX_CREDENTIAL_JSON = 16_000
NAME_LENGTH = 80


class PasskeyRefused(Exception):
    """The browser's answer does not add or sign in with a passkey (the reason is for logs and tests)."""


@dataclass(frozen=True)
class Relying:
    """Who asks: the host the citizen is on (the relying party's id) and its origin."""

    rp_id: str
    origin: str


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def _parse(credential: str) -> tuple[dict[str, Any], str]:
    """The browser's credential (JSON) and the challenge it answers; PasskeyRefused if it is not one."""
    if not credential or len(credential) > MAX_CREDENTIAL_JSON:
        raise PasskeyRefused("no credential")
    try:
        parsed = json.loads(credential)
        client_data = json.loads(b64url_decode(parsed["response"]["clientDataJSON"]))
        challenge = str(client_data["challenge"])
    except (ValueError, KeyError, TypeError) as error:
        raise PasskeyRefused("not a credential") from error
    if not isinstance(parsed, dict) or not isinstance(parsed.get("id"), str) or len(challenge) > 64:
        raise PasskeyRefused("not a credential")
    return parsed, challenge


class PasskeyService:
    """Every query through a session scoped to the request's municipality (core.db adds the criterion)."""

    def __init__(self, session: AsyncSession, tenant: TenantContext) -> None:
        self.session = session
        self.tenant = tenant

    async def _challenge(self, account_id: uuid.UUID | None) -> bytes:
        challenge = secrets.token_bytes(32)
        self.session.add(
            PasskeyChallenge(
                tenant_id=self.tenant.id,
                challenge=b64url(challenge),
                account_id=account_id,
                expires_at=_now() + CHALLENGE_VALIDITY,
            )
        )
        await self.session.flush()
        return challenge

    async def _use_challenge(self, challenge: str, account_id: uuid.UUID | None) -> bytes:
        """Spend a challenge made for this purpose (adding to ``account_id``, or signing in when None)."""
        spent = await self.session.execute(
            delete(PasskeyChallenge)
            .where(
                PasskeyChallenge.challenge == challenge,
                PasskeyChallenge.expires_at > _now(),
                PasskeyChallenge.account_id.is_(None)
                if account_id is None
                else PasskeyChallenge.account_id == account_id,
            )
            .execution_options(synchronize_session=False)
        )
        if spent.rowcount != 1:  # type: ignore[attr-defined]
            raise PasskeyRefused("unknown, used or expired challenge")
        return b64url_decode(challenge)

    # --- adding a passkey ----------------------------------------------------------------------

    async def registration_options(self, account: CitizenAccount, relying: Relying) -> str:
        """The options (JSON) for the browser's navigator.credentials.create()."""
        held = await self.session.scalars(
            select(CitizenPasskey.credential_id).where(CitizenPasskey.account_id == account.id)
        )
        options = generate_registration_options(
            rp_id=relying.rp_id,
            rp_name=self.tenant.name,
            user_id=account.id.bytes,
            user_name=account.email,
            user_display_name=account.email,
            challenge=await self._challenge(account.id),
            timeout=int(CHALLENGE_VALIDITY.total_seconds() * 1000),
            authenticator_selection=AuthenticatorSelectionCriteria(
                resident_key=ResidentKeyRequirement.REQUIRED,
                user_verification=UserVerificationRequirement.PREFERRED,
            ),
            exclude_credentials=[PublicKeyCredentialDescriptor(id=b64url_decode(c)) for c in held],
        )
        return options_to_json(options)

    async def register(self, account: CitizenAccount, relying: Relying, credential: str, name: str) -> CitizenPasskey:
        parsed, challenge = _parse(credential)
        expected = await self._use_challenge(challenge, account.id)
        held = await self.session.scalar(
            select(func.count()).select_from(CitizenPasskey).where(CitizenPasskey.account_id == account.id)
        )
        if (held or 0) >= MAX_PASSKEYS:
            raise PasskeyRefused("too many passkeys")
        try:
            verified = verify_registration_response(
                credential=parsed,
                expected_challenge=expected,
                expected_rp_id=relying.rp_id,
                expected_origin=relying.origin,
            )
        except (WebAuthnException, ValueError, KeyError, TypeError) as error:
            raise PasskeyRefused(f"registration not verified: {error}") from error
        credential_id = b64url(verified.credential_id)
        taken = await self.session.scalar(
            select(CitizenPasskey.id).where(CitizenPasskey.credential_id == credential_id)
        )
        if taken is not None:
            raise PasskeyRefused("credential already registered")
        passkey = CitizenPasskey(
            tenant_id=self.tenant.id,
            account_id=account.id,
            credential_id=credential_id,
            public_key=verified.credential_public_key,
            sign_count=verified.sign_count,
            rp_id=relying.rp_id,
            name=name[:NAME_LENGTH],
        )
        self.session.add(passkey)
        await self.session.flush()
        return passkey

    async def passkeys(self, account: CitizenAccount) -> list[CitizenPasskey]:
        rows = await self.session.scalars(
            select(CitizenPasskey)
            .where(CitizenPasskey.account_id == account.id)
            .order_by(CitizenPasskey.created_at, CitizenPasskey.id)
        )
        return list(rows)

    async def remove(self, account: CitizenAccount, passkey_id: uuid.UUID) -> bool:
        removed = await self.session.execute(
            delete(CitizenPasskey)
            .where(CitizenPasskey.id == passkey_id, CitizenPasskey.account_id == account.id)
            .execution_options(synchronize_session=False)
        )
        return bool(removed.rowcount)  # type: ignore[attr-defined]

    # --- signing in ----------------------------------------------------------------------------

    async def sign_in_options(self, relying: Relying) -> str:
        """The options (JSON) for navigator.credentials.get(): any passkey this browser holds for the host."""
        options = generate_authentication_options(
            rp_id=relying.rp_id,
            challenge=await self._challenge(None),
            timeout=int(CHALLENGE_VALIDITY.total_seconds() * 1000),
            user_verification=UserVerificationRequirement.PREFERRED,
        )
        return options_to_json(options)

    async def sign_in(self, relying: Relying, credential: str) -> CitizenAccount:
        """The account whose passkey answered the challenge; PasskeyRefused otherwise."""
        parsed, challenge = _parse(credential)
        expected = await self._use_challenge(challenge, None)
        passkey = await self.session.scalar(
            select(CitizenPasskey).where(CitizenPasskey.credential_id == parsed["id"][:1400])
        )
        if passkey is None or passkey.rp_id != relying.rp_id:
            raise PasskeyRefused("unknown passkey")
        try:
            verified = verify_authentication_response(
                credential=parsed,
                expected_challenge=expected,
                expected_rp_id=relying.rp_id,
                expected_origin=relying.origin,
                credential_public_key=passkey.public_key,
                credential_current_sign_count=passkey.sign_count,
            )
        except (WebAuthnException, ValueError, KeyError, TypeError) as error:
            raise PasskeyRefused(f"sign-in not verified: {error}") from error
        await self.session.execute(
            update(CitizenPasskey)
            .where(CitizenPasskey.id == passkey.id)
            .values(sign_count=verified.new_sign_count, last_used_at=_now())
            .execution_options(synchronize_session=False)
        )
        account = await self.session.scalar(select(CitizenAccount).where(CitizenAccount.id == passkey.account_id))
        if account is None:
            raise PasskeyRefused("no account")
        return account  # type: ignore[no-any-return]
