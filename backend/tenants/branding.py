"""Colours from a municipality's branding turned into a theme with readable contrast (WCAG AA)."""

from __future__ import annotations


def _channel(c: int) -> float:
    s = c / 255
    return s / 12.92 if s <= 0.03928 else ((s + 0.055) / 1.055) ** 2.4


def luminance(hex_color: str) -> float:
    h = hex_color.lstrip("#")
    r, g, b = (int(h[i : i + 2], 16) for i in (0, 2, 4))
    return 0.2126 * _channel(r) + 0.7152 * _channel(g) + 0.0722 * _channel(b)


def contrast(a: str, b: str) -> float:
    la, lb = sorted((luminance(a), luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def readable_on(background: str) -> str:
    """Black or white text, whichever reads better on the background."""
    return "#ffffff" if contrast(background, "#ffffff") >= contrast(background, "#000000") else "#000000"


def darken_until_readable(color: str, against: str = "#ffffff", ratio: float = 4.5) -> str:
    """The colour itself if it reads on white, else the nearest darker shade that does."""
    h = color.lstrip("#")
    r, g, b = (int(h[i : i + 2], 16) for i in (0, 2, 4))
    for _ in range(100):
        candidate = f"#{r:02x}{g:02x}{b:02x}"
        if contrast(candidate, against) >= ratio:
            return candidate
        r, g, b = int(r * 0.93), int(g * 0.93), int(b * 0.93)
    return "#000000"


def theme_css(primary: str, accent: str) -> str:
    brand = darken_until_readable(primary)
    return (
        ":root{"
        f"--brand:{primary};--on-brand:{readable_on(primary)};"
        f"--brand-ink:{brand};--accent:{darken_until_readable(accent)};"
        "}"
    )


# The rule the branding form enforces (WCAG 2.1 AA):
# - the primary colour carries white text (header, buttons), so white on it must reach 4.5:1 (1.4.3, text);
# - the accent marks focus rings, links and other UI parts on white pages, so it must reach 3:1 against
#   white (1.4.11, non-text contrast).
# Refusing instead of silently darkening keeps what the town sees in the form equal to what citizens see.
PRIMARY_TEXT_RATIO = 4.5
ACCENT_UI_RATIO = 3.0
WHITE = "#ffffff"


def parse_colour(value: str) -> str | None:
    """``#rrggbb`` in lower case, or None for anything else (also accepts ``rrggbb`` and ``#rgb``)."""
    v = value.strip().lower()
    if not v.startswith("#"):
        v = "#" + v
    if len(v) == 4:
        v = "#" + "".join(c * 2 for c in v[1:])
    if len(v) != 7 or any(c not in "0123456789abcdef" for c in v[1:]):
        return None
    return v


def colour_problems(primary: str, accent: str) -> dict[str, tuple[str, float]]:
    """Per field, which rule a colour pair breaks and the contrast it reached (empty if both are readable)."""
    problems: dict[str, tuple[str, float]] = {}
    on_primary = contrast(primary, WHITE)
    if on_primary < PRIMARY_TEXT_RATIO:
        problems["primary_color"] = ("text", on_primary)
    on_white = contrast(accent, WHITE)
    if on_white < ACCENT_UI_RATIO:
        problems["accent_color"] = ("ui", on_white)
    return problems
