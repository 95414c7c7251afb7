"""Response headers every page gets: a strict Content-Security-Policy and friends."""

from __future__ import annotations

from litestar.datastructures import MutableScopeHeaders
from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Message, Receive, Scope, Send

CSP = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data: blob:",
        "connect-src 'self'",
        "font-src 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
        "object-src 'none'",
        "manifest-src 'self'",
        "worker-src 'self'",
    ]
)


class SecurityHeadersMiddleware(ASGIMiddleware):
    scopes = ("http",)  # type: ignore[assignment]

    def __init__(self, https: bool) -> None:
        self.https = https

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        path = scope.get("path", "")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableScopeHeaders.from_message(message)
                headers.setdefault("X-Content-Type-Options", "nosniff")
                if self.https:
                    headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
                content_type = headers.get("content-type", "")
                # The policy headers govern documents (and the service worker, whose own response sets its
                # policy); on images, styles and scripts they are only bytes a slow phone has to fetch.
                if content_type.startswith(("text/html", "application/problem+json")) or path == "/sw.js":
                    headers.setdefault("Content-Security-Policy", CSP)
                    # Tracking links are private: never leak them to another site through Referer.
                    headers.setdefault("Referrer-Policy", "no-referrer")
                    headers.setdefault("Permissions-Policy", "geolocation=(self), camera=(self), microphone=()")
                    headers.setdefault("X-Frame-Options", "DENY")
                if content_type.startswith("text/html"):
                    headers.setdefault("Cache-Control", "no-cache")
                    headers.setdefault("Vary", "Cookie, Accept-Language, HX-Request")
            await send(message)

        await next_app(scope, receive, send_with_headers)
