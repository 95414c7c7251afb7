"""Live updates for staff: ``GET /staff/events`` streams every change of the municipality's cases as
Server-Sent Events, so open inboxes and case pages update without a reload.

Every change of a case appends a timeline entry; noting each new entry here (on flush, published on commit
by ``core/live.py``) covers every kind of change, those added later included.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from typing import Any

from litestar import Controller, Request, get
from litestar.channels import ChannelsPlugin
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.response import ServerSentEvent, ServerSentEventMessage
from sqlalchemy import event
from sqlalchemy.orm import Session

from backend.accounts.controllers import STAFF_DEPENDENCIES
from backend.accounts.services import StaffIdentity
from backend.cases.models import CaseEvent
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
    for obj in session.new:
        if isinstance(obj, CaseEvent):
            live.note_case(session, obj.tenant_id, obj.case_id, obj.kind)


async def _stream(
    plugin: ChannelsPlugin, tenant_id: Any, lifetime: float
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
                yield ServerSentEventMessage(data=data.decode() if isinstance(data, bytes) else data, event="case")
        finally:
            if following is not None:
                following.cancel()


class LiveController(Controller):
    path = EVENTS_PATH
    dependencies = STAFF_DEPENDENCIES

    @get("/", name="staff_events")
    async def events(
        self,
        request: Request[Any, Any, State],
        staff: NamedDependency[StaffIdentity],
        tenant: NamedDependency[TenantContext],
        channels: NamedDependency[ChannelsPlugin],
    ) -> ServerSentEvent:
        # The staff dependency has checked the login for this municipality; the stream is theirs alone.
        del staff
        settings: Settings = request.app.state.settings
        return ServerSentEvent(
            _stream(channels, tenant.id, settings.live_stream_seconds),
            headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
        )
