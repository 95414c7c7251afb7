"""The JSON the browser sends to follow a case on this device."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec

Token = Annotated[str, msgspec.Meta(min_length=10, max_length=64)]


class SubscribeIn(msgspec.Struct, forbid_unknown_fields=True):
    subscription: dict[str, Any]
    token: Token


class UnsubscribeIn(msgspec.Struct, forbid_unknown_fields=True):
    endpoint: Annotated[str, msgspec.Meta(max_length=2000)]
    token: Token


class PublicKeyOut(msgspec.Struct):
    publicKey: str  # noqa: N815  (the name the Push API's applicationServerKey docs use)
