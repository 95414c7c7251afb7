"""A position reads unambiguously in every language and links to a map."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from backend.core import i18n

LOCALES = Path(__file__).resolve().parents[3] / "locales"


@pytest.fixture(autouse=True)
def _catalogues() -> Iterator[None]:
    previous = i18n._locales_dir
    i18n.configure(LOCALES)
    yield
    i18n.configure(previous)  # type: ignore[arg-type]
    i18n.set_language(i18n.DEFAULT_LANGUAGE)


def test_position_uses_the_languages_decimal_sign_and_compass_letters() -> None:
    i18n.set_language("de")
    assert i18n.fmt_position(52.52, 13.405) == "52,52° N, 13,405° O"
    assert i18n.fmt_position("-33.8688", "-70.1") == "33,8688° S, 70,1° W"
    i18n.set_language("en")
    assert i18n.fmt_position(52.52, 13.405) == "52.52° N, 13.405° E"
    assert i18n.fmt_position(51.514021, 7.465190) == "51.514021° N, 7.46519° E"


@pytest.mark.parametrize(("lat", "lon"), [(None, 1.0), ("x", "1"), (91, 0), (0, 181), (float("nan"), 0)])
def test_no_position_for_missing_or_impossible_values(lat: object, lon: object) -> None:
    assert i18n.fmt_position(lat, lon) == ""  # type: ignore[arg-type]
    assert i18n.map_url(lat, lon) == ""  # type: ignore[arg-type]


def test_map_link_points_at_openstreetmap_with_a_marker() -> None:
    i18n.set_language("de")  # the URL never takes the German decimal comma
    assert i18n.map_url(52.52, 13.405) == (
        "https://www.openstreetmap.org/?mlat=52.52&mlon=13.405#map=18/52.52/13.405"
    )
