"""Response headers every response gets (a strict Content-Security-Policy and friends), and safe redirects."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from litestar.datastructures import MutableScopeHeaders
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


def is_local_path(target: str) -> bool:
    r"""Whether a redirect target stays on this site: a path, never another host in disguise.

    Browsers read a backslash as a slash and drop tabs and line breaks inside a URL, so ``/\evil.example``
    and ``/<tab>/evil.example`` would leave the site just like ``//evil.example``.
    """
    if not target.startswith("/") or target[1:2] in ("/", "\\"):
        return False
    if "\\" in target or any(ord(ch) < 0x21 or ord(ch) == 0x7F for ch in target):
        return False
    parts = urlsplit(target)
    return not parts.scheme and not parts.netloc


# Private responses no cache (browser, proxy, shared computer's back button) may keep: every staff page, the
# files citizens attached, shown by their private link or to staff, the pages of a forwarded case (/x/), and a
# citizen's account (sign-in, "My requests", the data download).
_NO_STORE = re.compile(r"^/staff(/|$)|^/r/[^/]+/files/|^/s/[^/]+/drafts/[^/]+/files/|^/x/|^/account(/|$)")


def is_private_path(path: str) -> bool:
    """Whether answers to this path are private: never stored by any cache (and so never tagged for reuse)."""
    return _NO_STORE.match(path) is not None


class EdgeMiddleware:
    """Wraps the whole app, so that every response passes here: the router's own 404 and 405, the unknown
    host's 404, the CSRF 403 and every error page included (app middleware sees only routed requests).

    - Security headers. ``nosniff`` (and HSTS over https) goes on everything. The policy headers (CSP with
      ``frame-ancestors``, ``X-Frame-Options``, Referrer- and Permissions-Policy) govern documents, so they go
      on every HTML page, every problem document and every error response, and on the service worker; on
      images, styles and scripts they would only be bytes a slow phone fetches on its first visit.
    - ``HEAD`` is answered for every ``GET`` route, as that route's ``GET`` without the body (monitoring and
      link checkers use it), so the headers are exactly those of the ``GET``.
    """

    def __init__(self, app: ASGIApp, https: bool) -> None:
        self.app = app
        self.https = https

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "")
        head = scope["method"] == "HEAD"
        body_sent = False

        async def send_with_headers(message: Message) -> None:
            nonlocal body_sent
            if message["type"] == "http.response.start":
                self._add_headers(message, path)
                if head:
                    scope["method"] = "HEAD"  # the server frames a HEAD answer (no body) by this
            elif head and message["type"] == "http.response.body":
                if body_sent:
                    return
                body_sent = True
                message = {"type": "http.response.body", "body": b"", "more_body": False}
            await send(message)

        if head:
            # The same scope object, not a copy: state stored in it (the database session) must be found by
            # the hooks that close it.
            scope["method"] = "GET"
        await self.app(scope, receive, send_with_headers)

    def _add_headers(self, message: Message, path: str) -> None:
        headers = MutableScopeHeaders.from_message(message)
        headers.setdefault("X-Content-Type-Options", "nosniff")
        if self.https:
            headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
        content_type = headers.get("content-type", "")
        document = content_type.startswith(("text/html", "application/problem+json"))
        if document or message["status"] >= 400 or path == "/sw.js":
            headers.setdefault("Content-Security-Policy", CSP)
            # Tracking links are private: never leak them to another site through Referer.
            headers.setdefault("Referrer-Policy", "no-referrer")
            headers.setdefault("Permissions-Policy", "geolocation=(self), camera=(self), microphone=()")
            headers.setdefault("X-Frame-Options", "DENY")
        # A 304 stands for a page the browser has (see core/conditional.py): it must say what the page's 200
        # would have said about caching (RFC 9110, 15.4.5), while the page's other headers stay as stored.
        page = content_type.startswith("text/html") or message["status"] == 304
        if is_private_path(path):
            headers["Cache-Control"] = "no-store"
        elif page:
            headers.setdefault("Cache-Control", "no-cache")
        if page:
            # Pages differ by language cookie and by htmx fragment vs. whole page; compression has already
            # said Accept-Encoding, so the names are added to what is there, not set only when absent.
            present = [v.strip() for v in headers.get("Vary", "").split(",") if v.strip()]
            wanted = present + [v for v in ("Cookie", "Accept-Language", "HX-Request") if v not in present]
            headers["Vary"] = ", ".join(wanted)
