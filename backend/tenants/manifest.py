"""A municipality as an installable app: its web app manifest, its icons and its service worker script."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import re
import threading
import unicodedata
import uuid
from collections import OrderedDict
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw, ImageFont, ImageOps

from backend.core.tenancy import TenantContext
from backend.tenants.branding import readable_on, theme_css

# Bump when the drawing below changes, so every client refetches its icons.
ICON_STYLE = "2"
SHORT_NAME_MAX = 12
# What an admin may type as the short name: launchers cut off after about 12–15 characters.
SHORT_NAME_LIMIT = 15
BACKGROUND = "#ffffff"

# Words that say what kind of municipality it is rather than which one.
GENERIC_WORDS = frozenset(
    [
        "stadt", "gemeinde", "markt", "samtgemeinde", "verbandsgemeinde", "ortsgemeinde", "einheitsgemeinde",
        "marktgemeinde", "landgemeinde", "hansestadt", "kreisstadt", "große", "grosse", "landkreis", "kreis",
        "amt", "bezirk", "stadtverwaltung", "gemeindeverwaltung", "verwaltungsgemeinschaft", "flecken",
        "city", "town", "municipality", "village",
    ]
)  # fmt: skip
# Words a short name must not end with ("Frankfurt am" → "Frankfurt").
TRAILING_STOP_WORDS = frozenset(
    ["am", "an", "auf", "bei", "der", "die", "das", "im", "in", "ob", "vor", "und",
     "a.", "i.", "v.", "d.", "a.d.", "i.d.", "of", "on", "upon"]
)  # fmt: skip


@dataclass(frozen=True)
class IconVariant:
    size: int
    purpose: str  # "any" | "maskable" | "badge"


# URL name → what to draw. "badge" is the monochrome glyph Android shows in the status bar.
ICONS: dict[str, IconVariant] = {
    "192.png": IconVariant(192, "any"),
    "512.png": IconVariant(512, "any"),
    "maskable-512.png": IconVariant(512, "maskable"),
    "badge-96.png": IconVariant(96, "badge"),
}


# --- names --------------------------------------------------------------------------------------


def _significant_words(name: str) -> list[str]:
    words = name.split()
    kept = [w for w in words if w.lower().strip(".,") not in GENERIC_WORDS]
    return kept or words


def short_name(name: str, slug: str) -> str:
    """At most 12 characters for the home screen: "Stadt Musterstadt" → "Musterstadt"."""
    words = _significant_words(name)
    for end in range(len(words), 0, -1):
        head = words[:end]
        while len(head) > 1 and head[-1].lower() in TRAILING_STOP_WORDS:
            head = head[:-1]
        candidate = " ".join(head)
        if len(candidate) <= SHORT_NAME_MAX:
            return candidate
    pretty_slug = slug.replace("-", " ").title()
    if pretty_slug and len(pretty_slug) <= SHORT_NAME_MAX:
        return pretty_slug
    return words[0][: SHORT_NAME_MAX - 1] + "…" if words else slug[:SHORT_NAME_MAX]


def home_screen_name(tenant: TenantContext) -> str:
    """The name under the app's icon: the admin's short name, else one derived from the name."""
    return tenant.short_name or short_name(tenant.name, tenant.slug)


def _ascii_letter(word: str) -> str:
    """The word's first letter as the bundled font can draw it (it only has ASCII): "Überlingen" → "U"."""
    for ch in unicodedata.normalize("NFKD", word):
        if ch.isascii() and ch.isalnum():
            return ch.upper()
        if ch.isalnum():  # a letter without an ASCII base, such as "Ł": look no further in this word
            return ""
    return ""


def monogram(name: str, slug: str) -> str:
    """The initials of the name before any "am", "an der" …, at most two: "Musterstadt" → "M",
    "Bad Homburg vor der Höhe" → "BH", "Frankfurt am Main" → "F"; the slug's first letter as a fallback."""
    words: list[str] = []
    for w in _significant_words(name):
        if w.lower() in TRAILING_STOP_WORDS:
            break
        words.append(w)
    letters = "".join(_ascii_letter(w) for w in words[:2] if w[:1].isupper())
    return letters or _ascii_letter(slug) or "R"


# --- versions -----------------------------------------------------------------------------------


