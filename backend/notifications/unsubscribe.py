"""One-click unsubscribe (RFC 8058): the address in every e-mail, signed so only its own case can be switched off.

The tracking token alone already grants access to a case; the signature adds that the address came from one
of our e-mails, so a link copied from the page's address bar cannot be turned into a silent switch-off by a
mail client or a link scanner without the secret.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re

_TOKEN_IN_URL = re.compile(r"^/r/([A-Za-z0-9_-]{16,64})(?:[/?#]|$)")


def signature(secret: str, token: str) -> str:
    digest = hmac.new(secret.encode(), f"unsubscribe:{token}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[:18]).decode().rstrip("=")


def valid_signature(secret: str, token: str, sig: str) -> bool:
    # Bytes: compare_digest refuses a str with non-ASCII characters, and the link's signature may hold any.
    return bool(sig) and hmac.compare_digest(signature(secret, token).encode(), sig.encode())


def unsubscribe_path(secret: str, token: str) -> str:
    return f"/r/{token}/unsubscribe?sig={signature(secret, token)}"


def token_of(url: str) -> str | None:
    """The tracking token in a notification's link ("/r/<token>"), if it points to a case."""
    found = _TOKEN_IN_URL.match(url)
    return found.group(1) if found else None
