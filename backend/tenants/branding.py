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
