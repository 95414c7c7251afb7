"""Server-side sessions for staff: stored only once there is something to keep."""

from __future__ import annotations

from typing import Any

from litestar.connection import ASGIConnection
from litestar.middleware.session.server_side import ServerSideSessionBackend, ServerSideSessionConfig
from litestar.types import Message, ScopeSession


class LazyServerSideSessionBackend(ServerSideSessionBackend):
    """Like Litestar's backend, but an empty session of a visitor without a session cookie is not written.

    Without this every anonymous page view would create a row in the session store.
    """

    async def store_in_message(
        self, scope_session: ScopeSession, message: Message, connection: ASGIConnection[Any, Any, Any, Any]
    ) -> None:
        if not scope_session and self.config.key not in connection.cookies:
            return
        await super().store_in_message(scope_session, message, connection)


class StaffSessionConfig(ServerSideSessionConfig):
    _backend_class = LazyServerSideSessionBackend  # type: ignore[assignment]
