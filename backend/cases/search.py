"""What the inbox shows and searches of a case: its one-line summary and its folded search text.

Both are stored on the case and written in the same transaction as what they are made of (submission,
messages, replies), so the inbox reads them without touching answers or the timeline. The search text is
"folded": lower case, ß as ss, ä/ö/ü as ae/oe/ue, other accents dropped. A query is folded the same way,
so "Hauptstrasse", "hauptstraße" and "HAUPTSTR" all find "Hauptstraße". The functions here are pure (no
database), so the migration that fills existing rows uses the same rules.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from typing import Any

SUMMARY_LENGTH = 140
# A case's search text stops growing here (a long conversation keeps its first messages searchable).
SEARCH_TEXT_LENGTH = 50_000
_UMLAUTS = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue"})
_SPACE = re.compile(r"\s+")
# Answers of these field types are shown and searched; files (attachment ids) are not text.
_TEXT_TYPES = ("text", "textarea")
_SKIPPED_TYPES = ("file", "location")


def fold(value: str) -> str:
    """Text as it is stored for search and as a query is compared with it."""
    value = value.casefold().translate(_UMLAUTS)  # casefold makes ß "ss"
    value = "".join(ch for ch in unicodedata.normalize("NFKD", value) if not unicodedata.combining(ch))
    return _SPACE.sub(" ", value).strip()


def one_line(value: str, length: int = SUMMARY_LENGTH) -> str:
    value = _SPACE.sub(" ", value).strip()
    return value if len(value) <= length else value[: length - 1].rstrip() + "…"


def location_text(location: dict[str, Any] | None) -> str:
    if not location:
        return ""
    return " ".join(str(location[k]) for k in ("address", "description") if location.get(k))


def summary_of(fields: Iterable[tuple[str, str]], answers: dict[str, Any], location: dict[str, Any] | None) -> str:
    """The location's address (or description), else the first text answer; ``fields`` are (name, type)."""
    if location:
        for key in ("address", "description"):
            if location.get(key):
                return one_line(str(location[key]))
    for name, type_ in fields:
        value = answers.get(name)
        if type_ in _TEXT_TYPES and isinstance(value, str) and value.strip():
            return one_line(value)
    return ""


def search_text_of(
    reference: str,
    fields: Iterable[tuple[str, str]],
    answers: dict[str, Any],
    location: dict[str, Any] | None,
    messages: Iterable[str] = (),
) -> str:
    """The folded search text of a case: reference, answers, location and messages."""
    parts = [reference, location_text(location)]
    for name, type_ in fields:
        value = answers.get(name)
        if type_ in _SKIPPED_TYPES or value is None or isinstance(value, dict):
            continue
        if isinstance(value, list):
            parts.extend(str(v) for v in value)
        else:
            parts.append(str(value))
    parts.extend(messages)
    return fold(" ".join(p for p in parts if p))[:SEARCH_TEXT_LENGTH]


def with_message(search_text: str, message: str) -> str:
    """The search text after a message was added to the case."""
    if not message.strip():
        return search_text
    return f"{search_text} {fold(message)}".strip()[:SEARCH_TEXT_LENGTH]


def words(query: str) -> list[str]:
    """The folded words of a query, each to be found (as a part of a word) in a case's search text."""
    return [w for w in fold(query).split(" ") if w][:8]
