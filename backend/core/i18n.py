"""Languages: gettext catalogues read from locales/, a municipality's own wording in front of them, the
request's language, Babel formatting."""

from __future__ import annotations

import datetime
import io
import re
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping
from contextvars import ContextVar
from functools import cache, lru_cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_date, format_datetime
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal
from babel.support import NullTranslations, Translations

SUPPORTED_LANGUAGES: tuple[str, ...] = ("de", "en")
DEFAULT_LANGUAGE = "de"
LANGUAGE_NAMES = {"de": "Deutsch", "en": "English"}
LANGUAGE_COOKIE = "rathaus_lang"

_current_language: ContextVar[str] = ContextVar("language", default=DEFAULT_LANGUAGE)
_current_timezone: ContextVar[str] = ContextVar("timezone", default="Europe/Berlin")
# The request's municipality's own wording: language -> message id -> text (see set_overrides).
Overrides = Mapping[str, Mapping[str, str]]
_NO_OVERRIDES: Overrides = {}
_current_overrides: ContextVar[Overrides] = ContextVar("overrides", default=_NO_OVERRIDES)
_locales_dir: Path | None = None


def configure(locales_dir: Path) -> None:
    global _locales_dir
    _locales_dir = locales_dir
    _translations.cache_clear()


@cache
def _translations(language: str) -> NullTranslations:
    """Catalogues are compiled in memory from the .po files, so no build step is needed."""
    if _locales_dir is None:
        return NullTranslations()
    po = _locales_dir / language / "LC_MESSAGES" / "messages.po"
    if not po.exists():
        return NullTranslations()
    with po.open("rb") as fh:
        catalog = read_po(fh, locale=language)
    buf = io.BytesIO()
    write_mo(buf, catalog)
    buf.seek(0)
    return Translations(fp=buf)


def set_language(language: str) -> None:
    _current_language.set(language if language in SUPPORTED_LANGUAGES else DEFAULT_LANGUAGE)


def get_language() -> str:
    return _current_language.get()


def set_timezone(tz: str) -> None:
    _current_timezone.set(tz)


def catalogue_text(message: str, language: str) -> str:
    """The shared catalogue's wording of ``message`` in ``language``, whatever a municipality chose."""
    return _translations(language).gettext(message)


def set_overrides(overrides: Overrides) -> None:
    """The wording a municipality chose instead of the shared catalogue's, for every language of it."""
    _current_overrides.set(overrides)


def override(message: str) -> str | None:
    """The municipality's own wording of ``message`` in the current language, if it has one.

    Plain text as the admin typed it: whoever puts it into HTML escapes it (core/templating.py does).
    """
    overrides = _current_overrides.get()
    if not overrides:
        return None
    return overrides.get(get_language(), {}).get(message)


def gettext(message: str, **variables: Any) -> str:
    text = override(message) or _translations(get_language()).gettext(message)
    return text % variables if variables else text


def ngettext(singular: str, plural: str, n: int, **variables: Any) -> str:
    text = _translations(get_language()).ngettext(singular, plural, n)
    variables.setdefault("num", n)
    return text % variables


_ = gettext


def template_gettext(message: str) -> str:
    """For Jinja's newstyle gettext, which fills in the variables itself."""
    return _translations(get_language()).gettext(message)


def template_ngettext(singular: str, plural: str, n: int) -> str:
    return _translations(get_language()).ngettext(singular, plural, n)


# Read left to right: "%%" (a literal percent sign), a named placeholder as the catalogue writes them
# ("%(name)s", "%(count)d"), or a percent sign that is neither.
_PERCENT = re.compile(r"%%|%\((?P<name>\w+)\)[#0 +-]*\d*(?:\.\d+)?[diouxXeEfFgGcrsa]|%")


def placeholders(text: str) -> list[str]:
    """The named placeholders of a text, sorted, each as written (``%(name)s``)."""
    return sorted(m.group(0) for m in _PERCENT.finditer(text) if m.group("name"))


def placeholder_problem(original: str, replacement: str) -> str | None:
    """Why ``replacement`` cannot stand in for the text ``original`` (None when it can).

    Both must have the same placeholders, and the replacement must fill in like the original does:
    templates always fill in placeholders, so a lone percent sign has to be written as %%.
    """
    wanted, found = placeholders(original), placeholders(replacement)
    if wanted != found:
        missing = sorted(set(wanted) - set(found))
        extra = sorted(set(found) - set(wanted))
        parts = []
        if missing:
            parts.append(gettext("missing: %(list)s", list=", ".join(missing)))
        if extra:
            parts.append(gettext("not allowed: %(list)s", list=", ".join(extra)))
        if not parts:
            parts.append(gettext("each one exactly as often as in the original"))
        return gettext(
            "Please keep the placeholders of the original text exactly: %(expected)s (%(details)s).",
            expected=", ".join(wanted) or gettext("none"),
            details="; ".join(parts),
        )
    if any(m.group(0) == "%" for m in _PERCENT.finditer(replacement)):
        return gettext("A single percent sign must be written as %(double)s here.", double="%%")
    return None


class OverrideCache:
    """Each municipality's own wording, loaded once and kept for a short time.

    Saving a text empties the entry at once on this instance (``invalidate``); other instances load it again
    within ``ttl`` seconds, as they do a changed name or colour (core/tenancy.py's HostCache).
    """

    def __init__(self, loader: Callable[[uuid.UUID], Awaitable[Overrides]], ttl: float = 30.0) -> None:
        self._loader = loader
        self._ttl = ttl
        self._entries: dict[uuid.UUID, tuple[float, Overrides]] = {}

    async def get(self, tenant_id: uuid.UUID) -> Overrides:
        now = time.monotonic()
        hit = self._entries.get(tenant_id)
        if hit and hit[0] > now:
            return hit[1]
        overrides = await self._loader(tenant_id)
        if len(self._entries) > 10_000:
            self._entries.clear()
        self._entries[tenant_id] = (now + self._ttl, overrides)
        return overrides

    def invalidate(self, tenant_id: uuid.UUID) -> None:
        self._entries.pop(tenant_id, None)

    def clear(self) -> None:
        self._entries.clear()