def branding_version(tenant: TenantContext, logo: bytes | None = None) -> str:
    """Changes whenever anything drawn on the icons changes; part of every icon URL."""
    # The logo's storage key is new for every upload, so a new logo gives new icon URLs.
    h = hashlib.sha256(
        f"{ICON_STYLE}|{tenant.name}|{tenant.slug}|{tenant.primary_color.lower()}|{tenant.logo_key}".encode()
    )
    if logo:
        h.update(hashlib.sha256(logo).digest())
    return h.hexdigest()[:10]


def icon_url(tenant: TenantContext, name: str) -> str:
    return f"/icons/{name}?v={branding_version(tenant)}"


def theme_url(tenant: TenantContext) -> str:
    """The theme stylesheet exactly as base.html links it (the service worker caches that URL)."""
    return f"/theme.css?v={tenant.primary_color.replace('#', '')}{tenant.accent_color.replace('#', '')}"


def etag_for(body: bytes) -> str:
    return '"' + hashlib.sha256(body).hexdigest()[:20] + '"'


# --- the manifest -------------------------------------------------------------------------------


def build_manifest(tenant: TenantContext) -> dict[str, Any]:
    return {
        "id": "/",
        "name": tenant.name,
        "short_name": home_screen_name(tenant),
        "start_url": "/?source=pwa",
        "scope": "/",
        "display": "standalone",
        "theme_color": tenant.primary_color,
        "background_color": BACKGROUND,
        "lang": tenant.default_language_or_platform,
        "dir": "ltr",
        "icons": [
            {"src": icon_url(tenant, "192.png"), "sizes": "192x192", "type": "image/png", "purpose": "any"},
            {"src": icon_url(tenant, "512.png"), "sizes": "512x512", "type": "image/png", "purpose": "any"},
            {
                "src": icon_url(tenant, "maskable-512.png"),
                "sizes": "512x512",
                "type": "image/png",
                "purpose": "maskable",
            },
        ],
    }


def manifest_json(tenant: TenantContext) -> bytes:
    return json.dumps(build_manifest(tenant), ensure_ascii=False, separators=(",", ":")).encode()


# --- icons --------------------------------------------------------------------------------------


def _rgb(hex_color: str) -> tuple[int, int, int]:
    h = hex_color.lstrip("#")
    return int(h[0:2], 16), int(h[2:4], 16), int(h[4:6], 16)


def _glyph_mask(text: str, box_w: int, box_h: int) -> Image.Image:
    """The text as an 8-bit mask cropped to its ink, as large as fits in box_w × box_h."""

    def render(size: int) -> Image.Image:
        font = ImageFont.load_default(size=size)
        stroke = max(1, round(size * 0.035))  # the bundled font is a regular weight: draw it bolder
        left, top, right, bottom = (int(v) for v in font.getbbox(text, stroke_width=stroke))
        canvas = Image.new("L", (right - left + 4 * stroke, bottom - top + 4 * stroke), 0)
        ImageDraw.Draw(canvas).text(
            (2 * stroke - left, 2 * stroke - top), text, font=font, fill=255, stroke_width=stroke, stroke_fill=255
        )
        ink = canvas.getbbox()
        return canvas.crop(ink) if ink else canvas

    probe = render(200)
    scale = min(box_w / probe.width, box_h / probe.height)
    mask = render(max(8, int(200 * scale)))
    if mask.width > box_w or mask.height > box_h:  # rounding: shrink the last few pixels
        mask = mask.resize((min(mask.width, box_w), min(mask.height, box_h)), Image.Resampling.LANCZOS)
    return mask


def _logo_image(logo: bytes, box: int) -> Image.Image | None:
    try:
        with Image.open(io.BytesIO(logo)) as raw:
            img = ImageOps.exif_transpose(raw).convert("RGBA")
    except (OSError, ValueError, Image.DecompressionBombError):
        return None
    img.thumbnail((box, box), Image.Resampling.LANCZOS)
    return img


