"""Conditional GET for pages: an ETag from the page's bytes, and ``304 Not Modified`` when the browser has them.

Pages answer ``Cache-Control: no-cache``: a browser (and the service worker, whose navigations go through the
HTTP cache) asks again every time. With an ETag it asks "still this one?" and an unchanged page costs a few
hundred bytes of headers instead of the whole page, which is what a repeat visit on a weak rural connection
should cost. The tag is made from the uncompressed body (gzip output carries a time stamp), so this runs
inside the compression middleware (see ``ConditionalCompressionMiddleware``).
"""

from __future__ import annotations

import hashlib

from litestar.config.compression import CompressionConfig
from litestar.datastructures import MutableScopeHeaders
from litestar.middleware.compression import CompressionMiddleware
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from backend.core.security import is_private_path

# Only pages are tagged here; static files have their own validators, and private answers are never stored.
_TAGGED_TYPES = ("text/html",)
# A page larger than this is streamed as it is, untagged (no page of the app comes near it).
_MAX_BUFFERED = 1024 * 1024


def _matches(if_none_match: str, etag: str) -> bool:
    """RFC 9110 weak comparison: ``W/"x"`` and ``"x"`` are the same tag; ``*`` matches any."""
    wanted = etag.removeprefix("W/")
    for candidate in if_none_match.split(","):
        candidate = candidate.strip()
        if candidate == "*" or candidate.removeprefix("W/") == wanted:
            return True
    return False


class ConditionalGetMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "GET" or is_private_path(scope["path"]):
            await self.app(scope, receive, send)
            return
        if_none_match = ""
        for name, value in scope["headers"]:
            if name == b"if-none-match":
                if_none_match = value.decode("latin-1")
        start: Message | None = None
        chunks: list[bytes] = []
        size = 0
        passing = False

        async def buffered(message: Message) -> None:
            nonlocal start, size, passing
            if passing:
                await send(message)
                return
            if message["type"] == "http.response.start":
                headers = MutableScopeHeaders.from_message(message)
                content_type = headers.get("content-type", "")
                cache_control = headers.get("cache-control", "")
                if (
                    message["status"] != 200
                    or not content_type.startswith(_TAGGED_TYPES)
                    or "no-store" in cache_control
                    or "etag" in headers
                ):
                    passing = True
                    await send(message)
                    return
                start = message
                return
            if message["type"] != "http.response.body" or start is None:
                await send(message)
                return
            body = message.get("body", b"")
            chunks.append(body)
            size += len(body)
            if size > _MAX_BUFFERED:
                passing = True
                await send(start)
                await send({"type": "http.response.body", "body": b"".join(chunks), "more_body": True})
                if not message.get("more_body", False):
                    await send({"type": "http.response.body", "body": b"", "more_body": False})
                return
            if message.get("more_body", False):
                return
            await self._finish(start, b"".join(chunks), if_none_match, send)

        await self.app(scope, receive, buffered)

    @staticmethod
    async def _finish(start: Message, body: bytes, if_none_match: str, send: Send) -> None:
        etag = f'W/"{hashlib.blake2b(body, digest_size=12).hexdigest()}"'
        headers = MutableScopeHeaders.from_message(start)
        headers["ETag"] = etag
        if if_none_match and _matches(if_none_match, etag):
            start["status"] = 304
            for name in ("content-length", "content-type"):
                if name in headers:
                    del headers[name]
            await send(start)
            await send({"type": "http.response.body", "body": b"", "more_body": False})
            return
        headers["Content-Length"] = str(len(body))
        await send(start)
        await send({"type": "http.response.body", "body": body, "more_body": False})


class ConditionalCompressionMiddleware(CompressionMiddleware):
    """Litestar's compression, with conditional GET inside it (the tag must not depend on gzip's time stamp)."""

    def __init__(self, app: ASGIApp, config: CompressionConfig) -> None:
        super().__init__(app=ConditionalGetMiddleware(app), config=config)
