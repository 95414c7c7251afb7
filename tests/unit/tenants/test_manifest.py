"""A municipality's web app manifest and icons: its own name and colour, lean PNGs, a safe maskable icon."""

from __future__ import annotations

import io
import uuid
from pathlib import Path

import pytest
from PIL import Image, ImageChops

from backend.core.tenancy import TenantContext
from backend.tenants.manifest import (
    ICONS,
    IconCache,
    branding_version,
    build_manifest,
    monogram,
    render_icon,
    service_worker_source,
    shell_entries,
    short_name,
)


def tenant(name: str = "Stadt Musterstadt", color: str = "#1d4f91", slug: str = "musterstadt") -> TenantContext:
    return TenantContext(
        id=uuid.UUID("00000000-0000-0000-0000-000000000001"),
        slug=slug,
        name=name,
        primary_color=color,
        accent_color="#b3261e",
        default_language="de",
        languages=["de", "en"],
        timezone="Europe/Berlin",
    )


def test_manifest_carries_the_municipalitys_name_colour_and_language() -> None:
    manifest = build_manifest(tenant(name="Gemeinde Beispieldorf", color="#2e6b30", slug="beispieldorf"))
    assert manifest["name"] == "Gemeinde Beispieldorf"
    assert manifest["short_name"] == "Beispieldorf"
    assert manifest["theme_color"] == "#2e6b30" and manifest["background_color"] == "#ffffff"
    assert manifest["lang"] == "de"
    assert manifest["start_url"] == "/?source=pwa" and manifest["scope"] == "/" and manifest["id"] == "/"
    assert manifest["display"] == "standalone"


def test_manifest_lists_any_and_maskable_icons_with_a_version() -> None:
    t = tenant()
    icons = build_manifest(t)["icons"]
    assert [(i["sizes"], i["purpose"], i["type"]) for i in icons] == [
        ("192x192", "any", "image/png"),
        ("512x512", "any", "image/png"),
        ("512x512", "maskable", "image/png"),
    ]
    assert all(i["src"].endswith("?v=" + branding_version(t)) for i in icons)


@pytest.mark.parametrize(
    ("name", "slug", "expected"),
    [
        ("Stadt Musterstadt", "musterstadt", "Musterstadt"),
        ("Gemeinde Beispieldorf", "beispieldorf", "Beispieldorf"),
        ("Samtgemeinde Harsefeld", "harsefeld", "Harsefeld"),
        ("Markt Indersdorf", "indersdorf", "Indersdorf"),
        ("Frankfurt am Main", "frankfurt", "Frankfurt"),
        ("Bad Homburg vor der Höhe", "bad-homburg", "Bad Homburg"),
        ("Rheda-Wiedenbrück", "rheda-wiedenbrueck", "Rheda-Wiede…"),
        ("Gemeinde Oberschleißheimerstadtteil", "osh", "Osh"),
    ],
)
def test_short_name_is_the_distinctive_part_in_at_most_12_characters(name: str, slug: str, expected: str) -> None:
    assert short_name(name, slug) == expected
    assert len(expected) <= 12


@pytest.mark.parametrize(
    ("name", "slug", "expected"),
    [
        ("Stadt Musterstadt", "musterstadt", "M"),
        ("Gemeinde Beispieldorf", "beispieldorf", "B"),
        ("Bad Homburg vor der Höhe", "bad-homburg", "BH"),
        ("Frankfurt am Main", "frankfurt", "F"),
        ("Stadt Überlingen", "ueberlingen", "U"),  # the bundled font draws ASCII only
        ("Gemeinde t0123", "t0123", "T"),
    ],
)
def test_monogram_skips_generic_words(name: str, slug: str, expected: str) -> None:
    assert monogram(name, slug) == expected


def _png(data: bytes) -> Image.Image:
    img = Image.open(io.BytesIO(data))
    assert img.format == "PNG"
    return img


@pytest.mark.parametrize("variant", sorted(ICONS))
def test_icons_are_small_pngs_of_their_size(variant: str) -> None:
    spec = ICONS[variant]
    data = render_icon("Stadt Musterstadt", "musterstadt", "#1d4f91", spec.size, spec.purpose)
    img = _png(data)
    assert img.size == (spec.size, spec.size)
    assert len(data) < 4096, f"{variant} is {len(data)} bytes"


def _glyph_box(img: Image.Image, background: str) -> tuple[int, int, int, int]:
    rgb = img.convert("RGB")
    diff = ImageChops.difference(rgb, Image.new("RGB", rgb.size, background))
    box = diff.convert("L").point(lambda v: 255 if v > 24 else 0).getbbox()
    assert box is not None, "the icon shows nothing but its background"
    return box