def render_icon(
    name: str, slug: str, primary_color: str, size: int, purpose: str = "any", logo: bytes | None = None
) -> bytes:
    """A square PNG: the logo if there is one, else a monogram, on the primary colour.

    A maskable icon keeps everything inside the inner 80 % (the circle a launcher may crop to), a badge is
    the glyph alone in white on transparent (the system colours it).
    """
    if purpose == "badge":
        mask = _glyph_mask(monogram(name, slug), int(size * 0.8), int(size * 0.8))
        img = Image.new("RGBA", (size, size), (255, 255, 255, 0))
        img.paste((255, 255, 255, 255), ((size - mask.width) // 2, (size - mask.height) // 2), mask)
        return _png(img.quantize(colors=16, method=Image.Quantize.FASTOCTREE, dither=Image.Dither.NONE), None)
    # Fractions of the side the drawing may use: any → generous; maskable → within the safe circle.
    # A square logo of 0.56 reaches 0.396 from the centre at its corners: inside the maskable safe circle.
    logo_box, glyph_w, glyph_h = (0.72, 0.64, 0.5) if purpose == "any" else (0.56, 0.5, 0.36)
    logo_img = _logo_image(logo, int(size * logo_box)) if logo else None
    if logo_img is not None:
        img = Image.new("RGB", (size, size), _rgb(primary_color))
        img.paste(logo_img, ((size - logo_img.width) // 2, (size - logo_img.height) // 2), logo_img)
        return _png(img, colors=64)
    img = Image.new("RGB", (size, size), _rgb(primary_color))
    mask = _glyph_mask(monogram(name, slug), int(size * glyph_w), int(size * glyph_h))
    img.paste(_rgb(readable_on(primary_color)), ((size - mask.width) // 2, (size - mask.height) // 2), mask)
    return _png(img, colors=16)


PLATFORM_NAME = "Rathaus"
PLATFORM_COLOR = "#1d4f91"  # the default look's --brand


@lru_cache(maxsize=1)
def platform_favicon() -> bytes:
    """/favicon.ico: the platform's own monogram, the same on every host (browsers ask for it unprompted)."""
    big = Image.open(io.BytesIO(render_icon(PLATFORM_NAME, "rathaus", PLATFORM_COLOR, 48))).convert("RGBA")
    buf = io.BytesIO()
    big.save(buf, format="ICO", sizes=[(16, 16), (32, 32), (48, 48)])
    return buf.getvalue()


def _png(img: Image.Image, colors: int | None) -> bytes:
    """Lean PNGs: two colours and their anti-aliasing need no more than a small palette."""
    if colors and img.mode != "P":
        img = img.quantize(colors=colors, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    buf = io.BytesIO()
    img.save(buf, format="PNG", optimize=True)
    return buf.getvalue()


@dataclass(frozen=True)
class Icon:
    body: bytes
    etag: str


class IconCache:
    """Rendered icons in memory (and on disk, so other processes and restarts start warm).

    Keyed by everything drawn on them, so a branding change simply produces a new entry.
    """

    def __init__(self, folder: Path | None = None, limit: int = 512) -> None:
        self.folder = folder
        self.limit = limit
        self._entries: OrderedDict[tuple[Any, ...], Icon] = OrderedDict()
        self._lock = threading.Lock()

    def cached(self, tenant: TenantContext, variant: str) -> Icon | None:
        """The icon if it is drawn already (in memory or on disk): no logo needs loading for it."""
        version = branding_version(tenant)
        key = self._key(tenant, variant, version)
        with self._lock:
            hit = self._entries.get(key)
            if hit is not None:
                self._entries.move_to_end(key)
                return hit
        body = self._read(tenant.id, version, variant)
        return None if body is None else self._keep(key, body)

    def get(self, tenant: TenantContext, variant: str, logo: bytes | None = None) -> Icon:
        """The icon, drawn if needed: from ``logo`` (the bytes of ``tenant.logo_key``) when given."""
        spec = ICONS[variant]
        hit = self.cached(tenant, variant)
        if hit is not None:
            return hit
        version = branding_version(tenant)
        body = render_icon(tenant.name, tenant.slug, tenant.primary_color, spec.size, spec.purpose, logo)
        self._write(tenant.id, version, variant, body)
        return self._keep(self._key(tenant, variant, version), body)

    @staticmethod
    def _key(tenant: TenantContext, variant: str, version: str) -> tuple[Any, ...]:
        return (tenant.id, tenant.primary_color.lower(), tenant.name, variant, version)

    def _keep(self, key: tuple[Any, ...], body: bytes) -> Icon:
        icon = Icon(body, etag_for(body))
        with self._lock:
            self._entries[key] = icon
            while len(self._entries) > self.limit:
                self._entries.popitem(last=False)
        return icon

    def _path(self, tenant_id: uuid.UUID, version: str, variant: str) -> Path | None:
        return self.folder / f"{tenant_id}-{version}-{variant}" if self.folder else None

    def _read(self, tenant_id: uuid.UUID, version: str, variant: str) -> bytes | None:
        path = self._path(tenant_id, version, variant)
        try:
            return path.read_bytes() if path else None
        except OSError:
            return None

    def _write(self, tenant_id: uuid.UUID, version: str, variant: str, body: bytes) -> None:
        path = self._path(tenant_id, version, variant)
        if path is None:
            return
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}")
            tmp.write_bytes(body)
            tmp.replace(path)  # atomic: another process never reads half a file
        except OSError:
            pass  # the disk copy is an optimisation only


def icon_cache_control(requested_version: str, tenant: TenantContext) -> str:
    """Versioned URLs (from the manifest) may be kept a day; unversioned ones are checked each time."""
    if requested_version and requested_version == branding_version(tenant):
        return "public, max-age=86400"
    return "public, no-cache"


# --- the service worker -------------------------------------------------------------------------

# The app shell: what the offline page needs, besides the municipality's theme and icons.
# htmx is not part of it: it is fetched (and then cached) only when a live form is first used.
SHELL_STATIC = ("css/app.css", "js/app.js", "js/pwa.js", "js/myrequests.js")
_PLACEHOLDER = re.compile(r'"__VERSION__"|__SHELL__')


def _stamp(path: Path) -> tuple[str, int, int]:
    try:
        st = path.stat()
        return str(path), st.st_mtime_ns, st.st_size
    except OSError:
        return str(path), 0, -1


@lru_cache(maxsize=256)
def _digest(path: str, _mtime: int, _size: int) -> bytes:
    """A file's SHA-256, read again only when the file changes on disk."""
    try:
        return hashlib.sha256(Path(path).read_bytes()).digest()
    except OSError:
        return b""


def file_digest(path: Path) -> bytes:
    return _digest(*_stamp(path))


def integrity(body: bytes) -> str:
    """Subresource Integrity: lets the worker take the browser's cached copy only if it is the current one."""
    return "sha256-" + base64.b64encode(hashlib.sha256(body).digest()).decode()


def shell_files(static_dir: Path, templates_dir: Path, locales_dir: Path, worker: Path) -> list[Path]:
    """Every file whose change must replace the worker's caches: all scripts and styles (the worker also
    keeps the ones it did not precache, as pages load them), and what the offline page is rendered from."""
    return [
        worker,
        *sorted(p for p in static_dir.rglob("*") if p.suffix in (".js", ".css")),
        templates_dir / "base" / "base.html",
        templates_dir / "base" / "offline.html",
        *sorted(locales_dir.glob("*/LC_MESSAGES/messages.po")),
    ]


def shell_entries(tenant: TenantContext, static_dir: Path) -> list[tuple[str, str]]:
    """(URL, integrity) of everything the worker caches on install; no integrity: always ask the server."""
    theme = theme_css(tenant.primary_color, tenant.accent_color).encode()
    return [
        ("/offline", ""),
        *(
            (f"/static/{name}", "sha256-" + base64.b64encode(file_digest(static_dir / name)).decode())
            for name in SHELL_STATIC
        ),
        (theme_url(tenant), integrity(theme)),
        ("/icons/192.png", ""),
    ]


def service_worker_source(template: str, tenant: TenantContext, files: list[Path], shell: list[tuple[str, str]]) -> str:
    """pwa/sw.js with this municipality's cache version and shell filled in.

    The version covers the shell's files and the branding, so a deploy or a new colour replaces the cache.
    """
    h = hashlib.sha256(branding_version(tenant).encode() + json.dumps(shell).encode())
    for f in files:
        h.update(file_digest(f))
    values = {'"__VERSION__"': json.dumps(h.hexdigest()[:12]), "__SHELL__": json.dumps(shell)}
    return _PLACEHOLDER.sub(lambda m: values[m.group(0)], template)
