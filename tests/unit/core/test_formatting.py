"""Dates and numbers are formatted for the request's language and time zone, also when the result is reused."""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from decimal import Decimal

import pytest

from backend.core import i18n

MOMENT = datetime.datetime(2026, 3, 1, 22, 30, tzinfo=datetime.UTC)


@pytest.fixture(autouse=True)
def _defaults() -> Iterator[None]:
    yield
    i18n.set_language(i18n.DEFAULT_LANGUAGE)
    i18n.set_timezone("Europe/Berlin")


def test_the_same_moment_follows_language_and_time_zone() -> None:
    seen = {}
    for language in ("de", "en"):
        for zone in ("Europe/Berlin", "America/New_York"):
            i18n.set_language(language)
            i18n.set_timezone(zone)
            seen[(language, zone)] = (i18n.fmt_datetime(MOMENT), i18n.fmt_date(MOMENT))
            assert seen[(language, zone)] == (i18n.fmt_datetime(MOMENT), i18n.fmt_date(MOMENT))
    assert len({v[0] for v in seen.values()}) == 4
    assert seen[("de", "Europe/Berlin")][1] == "1. März 2026"
    assert seen[("de", "America/New_York")][1] == "1. März 2026"
    assert seen[("en", "Europe/Berlin")][0].startswith("Mar 1, 2026")
    i18n.set_language("de")
    i18n.set_timezone("Europe/Berlin")
    assert i18n.fmt_datetime(MOMENT.replace(hour=23, minute=30)).startswith("02.03.2026")


def test_numbers_and_dates_of_every_kind() -> None:
    i18n.set_language("de")
    assert i18n.fmt_number(1234.5) == "1.234,5"
    assert i18n.fmt_number(Decimal("1234.5")) == "1.234,5"
    assert i18n.fmt_number(3) == "3"
    assert i18n.fmt_number(None) == ""
    assert i18n.fmt_date("2026-03-01") == "1. März 2026"
    assert i18n.fmt_date(datetime.date(2026, 3, 1)) == "1. März 2026"
    assert i18n.fmt_date("not a date") == "not a date"
    assert i18n.fmt_date("") == ""
    i18n.set_language("en")
    assert i18n.fmt_number(1234.5) == "1,234.5"
    assert i18n.fmt_date("2026-03-01") == "March 1, 2026"