@pytest.mark.parametrize("name", ["Stadt Musterstadt", "Bad Homburg", "Gemeinde Wümmelmann"])
def test_maskable_icon_keeps_the_glyph_in_the_inner_80_percent(name: str) -> None:
    size = 512
    img = _png(render_icon(name, "x", "#1d4f91", size, "maskable"))
    left, top, right, bottom = _glyph_box(img, "#1d4f91")
    inner = (size * 0.1, size * 0.1, size * 0.9, size * 0.9)
    assert inner[0] <= left and inner[1] <= top and right <= inner[2] and bottom <= inner[3], (left, top, right, bottom)
    # Even the circle a launcher may cut (radius 40 % of the side) leaves every corner of the glyph whole.
    for x, y in ((left, top), (right, top), (left, bottom), (right, bottom)):
        assert ((x - size / 2) ** 2 + (y - size / 2) ** 2) ** 0.5 <= size * 0.4


def test_glyph_contrasts_with_the_primary_colour() -> None:
    dark = _png(render_icon("Stadt Musterstadt", "m", "#1d4f91", 192, "any")).convert("RGB")
    light = _png(render_icon("Stadt Musterstadt", "m", "#ffd700", 192, "any")).convert("RGB")
    assert (255, 255, 255) in {c for _, c in dark.getcolors(256) or []}
    assert (0, 0, 0) in {c for _, c in light.getcolors(256) or []}


def test_icon_changes_with_the_primary_colour_and_the_version_with_it() -> None:
    blue, green = tenant(color="#1d4f91"), tenant(color="#2e6b30")
    cache = IconCache()
    assert cache.get(blue, "192.png").body != cache.get(green, "192.png").body
    assert cache.get(blue, "192.png").etag != cache.get(green, "192.png").etag
    assert branding_version(blue) != branding_version(green)
    assert branding_version(blue) != branding_version(tenant(name="Stadt Andersstadt"))


def test_cache_hit_returns_the_same_bytes_without_drawing_again(monkeypatch: pytest.MonkeyPatch) -> None:
    cache = IconCache()
    first = cache.get(tenant(), "512.png")

    def fail(*args: object, **kwargs: object) -> bytes:
        raise AssertionError("drawn again")

    monkeypatch.setattr("backend.tenants.manifest.render_icon", fail)
    assert cache.get(tenant(), "512.png") is first


def test_disk_cache_serves_another_process(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first = IconCache(folder=tmp_path).get(tenant(), "maskable-512.png")
    monkeypatch.setattr("backend.tenants.manifest.render_icon", lambda *a, **k: b"drawn again")
    assert IconCache(folder=tmp_path).get(tenant(), "maskable-512.png").body == first.body


def test_a_logo_replaces_the_monogram_centred_on_the_primary_colour() -> None:
    buf = io.BytesIO()
    Image.new("RGB", (300, 100), (200, 30, 30)).save(buf, format="PNG")
    img = _png(render_icon("Stadt Musterstadt", "m", "#1d4f91", 192, "any", logo=buf.getvalue())).convert("RGB")
    centre = img.getpixel((96, 96))
    assert isinstance(centre, tuple) and centre[0] > 150 and img.getpixel((2, 2)) == (0x1D, 0x4F, 0x91)


def test_a_maskable_logo_icon_keeps_the_logo_inside_the_safe_circle() -> None:
    buf = io.BytesIO()
    Image.new("RGB", (400, 400), (200, 30, 30)).save(buf, format="PNG")
    size = 512
    img = _png(render_icon("Stadt M", "m", "#1d4f91", size, "maskable", logo=buf.getvalue())).convert("RGB")
    for x in range(0, size, 8):
        for y in range(0, size, 8):
            if img.getpixel((x, y)) != (0x1D, 0x4F, 0x91):
                assert ((x - size / 2) ** 2 + (y - size / 2) ** 2) ** 0.5 <= size * 0.4
    broken = render_icon("Stadt Musterstadt", "m", "#1d4f91", 192, "any", logo=b"not an image")
    assert _png(broken).convert("RGB").getpixel((2, 2)) == (0x1D, 0x4F, 0x91)


def test_service_worker_version_follows_the_files_and_the_branding(tmp_path: Path) -> None:
    template = 'const VERSION = "__VERSION__";\nconst SHELL = __SHELL__;'
    asset = tmp_path / "app.js"
    asset.write_text("one")
    shell = shell_entries(tenant(), tmp_path)
    source = service_worker_source(template, tenant(), [asset], shell)
    assert "__" not in source and '["/offline", ""]' in source
    assert source == service_worker_source(template, tenant(), [asset], shell)
    asset.write_text("two!")  # a deploy
    assert source != service_worker_source(template, tenant(), [asset], shell)
    asset.write_text("one")
    assert source != service_worker_source(template, tenant(color="#000000"), [asset], shell), "a new colour"
