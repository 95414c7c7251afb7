"""Incoming text is cleaned once, the same way everywhere: no NUL, escapes or bidi overrides; addresses checked."""

from __future__ import annotations

import pytest
from multidict import MultiDict

from backend.catalogue.forms import raw_values, validate
from backend.catalogue.schemas import parse_definition
from backend.core import i18n
from backend.core.text import ascii_digits, clean_line, clean_text, email_address, whole_number

DEFINITION = parse_definition(
    {
        "fields": [
            {"name": "what", "type": "textarea", "label": {"en": "What"}},
            {"name": "title", "type": "text", "label": {"en": "Title"}},
            {"name": "email", "type": "email", "label": {"en": "E-mail"}},
            {"name": "where", "type": "location", "label": {"en": "Where"}},
            {
                "name": "tags",
                "type": "multichoice",
                "label": {"en": "Tags"},
                "options": [{"value": "a", "label": {"en": "A"}}],
            },
        ]
    }
)


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("a\x00b", "ab"),
        ("red\x1b[31mtext", "red[31mtext"),
        ("bell\x07 and del\x7f and c1\x85\x9b", "bell and del and c1"),
        ("line one\r\nline two\rthree", "line one\nline two\nthree"),
        ("keeps\ttabs\nand newlines", "keeps\ttabs\nand newlines"),
        ("invoice\u202efdp.exe", "invoicefdp.exe"),
        ("\u2066isolated\u2069 \u202aembedded\u202c", "isolated embedded"),
        ("שלום\u200f!", "שלום\u200f!"),  # a right-to-left mark is harmless and stays
        ("Cafe\u0301", "Café"),  # NFC
        ("lone \ud800 surrogate", "lone  surrogate"),
        ("  padded  ", "padded"),
    ],
)
def test_clean_text_drops_controls_and_keeps_what_text_needs(raw: str, clean: str) -> None:
    assert clean_text(raw) == clean


def test_one_line_text_has_no_line_breaks_or_tabs() -> None:
    assert clean_line("anna@\x00example.org\n") == "anna@example.org"
    assert clean_line("a\tb\nc") == "abc"


def test_raw_values_cleans_every_kind_of_answer() -> None:
    form = MultiDict(
        [
            ("what", "Die Laterne\x00 ist\x1b dunkel.\u202e"),
            ("title", "Titel\x00"),
            ("email", "anna@example.org\x00"),
            ("where__address", "Hauptstr.\x00 1"),
            ("where__description", "vor dem\u202e Haus"),
            ("tags", "a\x00"),
        ]
    )
    values = raw_values(DEFINITION, form)
    assert values["what"] == "Die Laterne ist dunkel."
    assert values["title"] == "Titel"
    assert values["email"] == "anna@example.org"
    assert values["where"]["address"] == "Hauptstr. 1" and values["where"]["description"] == "vor dem Haus"
    assert values["tags"] == ["a"]
    result = validate(DEFINITION, values, {})
    assert result.ok, result.errors
    assert "\x00" not in repr(result.answers)


@pytest.mark.parametrize(
    "address",
    [
        '"><script>alert(1)</script>@x.example',
        "<script>@x.example",
        "anna@example.org>, evil@x.example",
        "anna@example.org\nBcc: evil@x.example",
        "anna @example.org",
        "anna@localhost",
        "anna@@example.org",
        "anna@example",
    ],
)
def test_malformed_email_addresses_are_refused(address: str) -> None:
    i18n.set_language("en")
    result = validate(DEFINITION, {"email": address}, {})
    assert result.errors["email"] == "Please enter an e-mail address like name@example.org."
    with pytest.raises(ValueError):
        email_address(address)


def test_good_email_addresses_pass_in_their_normal_form() -> None:
    result = validate(DEFINITION, {"email": "Anna.Beispiel@Example.ORG"}, {})
    assert result.answers["email"] == "Anna.Beispiel@example.org"
    assert email_address("jürgen@bürger.de") == "jürgen@bürger.de"


@pytest.mark.parametrize(
    ("typed", "digits"),
    [
        ("١٢٣٤٥٦", "123456"),  # Arabic-Indic
        ("۰۱۲ ۳۴۵", "012 345"),  # Persian, with the space kept
        ("१२३", "123"),  # Devanagari
        ("１２３", "123"),  # full-width
        ("ab-12", "ab-12"),
        ("²³", "²³"),  # superscripts are no decimal digits: left as they are, and refused where a number is due
    ],
)
def test_digits_of_any_script_become_ascii_digits(typed: str, digits: str) -> None:
    assert ascii_digits(typed) == digits


@pytest.mark.parametrize(
    ("typed", "number"),
    [("365", 365), (" ٣٦٥ ", 365), ("00042", 42), ("123456", None), ("", None), ("-1", None), ("1.5", None),
     ("²", None), ("1e3", None), ("\x00", None)],
)  # fmt: skip
def test_a_whole_number_has_digits_only_and_at_most_so_many(typed: str, number: int | None) -> None:
    assert whole_number(typed, 5) == number
