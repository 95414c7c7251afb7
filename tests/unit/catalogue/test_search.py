"""Service search over the demo catalogue: the words citizens really type find the right service."""

from __future__ import annotations

import pytest

from backend import demo
from backend.catalogue.models import Service
from backend.catalogue.search import fold, rank
from backend.catalogue.templates import template


def _service(adopted: demo.Adopt) -> Service:
    t = template(adopted.template)
    return Service(slug=t.slug, **t.service_texts())


CATALOGUE = [_service(adopted) for adopted in demo.TENANTS[0].services]


def _found(query: str) -> list[str]:
    return [s.slug for s in rank(CATALOGUE, query)]


@pytest.mark.parametrize(
    ("query", "slug"),
    [
        ("sperrmull", "sperrmuell"),
        ("Sperrmüll", "sperrmuell"),
        ("SPERRMUELL", "sperrmuell"),
        ("laterne kaputt", "strassenlaterne-defekt"),
        ("kaputt laterne", "strassenlaterne-defekt"),
        ("Strassenlaterne", "strassenlaterne-defekt"),
        ("Straßenlaterne", "strassenlaterne-defekt"),
        ("Lampe", "strassenlaterne-defekt"),
        ("licht", "strassenlaterne-defekt"),
        ("later", "strassenlaterne-defekt"),
        ("Latrene", "strassenlaterne-defekt"),
        ("Sperrmül abholen", "sperrmuell"),
        ("Schlagloh", "schlagloch"),
        ("hundesteuer", "hundeanmeldung"),
        ("Parkausweiss", "bewohnerparkausweis"),
    ],
)
def test_search_finds_the_service_citizens_mean(query: str, slug: str) -> None:
    found = _found(query)
    assert found and found[0] == slug, (query, found)


def test_the_exact_queries_from_the_issue_find_their_service() -> None:
    assert _found("sperrmull")[0] == "sperrmuell"
    assert _found("laterne kaputt")[0] == "strassenlaterne-defekt"
    assert _found("Strassenlaterne") == ["strassenlaterne-defekt"]
    assert _found("laterne kaputt") == ["strassenlaterne-defekt"]


def test_unrelated_words_find_nothing() -> None:
    assert _found("qwertz") == []
    assert _found("Tür") == [], "short words are matched exactly, not as typos"


def test_services_matching_every_word_come_alone() -> None:
    assert _found("müll abholung") == ["sperrmuell"]
    assert _found("laterne kaputt") == ["strassenlaterne-defekt"], "keywords are part of the service's data"


def test_when_no_service_matches_every_word_the_best_partial_matches_are_shown() -> None:
    assert _found("laterne blinkt")[0] == "strassenlaterne-defekt"


def test_an_empty_query_lists_every_service_in_order() -> None:
    assert _found("  ") == [s.slug for s in CATALOGUE]


def test_fold_makes_umlaut_spellings_one() -> None:
    assert fold("Sperrmüll") == fold("Sperrmuell") == fold("SPERRMULL")
    assert fold("Straße") == fold("STRASSE")
