"""API keys of a municipality: made with scopes, shown once, kept only as a hash, revoked by its admin.

A key is ``rk_`` plus 32 random bytes (base64url). It has enough entropy that a plain SHA-256 is the right
hash: nothing to brute-force, and a lookup by hash is one indexed query. A key belongs to one municipality:
it is only ever looked up through a session scoped to the request's municipality, so a key of another
municipality is simply not found.
"""

from __future__ import annotations

import datetime
import hashlib
import secrets
import uuid
from dataclasses import dataclass

from advanced_alchemy.types import DateTimeUTC
from sqlalchemy import Index, String, UniqueConstraint, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from backend.core.db import Base, TenantOwned
from backend.core.errors import NotFound
from backend.core.tenancy import TenantContext

SCOPES = ("read", "write")
KEY_PREFIX = "rk_"
MAX_NAME = 120


class ApiKey(TenantOwned, Base):
    __tablename__ = "api_key"
    __table_args__ = (
        UniqueConstraint("key_hash", name="uq_api_key_key_hash"),
        Index("ix_api_key_tenant_created", "tenant_id", "created_at"),
    )

    name: Mapped[str] = mapped_column(String(MAX_NAME))
    # The first characters of the key, so that an admin can tell keys apart; never enough to use it.
    prefix: Mapped[str] = mapped_column(String(16))
    key_hash: Mapped[str] = mapped_column(String(64))
    # Comma-separated, from SCOPES.
    scopes: Mapped[str] = mapped_column(String(40))
    created_by: Mapped[str] = mapped_column(String(200), default="")
    revoked_at: Mapped[datetime.datetime | None] = mapped_column(DateTimeUTC(timezone=True), nullable=True)

    @property
    def scope_list(self) -> list[str]:
        return [s for s in self.scopes.split(",") if s]


class ApiKeyError(ValueError):
    """Bad input for a new key (no name, no or unknown scopes); the message names the problem."""


@dataclass(frozen=True)
class NewKey:
    key: ApiKey
    secret: str  # shown once, never stored


@dataclass(frozen=True)
class KeyHolder:
    """What a request learns from a valid key."""

    id: uuid.UUID
    name: str
    scopes: frozenset[str]


def hash_key(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


def parse_scopes(raw: str | list[str]) -> list[str]:
    """``read,write`` (or a list) to the known scopes in a fixed order; ApiKeyError for none or unknown ones."""
    items = raw.split(",") if isinstance(raw, str) else [s for part in raw for s in part.split(",")]
    wanted = {s.strip().lower() for s in items if s.strip()}
    unknown = wanted - set(SCOPES)
    if unknown:
        raise ApiKeyError(f"unknown scope {sorted(unknown)[0]!r} (known: {', '.join(SCOPES)})")
    if not wanted:
        raise ApiKeyError(f"give at least one scope ({', '.join(SCOPES)})")
    return [s for s in SCOPES if s in wanted]


class ApiKeyService:
    def __init__(self, session: AsyncSession, tenant: TenantContext) -> None:
        self.session = session
        self.tenant = tenant

    async def create(self, name: str, scopes: list[str], created_by: str = "") -> NewKey:
        name = name.strip()
        if not name:
            raise ApiKeyError("give the key a name")
        if len(name) > MAX_NAME:
            raise ApiKeyError(f"the name is longer than {MAX_NAME} characters")
        scopes = parse_scopes(scopes)
        secret = KEY_PREFIX + secrets.token_urlsafe(32)
        key = ApiKey(
            tenant_id=self.tenant.id,
            name=name,
            prefix=secret[:10],
            key_hash=hash_key(secret),
            scopes=",".join(scopes),
            created_by=created_by[:200],
        )
        self.session.add(key)
        await self.session.flush()
        return NewKey(key, secret)

    async def all(self) -> list[ApiKey]:
        rows = await self.session.scalars(select(ApiKey).order_by(ApiKey.created_at.desc(), ApiKey.id))
        return list(rows)

    async def revoke(self, key_id: uuid.UUID) -> ApiKey:
        """Revoke one of this municipality's keys (404 for another's); revoking twice keeps the first time."""
        key = await self.session.scalar(select(ApiKey).where(ApiKey.id == key_id))
        if key is None:
            raise NotFound()
        if key.revoked_at is None:
            await self.session.execute(
                update(ApiKey)
                .where(ApiKey.id == key_id, ApiKey.revoked_at.is_(None))
                .values(revoked_at=datetime.datetime.now(datetime.UTC))
                .execution_options(synchronize_session="fetch")
            )
            await self.session.refresh(key)
        return key  # type: ignore[no-any-return]

    async def authenticate(self, secret: str) -> KeyHolder | None:
        """The holder of a valid, unrevoked key of this municipality; None for anything else."""
        if not secret or not secret.startswith(KEY_PREFIX) or len(secret) > 100:
            return None
        key = await self.session.scalar(
            select(ApiKey).where(ApiKey.key_hash == hash_key(secret), ApiKey.revoked_at.is_(None))
        )
        if key is None:
            return None
        return KeyHolder(key.id, key.name, frozenset(key.scope_list))
