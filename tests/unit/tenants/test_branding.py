"""Municipality colours become a theme whose text always reads (WCAG AA contrast)."""

from __future__ import annotations

import pytest

from backend.tenants.branding import contrast, darken_until_readable, readable_on, theme_css


@pytest.mark.parametrize(
    "color", ["#1d4f91", "#ffd700", "#2e6b30", "#ffffff", "#000000", "#e30613", "#7fc241"]
)
def test_brand_text_and_links_reach_aa_contrast(color: str) -> None:
    assert contrast(color, readable_on(color)) >= 4.5
    assert contrast(darken_until_readable(color), "#ffffff") >= 4.5


def test_theme_css_sets_custom_properties() -> None:
    css = theme_css("#ffd700", "#e30613")
    assert "--brand:#ffd700" in css and "--on-brand:#000000" in css
