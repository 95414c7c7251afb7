"""Live updates for staff: ``GET /staff/events`` streams the changes of the cases a person works on (cases.scope)
as Server-Sent Events, so open inboxes and case pages update without a reload.

Every change of a case appends a timeline entry; noting each new entry here (on flush, published on commit
by ``core/live.py``) covers every kind of change, those added later included.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncGenerator
from typing import Any

from litestar import Controller, Request, get
from litestar.channels import ChannelsPlugin
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.response import ServerSentEvent, ServerSentEventMessage
from sqlalchemy import event, inspect, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.util import identity_key

from backend.accounts.services import StaffIdentity
from backend.cases.models import Case, CaseEvent
from backend.cases.scope import CaseScope
from backend.cases.staff import STAFF_CASE_DEPENDENCIES
from backend.core import live
from backend.core.tenancy import TenantContext
from backend.settings import Settings

EVENTS_PATH = "/staff/events"
# A comment line this often keeps proxies and load balancers from closing a quiet stream.
HEARTBEAT_SECONDS = 20.0
# A browser that lost the stream tries again after this many milliseconds (the EventSource default is 3 s).
RETRY_MS = 5000


@event.listens_for(Session, "before_flush")
def _note_timeline_entries(session: Session, _context: Any, _instances: Any) -> None:
    for obj in list(session.new):
        if isinstance(obj, CaseEvent):
            live.note_case(session, obj.tenant_id, obj.case_id, obj.kind, _departments_of(session, obj.case_id))


def _departments_of(session: Session, case_id: uuid.UUID) -> list[str | None]:
    """The case's department now and, when this flush moves it, before: the staff of both hear of the change."""
    case = next((obj for obj in session.new if isinstance(obj, Case) and obj.id == case_id), None)
    if case is None:
        case = session.identity_map.get(identity_key(Case, case_id))
    if case is None:
        with session.no_autoflush:
            department = session.execute(select(Case.department_id).where(Case.id == case_id)).scalar_one_or_none()
        return [_hex(department)]
    history = inspect(case).attrs.department_id.history
    return list(dict.fromkeys(_hex(d) for d in (case.department_id, *history.deleted)))


def _hex(department_id: uuid.UUID | None) -> str | None:
    return department_id.hex if department_id is not None else None


def _in_scope(data: Any, scope: CaseScope) -> bool:
    """Whether an event concerns a case the person works on (an event without departments: every case)."""
    if scope.sees_all:
        return True
    try:
        departments = json.loads(data)["departments"]
    except (ValueError, TypeError, KeyError):
        return True
    return any(scope.allows(uuid.UUID(hex=d) if d else None) for d in departments)


async def _stream(
    plugin: ChannelsPlugin, tenant_id: Any, scope: CaseScope, lifetime: float
) -> AsyncGenerator[ServerSentEventMessage, None]:
    loop = asyncio.get_running_loop()
    ends = loop.time() + lifetime
    async with plugin.start_subscription([live.channel_of(tenant_id)]) as subscriber:
        # Sent once the subscription listens: changes from here on reach this stream (the page can say so).
        yield ServerSentEventMessage(data="listening", event="ready", comment="ready", retry=RETRY_MS)
        events = subscriber.iter_events()
        # One pending read, kept across heartbeats: cancelling a read would close the subscriber's iterator.
        following: asyncio.Future[Any] | None = None
        try:
            while (left := ends - loop.time()) > 0:
                if following is None:
                    following = asyncio.ensure_future(events.__anext__())
                done, _ = await asyncio.wait({following}, timeout=min(HEARTBEAT_SECONDS, left))
                if not done:
                    yield ServerSentEventMessage(data=None, comment="keep-alive")
                    continue
                try:
                    data = following.result()
                except StopAsyncIteration:
                    return
                following = None
                text = data.decode() if isinstance(data, bytes) else data
                if _in_scope(text, scope):
                    yield ServerSentEventMessage(data=text, event="case")
        finally:
            if following is not None:
                following.cancel()


class LiveController(Controller):
    path = EVENTS_PATH
    dependencies = STAFF_CASE_DEPENDENCIES

    @get("/", name="staff_events")
    async def events(
        self,
        request: Request[Any, Any, State],
        staff: NamedDependency[StaffIdentity],
        tenant: NamedDependency[TenantContext],
        channels: NamedDependency[ChannelsPlugin],
        staff_scope: NamedDependency[CaseScope],
    ) -> ServerSentEvent:
        # The staff dependency has checked the login for this municipality; the stream carries the changes of
        # the cases this person works on (their departments', for a clerk).
        del staff
        settings: Settings = request.app.state.settings
        return ServerSentEvent(
            _stream(channels, tenant.id, staff_scope, settings.live_stream_seconds),
            headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
        )
