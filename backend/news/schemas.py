"""What the news pages take: the admin's form (checked here) and the device's categories as strict JSON."""

from __future__ import annotations

import datetime
from typing import Annotated, Literal

import msgspec

from backend.notifications.schemas import Endpoint, SubscriptionIn

# Most important first: the home page and the list show warnings before anything else.
CATEGORIES: tuple[str, ...] = ("warning", "traffic", "waste", "events", "general")
Category = Literal["warning", "traffic", "waste", "events", "general"]

TITLE_MAX = 120
TEXT_MAX = 2000
LINK_MAX = 500


class NewsSubscribeIn(msgspec.Struct, forbid_unknown_fields=True):
    """The device's push subscription and every category it wants; an empty list turns news pushes off."""

    subscription: SubscriptionIn
    categories: Annotated[list[Category], msgspec.Meta(max_length=len(CATEGORIES))]


class NewsDeviceIn(msgspec.Struct, forbid_unknown_fields=True):
    endpoint: Endpoint


class NewsCategoriesOut(msgspec.Struct):
    categories: list[str]


class NewsForm(msgspec.Struct):
    """An announcement as the admin entered it, after the form was checked (see services.parse_form)."""

    title: str
    text: str
    link: str | None
    category: str
    valid_from: datetime.datetime
    valid_until: datetime.datetime | None
    send_again: bool = False
