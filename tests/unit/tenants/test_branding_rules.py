"""The branding form's contrast rule: white text on the primary colour 4.5:1, the accent against white 3:1."""

from __future__ import annotations

import pytest

from backend.tenants.branding import colour_problems, parse_colour


@pytest.mark.parametrize(
    ("primary", "accent"),
    [("#1d4f91", "#b3261e"), ("#000000", "#767676"), ("#0b6e4f", "#005a9c"), ("#767676", "#949494")],
)
def test_readable_pairs_are_accepted(primary: str, accent: str) -> None:
    assert colour_problems(primary, accent) == {}


@pytest.mark.parametrize(
    ("primary", "accent", "refused"),
    [
        ("#ffff00", "#b3261e", {"primary_color"}),  # yellow under white text: about 1.1:1
        ("#777777", "#b3261e", {"primary_color"}),  # just under 4.5:1
        ("#1d4f91", "#ffcc00", {"accent_color"}),  # a light accent on white pages
        ("#ffffff", "#eeeeee", {"primary_color", "accent_color"}),
    ],
)
def test_unreadable_colours_are_refused_with_the_contrast_reached(primary: str, accent: str, refused: set[str]) -> None:
    problems = colour_problems(primary, accent)
    assert set(problems) == refused
    assert all(ratio < 4.5 for _, ratio in problems.values())


@pytest.mark.parametrize(
    ("text", "parsed"),
    [("#1D4F91", "#1d4f91"), ("1d4f91", "#1d4f91"), ("#abc", "#aabbcc"), ("red", None), ("#12345g", None), ("", None)],
)
def test_colours_are_read_as_hex(text: str, parsed: str | None) -> None:
    assert parse_colour(text) == parsed
