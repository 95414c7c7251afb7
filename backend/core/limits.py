"""How much a request may send, and how slowly: small bodies everywhere, large ones only where files go.

Every route takes at most ``DEFAULT_BODY_LIMIT`` bytes of body (a login or a status change is a few
hundred bytes). Routes that take files say so with ``opt=UPLOAD_BODY_LIMIT`` on their handler; the app
gives those the limit the upload settings allow (``upload_body_limit``). The server's own limits on
request heads are in ``backend.core.server``.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Empty, Message, Receive, Scope, Send

from backend.core.errors import RequestTimeout

if TYPE_CHECKING:
    from litestar import Litestar

    from backend.settings import Settings

DEFAULT_BODY_LIMIT = 64 * 1024
# Marks a route handler that takes uploaded files: ``@post("/...", opt=UPLOAD_BODY_LIMIT)``.
UPLOAD_BODY_LIMIT: dict[str, Any] = {"body_limit": "uploads"}
# Seconds a request body may pause between two chunks; a phone on a weak network still sends something
# every few seconds, a client holding the connection open on purpose does not.
BODY_READ_TIMEOUT = 30.0


def upload_body_limit(settings: Settings) -> int:
    """The largest form with files: every file at full size, twice over for multipart overhead, plus texts."""
    return settings.max_upload_bytes * settings.max_files * 2 + 1024 * 1024


def apply_upload_limits(app: Litestar, limit: int) -> None:
    """Give the app's upload routes (marked with ``UPLOAD_BODY_LIMIT``) the large body limit."""
    for route in app.routes:
        for handler in getattr(route, "route_handlers", ()):
            if handler.opt.get("body_limit") == UPLOAD_BODY_LIMIT["body_limit"]:
                handler.request_max_body_size = limit
                handler._resolved_request_max_body_size = Empty


def upload_routes(app: Litestar) -> list[str]:
    return sorted(
        route.path
        for route in app.routes
        for handler in getattr(route, "route_handlers", ())
        if handler.opt.get("body_limit") == UPLOAD_BODY_LIMIT["body_limit"]
    )


class BodyTimeoutMiddleware(ASGIMiddleware):
    """Answers 408 when a request body stops arriving for ``BODY_READ_TIMEOUT`` seconds.

    Only the body is timed: once it is complete, later ``receive`` calls (a streamed response waiting for
    the client to go away) wait as long as they need.
    """

    scopes = ("http",)  # type: ignore[assignment]

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        complete = False

        async def timed_receive() -> Message:
            nonlocal complete
            if complete:
                return await receive()
            try:
                message = await asyncio.wait_for(receive(), BODY_READ_TIMEOUT)
            except TimeoutError:
                raise RequestTimeout() from None
            if message["type"] != "http.request" or not message.get("more_body", False):
                complete = True
            return message

        await next_app(scope, timed_receive, send)  # type: ignore[arg-type]
