"""Finding a service by the words a citizen types: tolerant of umlaut spellings, case, order and small typos."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from typing import Protocol, TypeVar

from rapidfuzz import fuzz

# How alike a typed word and a word of the service must be (0–100) to count as a typo of it:
# one wrong, missing or extra letter in a word of five or more letters.
TYPO_SCORE = 80
# Shorter words must be typed exactly or as the start of a longer one: "tür" is no typo of "tier".
MIN_FUZZY_LENGTH = 5

_WORD = re.compile(r"[a-z0-9]+")
# After folding, "ü", "ue" and "u" are all written "u" (likewise ä/ae/a, ö/oe/o), so "sperrmull",
# "Sperrmuell" and "Sperrmüll" are one word. Applied to both sides, it never loses a match.
_UMLAUT_SPELLINGS = (("ae", "a"), ("oe", "o"), ("ue", "u"))


class Searchable(Protocol):
    slug: str
    name: dict[str, str]
    summary: dict[str, str]
    category: dict[str, str]
    keywords: str


S = TypeVar("S", bound=Searchable)


def fold(text: str) -> str:
    """Case-, accent- and umlaut-spelling-insensitive form: "Straßenlaterne" → "strassenlaterne"."""
    text = text.casefold().replace("ß", "ss")
    text = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    for spelled, plain in _UMLAUT_SPELLINGS:
        text = text.replace(spelled, plain)
    return text


def words(text: str) -> list[str]:
    return _WORD.findall(fold(text))


# A word found in the service's name weighs more than one found in its texts or keywords, so "Sperrmüll"
# puts the bulky-waste collection before illegal dumping (whose keywords mention it).
NAME_BONUS = 10.0


def _haystacks(service: Searchable) -> tuple[set[str], set[str]]:
    """The words of the service's name (every language) and all its words."""
    name = set(words(" ".join(service.name.values())))
    parts: Iterable[str] = (
        *service.summary.values(),
        *service.category.values(),
        service.keywords or "",
        service.slug.replace("-", " "),
    )
    return name, name | set(words(" ".join(parts)))


def term_score(term: str, haystack: set[str]) -> float:
    """How well a typed word matches a service's words: a whole word 100, the start of one 95 ("later"),
    part of one 90 ("laterne" in "strassenlaterne"), a likely typo less; 0 when it does not match."""
    if term in haystack:
        return 100.0
    if any(word.startswith(term) for word in haystack):
        return 95.0
    if any(term in word for word in haystack):
        return 90.0
    if len(term) < MIN_FUZZY_LENGTH:
        return 0.0
    best = 0.0
    for word in haystack:
        # A typo in a whole word, or in the part of a longer (compound) word it stands for.
        score = fuzz.ratio(term, word) if len(word) <= len(term) else fuzz.partial_ratio(term, word)
        best = max(best, score)
    return best * 0.85 if best >= TYPO_SCORE else 0.0


def _score(term: str, name: set[str], everything: set[str]) -> float:
    in_name = term_score(term, name)
    return max(term_score(term, everything), in_name + NAME_BONUS if in_name else 0.0)


def rank(services: Sequence[S], query: str) -> list[S]:
    """The services matching the query, best first (ties keep the given order).

    Services that match every word come first and alone; if none does, those matching some of the words,
    so "laterne kaputt" still finds the street light when no service mentions "kaputt".
    """
    terms = words(query)
    if not terms:
        return list(services)
    scored: list[tuple[int, float, int, S]] = []
    for position, service in enumerate(services):
        name, everything = _haystacks(service)
        scores = [_score(term, name, everything) for term in terms]
        matched = sum(1 for s in scores if s)
        if matched:
            scored.append((matched, sum(scores), position, service))
    if any(matched == len(terms) for matched, *_ in scored):
        scored = [row for row in scored if row[0] == len(terms)]
    scored.sort(key=lambda row: (-row[0], -row[1], row[2]))
    return [service for *_, service in scored]
