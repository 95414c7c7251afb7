"""Web Push requests (RFC 8030/8291/8292): endpoint checks, VAPID signing and encryption.

Encryption comes from the `webpush` package; this module wraps its known flaws so no caller has to:
its VAPID token drops a non-default port from `aud` (we sign our own token), a per-call `ttl` leaks into
later calls and `ttl=0` is ignored (we set TTL, Urgency and Topic ourselves on every request), and it
does not check the payload size (we refuse more than one record can hold).
"""

from __future__ import annotations

import base64
import functools
import ipaddress
import json
import re
import time
from dataclasses import dataclass
from functools import cached_property
from types import SimpleNamespace
from typing import Any
from urllib.parse import urlsplit

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from webpush import WebPush

MAX_PLAINTEXT = 3993  # one aes128gcm record of 4096 bytes, minus header, padding delimiter and tag
MAX_TOKEN_LIFETIME = 12 * 3600
URGENCIES = ("very-low", "low", "normal", "high")


class PushError(ValueError):
    """A subscription or message that must not be sent; the message says why."""


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


# --- endpoint safety ------------------------------------------------------------------------------


def _host_allowed(host: str, port: int | None, allowlist: tuple[str, ...]) -> bool:
    for entry in allowlist:
        name, _, entry_port = entry.partition(":")
        if entry_port and (port is None or str(port) != entry_port):
            continue
        # "*.notify.windows.com" covers names below it, on a dot boundary only: not "evilnotify.windows.com".
        if name.startswith("*.") and host.endswith(name[1:]):
            return True
        if host == name:
            return True
    return False


# One DNS label: letters, digits and inner hyphens, at most 63 characters.
_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")


def _is_dns_name(host: str) -> bool:
    if len(host) > 253:
        return False
    labels = host.split(".")
    return len(labels) >= 2 and all(_LABEL.match(label) for label in labels) and not labels[-1].isdigit()


def _is_loopback(host: str) -> bool:
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


# The scheme and the authority of a URL (what urlsplit calls scheme and netloc), then the rest.
_ORIGIN = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*://[^/?#]*)(.*)$", re.DOTALL)


def check_endpoint(endpoint: str, allowlist: tuple[str, ...]) -> str:
    """Accept only push services we know: https on port 443 of allowlisted DNS names; plain http and
    other ports for loopback hosts only (a local push service in tests and development).

    The server must never be made to send requests to arbitrary addresses (SSRF), so private and
    link-local IP literals are refused even when somebody allowlists them by mistake.
    """
    if len(endpoint) > 2000:
        raise PushError("endpoint too long")
    if not endpoint.isascii() or not endpoint.isprintable() or " " in endpoint:
        raise PushError("endpoint is not a valid URL")
    match = _ORIGIN.match(endpoint)
    if match is None:
        raise PushError("endpoint must use https")
    origin, rest = match.groups()
    if rest.partition("#")[2]:
        raise PushError("endpoint is not a valid push service URL")
    # A push service's devices share its origin: the origin's verdict is kept (a broadcast checks thousands).
    _check_origin(origin, allowlist)
    return endpoint


@functools.lru_cache(maxsize=256)
def _check_origin(origin: str, allowlist: tuple[str, ...]) -> None:
    try:
        parts = urlsplit(origin)
        port = parts.port
    except ValueError as exc:
        raise PushError("endpoint is not a valid URL") from exc
    host = (parts.hostname or "").lower()
    if not host or "@" in parts.netloc:
        raise PushError("endpoint is not a valid push service URL")
    loopback = _is_loopback(host)
    if parts.scheme == "http":
        if not loopback:
            raise PushError("endpoint must use https")
    elif parts.scheme != "https":
        raise PushError("endpoint must use https")
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        address = None
    if address is not None and not address.is_loopback and (address.is_private or not address.is_global):
        raise PushError("endpoint host is not a push service")
    if address is None and not (_is_dns_name(host) or host == "localhost"):
        raise PushError("endpoint host is not a valid host name")
    if not loopback and port not in (None, 443):
        raise PushError("endpoint must use port 443")
    if not _host_allowed(host, port, allowlist):
        raise PushError("endpoint host is not a known push service")


P256DH_LENGTH = 65  # an uncompressed P-256 point: 0x04, then X and Y of 32 bytes each
AUTH_LENGTH = 16  # RFC 8291 §3.2: the authentication secret is 16 octets


