"""Server-side validation of each field type, with the limits a form definition sets."""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from typing import Any

import pytest

from backend.catalogue.forms import validate
from backend.catalogue.schemas import parse_definition
from backend.core import i18n


@pytest.fixture(autouse=True)
def english() -> Iterator[None]:
    i18n.set_language("en")
    yield
    i18n.set_language("en")


def _one(field: dict[str, Any]) -> Any:
    base = {"name": "f", "label": {"de": "Feld", "en": "Field"}}
    return parse_definition({"fields": [{**base, **field}]})


def check(field: dict[str, Any], value: Any, files: list[str] | None = None) -> tuple[Any, str | None]:
    result = validate(_one(field), {"f": value}, {"f": files or []})
    return result.answers.get("f"), result.errors.get("f")


@pytest.mark.parametrize("kind", ["text", "textarea", "number", "date", "email", "phone", "choice"])
def test_required_fields_must_be_filled(kind: str) -> None:
    extra = {"options": [{"value": "a", "label": {"en": "A"}}]} if kind == "choice" else {}
    assert check({"type": kind, "required": True, **extra}, "")[1] == "Please fill in this field."
    assert check({"type": kind, **extra}, "") == (None, None)


def test_text_length_limits_and_pattern() -> None:
    field = {"type": "text", "min_length": 3, "max_length": 5}
    assert check(field, "abcd") == ("abcd", None)
    assert "at least 3" in (check(field, "ab")[1] or "")
    assert "at most 5" in (check(field, "abcdef")[1] or "")
    plate = {
        "type": "text",
        "pattern": r"[A-Z]{1,3}-[A-Z]{1,2} ?[0-9]{1,4}",
        "help": {"en": "like M-AB 1234"},
    }
    assert check(plate, "M-AB 1234") == ("M-AB 1234", None)
    assert check(plate, "m-ab 1234")[1] == "Please check the format: like M-AB 1234"


def test_long_text_has_a_default_upper_limit() -> None:
    assert check({"type": "textarea"}, "x" * 4000)[1] is None
    assert check({"type": "textarea"}, "x" * 4001)[1]


def test_numbers_accept_comma_and_respect_range() -> None:
    field = {"type": "number", "min": 1, "max": 20}
    assert check(field, "3") == (3, None)
    assert check(field, "2,5") == (2.5, None)
    assert check(field, "0")[1] == "Please enter a number of at least 1."
    assert check(field, "21")[1] == "Please enter a number of at most 20."
    assert check(field, "drei")[1] == "Please enter a number."
    assert check(field, "nan")[1] == "Please enter a number."


def test_dates_accept_iso_and_german_format_and_limits_count_days_from_today() -> None:
    today = datetime.date.today()
    field = {"type": "date", "min": 2, "max": 90}
    in_a_week = today + datetime.timedelta(days=7)
    assert check(field, in_a_week.isoformat()) == (in_a_week.isoformat(), None)
    assert check(field, in_a_week.strftime("%d.%m.%Y")) == (in_a_week.isoformat(), None)
    assert check(field, today.isoformat())[1] == "Please choose a later date."
    assert (
        check(field, (today + datetime.timedelta(days=91)).isoformat())[1] == "Please choose an earlier date."
    )
    assert check(field, "31.02.2026")[1] == "Please enter a date like 2026-12-24."


def test_email_and_phone_formats() -> None:
    assert check({"type": "email"}, "anna@example.org") == ("anna@example.org", None)
    assert check({"type": "email"}, "anna@")[1]
    assert check({"type": "phone"}, "+49 (0)30 123-456") == ("+49 (0)30 123-456", None)
    assert check({"type": "phone"}, "call me")[1]


def test_choices_only_accept_offered_values() -> None:
    options = [{"value": "a", "label": {"en": "A"}}, {"value": "b", "label": {"en": "B"}}]
    assert check({"type": "choice", "options": options}, "b") == ("b", None)
    assert check({"type": "choice", "options": options}, "z")[1] == "Please choose from the options shown."
    multi = {"type": "multichoice", "options": options, "required": True}
    assert check(multi, ["a", "b"]) == (["a", "b"], None)
    assert check(multi, ["a", "x"])[1] == "Please choose from the options shown."
    assert check(multi, [])[1] == "Please choose at least one option."


def test_consent_must_be_given_when_required() -> None:
    assert check({"type": "consent", "required": True}, "yes") == (True, None)
    assert check({"type": "consent", "required": True}, "")[1] == "Please confirm this to continue."
    assert check({"type": "consent"}, "") == (False, None)


def test_location_by_position_address_or_description() -> None:
    field = {"type": "location", "required": True}
    assert check(field, {"lat": "52.5", "lon": "13.4"}) == ({"lat": 52.5, "lon": 13.4}, None)
    assert check(field, {"address": "Markt 1"}) == ({"address": "Markt 1"}, None)
    assert check(field, {"description": "hinter der Kirche"}) == ({"description": "hinter der Kirche"}, None)
    assert check(field, {})[1], "a required location needs one of the three"
    assert check(field, {"lat": "95", "lon": "13"})[1]
    assert check(field, {"lat": "north", "lon": "13"})[1]
    assert check({"type": "location"}, {}) == (None, None)


def test_files_required_and_counted() -> None:
    field = {"type": "file", "required": True, "max_files": 2}
    assert check(field, None, files=["id1"]) == (["id1"], None)
    assert check(field, None, files=[])[1] == "Please add at least one file."
    assert check(field, None, files=["1", "2", "3"])[1] == "Please add at most 2 files."


def test_messages_follow_the_citizens_language() -> None:
    from pathlib import Path

    i18n.configure(Path(__file__).resolve().parents[3] / "locales")
    i18n.set_language("de")
    message = check({"type": "text", "required": True}, "")[1]
    assert message and message != "Please fill in this field."
