"""Reading the audit log: newest first, a page at a time (keyset), and the whole of it for the CSV export."""

from __future__ import annotations

import base64
import datetime
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.audit.models import AuditEntry

PAGE_SIZE = 100
EXPORT_BATCH = 500


def encode_cursor(entry: AuditEntry) -> str:
    raw = f"{entry.created_at.isoformat()}|{entry.id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime.datetime, uuid.UUID] | None:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        stamp, ident = raw.split("|", 1)
        when = datetime.datetime.fromisoformat(stamp)
        return (when if when.tzinfo else when.replace(tzinfo=datetime.UTC)), uuid.UUID(ident)
    except (ValueError, UnicodeDecodeError):
        return None


@dataclass(frozen=True)
class AuditPage:
    entries: list[AuditEntry]
    older: str  # the cursor of the next (older) page, empty on the last


class AuditService:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def _newest_first(self, before: tuple[datetime.datetime, uuid.UUID] | None):  # type: ignore[no-untyped-def]
        query = select(AuditEntry).order_by(AuditEntry.created_at.desc(), AuditEntry.id.desc())
        if before is not None:
            when, ident = before
            query = query.where(
                or_(AuditEntry.created_at < when, and_(AuditEntry.created_at == when, AuditEntry.id < ident))
            )
        return query

    async def page(self, cursor: str = "") -> AuditPage:
        rows = list(await self.session.scalars(self._newest_first(decode_cursor(cursor)).limit(PAGE_SIZE + 1)))
        older = encode_cursor(rows[PAGE_SIZE - 1]) if len(rows) > PAGE_SIZE else ""
        return AuditPage(rows[:PAGE_SIZE], older)

    async def everything(self) -> AsyncIterator[list[AuditEntry]]:
        before = None
        while True:
            batch = list(await self.session.scalars(self._newest_first(before).limit(EXPORT_BATCH)))
            if not batch:
                return
            yield batch
            before = (batch[-1].created_at, batch[-1].id)
