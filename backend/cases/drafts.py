"""Drafts kept on the server between the form and the review step, under the device's idempotency key."""

from __future__ import annotations

import datetime
import uuid
from typing import Any

from advanced_alchemy.mixins.uuid import uuid7
from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from backend.cases.models import Attachment, Draft
from backend.core.tenancy import TenantContext


class DraftService:
    def __init__(self, session: AsyncSession, tenant: TenantContext) -> None:
        self.session = session
        self.tenant = tenant

    async def save(
        self,
        service_id: uuid.UUID,
        form_version_id: uuid.UUID,
        key: str,
        inputs: dict[str, Any],
        files: dict[str, list[Attachment]],
    ) -> None:
        """Create or replace the draft of ``key``; its files are named by id, in the order they were added.

        One upsert: a double tap on "continue" sends the same key twice at once, and both must succeed.
        Raw insert, so the municipality is set here explicitly (core.db's hook sees ORM objects only).
        """
        now = datetime.datetime.now(datetime.UTC)
        changes = {
            "service_id": service_id,
            "form_version_id": form_version_id,
            "inputs": inputs,
            "files": {name: [str(a.id) for a in items] for name, items in files.items()},
            "updated_at": now,
        }
        bind = self.session.bind
        dialect = postgresql if bind is not None and bind.dialect.name == "postgresql" else sqlite
        statement = (
            dialect.insert(Draft)
            .values(id=uuid7(), tenant_id=self.tenant.id, key=key, created_at=now, **changes)
            .on_conflict_do_update(index_elements=["tenant_id", "key"], set_=changes)
        )
        await self.session.execute(statement)

    async def load(self, service_id: uuid.UUID, key: str) -> Draft | None:
        """The draft of ``key`` for this service of this municipality (none for another service's key)."""
        draft: Draft | None = await self.session.scalar(
            select(Draft).where(Draft.key == key, Draft.service_id == service_id)
        )
        return draft