def lazy(message: str) -> str:
    """Marks a string for extraction where it is defined; it is translated where it is shown."""
    return message


def pick_language(
    query: str | None, cookie: str | None, accept_language: str | None, allowed: list[str], default: str
) -> str:
    allowed = [lang for lang in allowed if lang in SUPPORTED_LANGUAGES] or [DEFAULT_LANGUAGE]
    for candidate in (query, cookie):
        if candidate in allowed:
            return candidate  # type: ignore[return-value]
    if accept_language:
        weighted: list[tuple[float, str]] = []
        for part in accept_language.split(","):
            bits = part.strip().split(";")
            tag = bits[0].strip().lower().split("-")[0]
            q = 1.0
            for b in bits[1:]:
                if b.strip().startswith("q="):
                    try:
                        q = float(b.strip()[2:])
                    except ValueError:
                        q = 0.0
            weighted.append((q, tag))
        for _q, tag in sorted(weighted, key=lambda t: -t[0]):
            if tag in allowed and _q > 0:
                return tag
    return default if default in allowed else allowed[0]


def translate_text(texts: dict[str, str] | None, fallback: str = DEFAULT_LANGUAGE) -> str:
    """Pick the current language's version of a text stored per language (service names, labels)."""
    if not texts:
        return ""
    lang = get_language()
    return texts.get(lang) or texts.get(fallback) or next(iter(texts.values()), "")


# Formatting with Babel is slow compared to rendering the rest of a page, and a page shows the same few
# dates again and again (a case's timeline): the results, pure functions of their arguments, are kept.
_FORMAT_CACHE_SIZE = 4096


def fmt_datetime(value: datetime.datetime | None) -> str:
    if value is None:
        return ""
    return _format_datetime(value, get_language(), _current_timezone.get())


@lru_cache(maxsize=_FORMAT_CACHE_SIZE)
def _format_datetime(value: datetime.datetime, language: str, timezone: str) -> str:
    return format_datetime(value, format="medium", tzinfo=_zone(timezone), locale=_locale(language))


def fmt_date(value: datetime.date | datetime.datetime | str | None) -> str:
    if value is None or value == "":
        return ""
    return _format_date(type(value).__name__, value, get_language(), _current_timezone.get())


@lru_cache(maxsize=_FORMAT_CACHE_SIZE)
def _format_date(_kind: str, value: datetime.date | datetime.datetime | str, language: str, timezone: str) -> str:
    day: datetime.date
    if isinstance(value, str):
        try:
            day = datetime.date.fromisoformat(value)
        except ValueError:
            return value
    elif isinstance(value, datetime.datetime):
        day = value.astimezone(_zone(timezone)).date()
    else:
        day = value
    return format_date(day, format="long", locale=_locale(language))


def fmt_number(value: float | int | None) -> str:
    if value is None:
        return ""
    return _format_number(type(value).__name__, value, get_language())


@lru_cache(maxsize=_FORMAT_CACHE_SIZE)
def _format_number(_kind: str, value: float | int, language: str) -> str:
    # The type is part of the key: 1, 1.0 and True are equal as keys but need not format alike.
    return format_decimal(value, locale=_locale(language))


def fmt_position(lat: float | str | None, lon: float | str | None) -> str:
    """A position with the language's decimal sign and compass letters: "52,52° N, 13,405° O".

    Two bare numbers would be ambiguous in German, where the comma is also the decimal sign.
    """
    point = _point(lat, lon)
    if point is None:
        return ""
    la, lo = point
    degrees_lat = _format_degrees(abs(la), get_language())
    degrees_lon = _format_degrees(abs(lo), get_language())
    north_south = (
        gettext("%(degrees)s° N", degrees=degrees_lat) if la >= 0 else gettext("%(degrees)s° S", degrees=degrees_lat)
    )
    east_west = (
        gettext("%(degrees)s° E", degrees=degrees_lon) if lo >= 0 else gettext("%(degrees)s° W", degrees=degrees_lon)
    )
    return f"{north_south}, {east_west}"


def _point(lat: float | str | None, lon: float | str | None) -> tuple[float, float] | None:
    try:
        la, lo = float(lat), float(lon)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    if not (-90 <= la <= 90 and -180 <= lo <= 180):  # also false for NaN
        return None
    return la, lo


@lru_cache(maxsize=_FORMAT_CACHE_SIZE)
def _format_degrees(value: float, language: str) -> str:
    return format_decimal(round(value, 6), format="0.######", locale=_locale(language))


def map_url(lat: float | str | None, lon: float | str | None) -> str:
    """The position on openstreetmap.org (a plain link: nothing is loaded from there until it is followed)."""
    point = _point(lat, lon)
    if point is None:
        return ""
    la, lo = (f"{v:.6f}".rstrip("0").rstrip(".") for v in point)
    return f"https://www.openstreetmap.org/?mlat={la}&mlon={lo}#map=18/{la}/{lo}"


@cache
def _locale(language: str) -> Locale:
    """Babel's Locale.parse is slow and its result immutable: one per supported language is enough."""
    return Locale.parse(language)


@lru_cache(maxsize=64)
def _zone(name: str) -> datetime.tzinfo:
    return ZoneInfo(name)
