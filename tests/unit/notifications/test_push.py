"""The Web Push wrapper fixes the `webpush` package's known flaws so callers never meet them."""

from __future__ import annotations

import json
import time

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from backend.notifications.push import (
    MAX_PLAINTEXT,
    PushError,
    VapidKeyPair,
    audience,
    b64url,
    b64url_decode,
    build_request,
    topic_for,
    vapid_header,
)

KEY = VapidKeyPair.generate()


def device() -> tuple[str, str]:
    from cryptography.hazmat.primitives import serialization

    private = ec.generate_private_key(ec.SECP256R1())
    point = private.public_key().public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    return b64url(point), b64url(b"0123456789abcdef")


def test_audience_keeps_a_non_default_port() -> None:
    assert audience("http://127.0.0.1:8443/push/1") == "http://127.0.0.1:8443"
    assert audience("https://fcm.googleapis.com:443/fcm/send/x") == "https://fcm.googleapis.com"
    assert audience("https://push.example:9443/x") == "https://push.example:9443"


def test_vapid_token_is_signed_for_the_endpoint_origin_and_expires_within_a_day() -> None:
    header = vapid_header("https://push.example:9443/abc", KEY, "mailto:ops@example.org")
    token = header.split("t=")[1].split(",")[0]
    public = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), b64url_decode(KEY.public_key))
    claims = jwt.decode(token, public, algorithms=["ES256"], audience="https://push.example:9443")
    assert 0 < claims["exp"] - time.time() <= 24 * 3600
    assert claims["sub"] == "mailto:ops@example.org"
    assert header.endswith(f"k={KEY.public_key}")


def _req(**kw: object) -> dict[str, str]:
    p256dh, auth = device()
    args: dict = {
        "endpoint": "https://fcm.googleapis.com/x",
        "p256dh": p256dh,
        "auth": auth,
        "payload": {"title": "t"},
        "key": KEY,
        "subject": "mailto:a@b.c",
        "ttl": 3600,
    }
    return build_request(**{**args, **kw}).headers


def test_ttl_is_set_per_message_and_never_leaks_or_drops_to_zero() -> None:
    assert _req(ttl=3600)["TTL"] == "3600"
    assert _req(ttl=60)["TTL"] == "60"
    assert _req(ttl=86400)["TTL"] == "86400", "an earlier call's TTL does not stick"
    with pytest.raises(PushError):
        _req(ttl=0)


def test_urgency_and_topic_are_checked() -> None:
    assert _req(urgency="high", topic=topic_for(b"case"))["Urgency"] == "high"
    assert len(topic_for(b"any case id")) <= 32
    with pytest.raises(PushError):
        _req(urgency="urgent")
    with pytest.raises(PushError):
        _req(topic="x" * 33)


def test_payload_larger_than_one_record_is_refused() -> None:
    body = "x" * (MAX_PLAINTEXT - len(json.dumps({"b": ""}, separators=(",", ":"))))
    _req(payload={"b": body})
    with pytest.raises(PushError, match="larger"):
        _req(payload={"b": body + "x"})
