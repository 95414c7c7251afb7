"""The JSON the browser sends to follow a case on this device (PushSubscription.toJSON() and a token)."""

from __future__ import annotations

from typing import Annotated

import msgspec

# A tracking token is base64url (secrets.token_urlsafe); nothing else can name a case.
Token = Annotated[str, msgspec.Meta(min_length=10, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]
Endpoint = Annotated[str, msgspec.Meta(min_length=1, max_length=2000)]
# base64url of 65 and 16 bytes; a little room for padding, the exact check is push.check_keys.
Key = Annotated[str, msgspec.Meta(min_length=1, max_length=100)]


class KeysIn(msgspec.Struct, forbid_unknown_fields=True):
    p256dh: Key
    auth: Key


class SubscriptionIn(msgspec.Struct, forbid_unknown_fields=True):
    """Typed all the way down, so nothing nested deeper than these two levels is even decoded."""

    endpoint: Endpoint
    keys: KeysIn
    expirationTime: int | float | None = None  # noqa: N815  (the name PushSubscription.toJSON() uses)


class SubscribeIn(msgspec.Struct, forbid_unknown_fields=True):
    subscription: SubscriptionIn
    token: Token


class UnsubscribeIn(msgspec.Struct, forbid_unknown_fields=True):
    endpoint: Endpoint
    token: Token


class PublicKeyOut(msgspec.Struct):
    publicKey: str  # noqa: N815  (the name the Push API's applicationServerKey docs use)