def check_keys(p256dh: str, auth: str) -> None:
    """The browser's key and secret, exactly as RFC 8291 defines them (base64url, no padding needed)."""
    try:
        point, secret = _strict_b64url(p256dh), _strict_b64url(auth)
        if len(point) != P256DH_LENGTH or point[0] != 4:
            raise ValueError("p256dh is not an uncompressed P-256 point")
        if len(secret) != AUTH_LENGTH:
            raise ValueError("auth secret is not 16 bytes")
        ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), point)
    except (ValueError, TypeError) as exc:
        raise PushError("subscription keys are not valid") from exc


_B64URL = re.compile(r"^[A-Za-z0-9_-]*={0,2}$")


def _strict_b64url(text: str) -> bytes:
    if len(text) > 200 or not _B64URL.match(text):
        raise ValueError("not base64url")
    return b64url_decode(text.rstrip("="))


# --- VAPID ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class VapidKeyPair:
    private_pem: str
    public_key: str  # base64url uncompressed point: the application server key browsers subscribe with

    @classmethod
    def generate(cls) -> VapidKeyPair:
        key = ec.generate_private_key(ec.SECP256R1())
        pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ).decode()
        point = key.public_key().public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
        return cls(private_pem=pem, public_key=b64url(point))

    @cached_property
    def encrypter(self) -> WebPush:
        """The webpush object used for encryption only (its own headers are not used, see above)."""
        key = serialization.load_pem_private_key(self.private_pem.encode(), password=None)
        public_pem = key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        return WebPush(private_key=self.private_pem.encode(), public_key=public_pem, subscriber="push@invalid")


def audience(endpoint: str) -> str:
    """The endpoint's origin, with a non-default port kept (RFC 8292 §2)."""
    match = _ORIGIN.match(endpoint)
    return _audience(match.group(1) if match else endpoint)


@functools.lru_cache(maxsize=256)
def _audience(origin: str) -> str:
    parts = urlsplit(origin)
    default = {"https": 443, "http": 80}.get(parts.scheme)
    port = f":{parts.port}" if parts.port and parts.port != default else ""
    return f"{parts.scheme}://{parts.hostname}{port}"


_tokens: dict[tuple[str, str, str], tuple[float, str]] = {}


def vapid_header(endpoint: str, key: VapidKeyPair, subject: str, now: float | None = None) -> str:
    """The Authorization header; a token is reused for an origin until an hour before it expires."""
    now = now or time.time()
    cache_key = (audience(endpoint), key.public_key, subject)
    cached = _tokens.get(cache_key)
    if cached and cached[0] - now > 3600:
        return cached[1]
    exp = int(now + MAX_TOKEN_LIFETIME)
    claims = {"aud": cache_key[0], "exp": exp, "sub": subject}
    token = jwt.encode(claims, key.private_pem, algorithm="ES256", headers={"typ": "JWT"})
    header = f"vapid t={token}, k={key.public_key}"
    if len(_tokens) > 1000:
        _tokens.clear()
    _tokens[cache_key] = (exp, header)
    return header


# --- messages ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PushRequest:
    url: str
    headers: dict[str, str]
    body: bytes


def topic_for(seed: bytes) -> str:
    """A Topic (≤ 32 base64url characters) so a newer message replaces an undelivered older one."""
    import hashlib

    return b64url(hashlib.sha256(seed).digest()[:24])


def build_request(
    *,
    endpoint: str,
    p256dh: str,
    auth: str,
    payload: dict[str, Any],
    key: VapidKeyPair,
    subject: str,
    ttl: int,
    urgency: str = "normal",
    topic: str | None = None,
) -> PushRequest:
    if ttl <= 0:
        raise PushError("TTL must be positive")
    if urgency not in URGENCIES:
        raise PushError(f"urgency must be one of {URGENCIES}")
    if topic is not None and (len(topic) > 32 or not all(c.isalnum() or c in "-_" for c in topic)):
        raise PushError("topic must be at most 32 base64url characters")
    data = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()
    if len(data) > MAX_PLAINTEXT:
        raise PushError(f"payload of {len(data)} bytes is larger than {MAX_PLAINTEXT}")
    # Only the library's RFC 8291 encryption is used (webpush==1.0.6 is pinned for this); its get() would
    # also sign a token with the wrong audience and keep per-call TTL on the instance.
    subscription = SimpleNamespace(endpoint=endpoint, keys=SimpleNamespace(p256dh=p256dh, auth=auth))
    encrypted = key.encrypter._encrypt(data, subscription)  # type: ignore[arg-type]
    headers = {
        "Content-Encoding": "aes128gcm",
        "Content-Type": "application/octet-stream",
        "TTL": str(ttl),
        "Urgency": urgency,
        "Authorization": vapid_header(endpoint, key, subject),
    }
    if topic:
        headers["Topic"] = topic
    return PushRequest(url=endpoint, headers=headers, body=encrypted)
