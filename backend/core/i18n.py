"""Languages: gettext catalogues read from locales/, the request's language, Babel formatting."""

from __future__ import annotations

import datetime
import io
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


def gettext(message: str, **variables: Any) -> str:
    text = _translations(get_language()).gettext(message)
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


@cache
def _locale(language: str) -> Locale:
    """Babel's Locale.parse is slow and its result immutable: one per supported language is enough."""
    return Locale.parse(language)


@lru_cache(maxsize=64)
def _zone(name: str) -> datetime.tzinfo:
    return ZoneInfo(name)
