"""Staff sessions as the person sees them: each login in a browser is a row, listed on their own page, ended
there (one, or all at once), and ended by itself after 30 minutes without a request.

The session store keeps the session's data; the row here is what makes it valid. A session names its row by
the hash of its own id (``sid``), so deleting the row ends the session wherever it is, on every instance.
"""

from __future__ import annotations

import datetime
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts.models import StaffSession
from backend.core.sessions import renew_session

if TYPE_CHECKING:
    from backend.accounts.services import StaffIdentity

IDLE_TIMEOUT = datetime.timedelta(minutes=30)
# Last activity is written at most this often: a page view is not worth a database write each time.
SEEN_PRECISION = datetime.timedelta(minutes=1)


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def session_data(identity: StaffIdentity, tenant_id: uuid.UUID) -> dict[str, Any]:
    """What a staff session holds after login (``renew_session`` adds its ``sid``)."""
    return {"uid": str(identity.user_id), "tid": str(tenant_id), "pw": identity.password_mark}


@dataclass(frozen=True)
class SessionRow:
    id: uuid.UUID
    browser: str
    started: datetime.datetime
    last_seen: datetime.datetime
    current: bool


BROWSERS = (("edg/", "Edge"), ("firefox", "Firefox"), ("chrome", "Chrome"), ("safari", "Safari"))
SYSTEMS = (
    ("android", "Android"),
    ("iphone", "iPhone"),
    ("ipad", "iPad"),
    ("windows", "Windows"),
    ("mac os", "macOS"),
    ("linux", "Linux"),
)


def browser_of(user_agent: str) -> str:
    """A short, recognisable name for a browser from its User-Agent (no fingerprinting detail kept)."""
    ua = user_agent.lower()
    found = [next((label for key, label in table if key in ua), "") for table in (BROWSERS, SYSTEMS)]
    return " · ".join(part for part in found if part)


class StaffSessions:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def start(self, request: Any, identity: StaffIdentity, tenant_id: uuid.UUID) -> None:
        """Log ``identity`` in: a new session id in this browser, and its row."""
        sid = renew_session(request, session_data(identity, tenant_id))
        agent = str(request.headers.get("user-agent") or "")[:300]
        self.session.add(StaffSession(key_hash=sid, user_id=identity.user_id, user_agent=agent, last_seen_at=_now()))
        await self.session.flush()

    async def alive(self, sid: Any, user_id: uuid.UUID) -> bool:
        """Whether the session is still valid, keeping its last activity; an idle one ends here."""
        if not isinstance(sid, str):
            return False
        row = await self.session.scalar(
            select(StaffSession).where(StaffSession.key_hash == sid, StaffSession.user_id == user_id)
        )
        if row is None:
            return False
        now = _now()
        if now - row.last_seen_at > IDLE_TIMEOUT:
            await self.session.delete(row)
            return False
        if now - row.last_seen_at > SEEN_PRECISION:
            row.last_seen_at = now
        return True

    async def of(self, user_id: uuid.UUID, current_sid: Any) -> list[SessionRow]:
        rows = await self.session.scalars(
            select(StaffSession).where(StaffSession.user_id == user_id).order_by(StaffSession.last_seen_at.desc())
        )
        cutoff = _now() - IDLE_TIMEOUT
        return [
            SessionRow(r.id, browser_of(r.user_agent), r.created_at, r.last_seen_at, r.key_hash == current_sid)
            for r in rows
            if r.last_seen_at >= cutoff
        ]

    async def end(self, user_id: uuid.UUID, session_id: uuid.UUID) -> bool:
        done = await self.session.execute(
            delete(StaffSession).where(StaffSession.id == session_id, StaffSession.user_id == user_id)
        )
        return bool(done.rowcount)  # type: ignore[attr-defined]

    async def end_by_sid(self, sid: Any) -> None:
        if isinstance(sid, str):
            await self.session.execute(delete(StaffSession).where(StaffSession.key_hash == sid))

    async def end_all(self, user_id: uuid.UUID) -> None:
        await self.session.execute(delete(StaffSession).where(StaffSession.user_id == user_id))
