"""Records every staff action that changed something in the audit log, whatever route it went through.

A middleware on the staff router, inside the session middleware: after a POST (or another unsafe method) of a
staff page answered below 400, one row goes into ``audit_entry`` with the person the session spoke for (before
or after the request: logging in and out are recorded too), the route, the address and the time. It is written
in a transaction of its own after the request's: a failure to record is logged and never undoes the action.
Routes are recorded as the app names them, so a route added later is recorded by itself.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Message, Receive, Scope, Send
from sqlalchemy import select

from backend.accounts.models import User
from backend.audit.models import AuditEntry
from backend.core.db import tenant_session

log = logging.getLogger(__name__)

UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def _uid(session: Any) -> uuid.UUID | None:
    raw = session.get("uid") if isinstance(session, dict) else None
    try:
        return uuid.UUID(raw) if isinstance(raw, str) else None
    except ValueError:
        return None


class AuditMiddleware(ASGIMiddleware):
    scopes = ("http",)  # type: ignore[assignment]

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        if scope.get("method") not in UNSAFE:
            await next_app(scope, receive, send)
            return
        before = _uid(scope.get("session"))
        answered: list[int] = []

        async def watch(message: Message) -> None:
            if message["type"] == "http.response.start":
                answered.append(int(message["status"]))
            await send(message)

        await next_app(scope, receive, watch)
        actor = _uid(scope.get("session")) or before
        tenant = (scope.get("state") or {}).get("tenant")
        if actor is None or tenant is None or not answered or answered[0] >= 400:
            return
        try:
            await record(scope, tenant.id, actor, answered[0])
        except Exception:  # the action is done; its record failing must not turn it into an error page
            log.exception("could not record a staff action in the audit log")


async def record(scope: Scope, tenant_id: uuid.UUID, actor: uuid.UUID, status: int) -> None:
    client = scope.get("client")
    method = str(scope.get("method"))
    template = str(scope.get("path_template") or scope.get("path", ""))
    async with tenant_session(scope["app"].state.db, tenant_id) as session:
        name = await session.scalar(select(User.display_name).where(User.id == actor))
        session.add(
            AuditEntry(
                actor_id=actor,
                actor_name=(name or "")[:200],
                action=f"{method} {template}"[:300],
                path=str(scope.get("path", ""))[:500],
                status_code=status,
                address=(client[0] if client else "")[:64],
            )
        )
