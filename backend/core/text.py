"""Cleaning of text that comes in from people: one rule for form answers, messages, reasons and log-ins.

PostgreSQL refuses NUL in text and JSONB, terminals and mail headers act on escape sequences, and
lone surrogates cannot be encoded at all, so such characters never reach storage. What stays and goes:

- line feeds and tabs stay in multi-line text (carriage returns become line feeds);
- bidirectional embeddings, overrides and isolates (U+202A–U+202E, U+2066–U+2069) go: typed Arabic or
  Hebrew text never needs them (the Unicode bidi algorithm orders it by itself), while an unclosed
  override reverses the rest of the line it is shown in, so a citizen could make a clerk read a
  reference, an amount or a file name backwards ("Trojan Source", CVE-2021-42574);
- the invisible direction marks (U+200E, U+200F, U+061C) stay: they change nothing but the placement
  of neutral characters such as punctuation next to right-to-left words.
"""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import unquote_plus

from email_validator import EmailNotValidError, validate_email
from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Receive, Scope, Send

from backend.core.errors import BadRequest

# C0 controls except tab and line feed, DEL, the C1 controls, and the bidi embeddings/overrides/isolates.
_MULTILINE_DROP = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_LINE_DROP = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_SURROGATES = re.compile("[\ud800-\udfff]")


def clean_text(value: str, *, multiline: bool = True) -> str:
    """Text as it may be stored: NFC, without control characters (multi-line text keeps newlines and
    tabs), without lone surrogates, without surrounding whitespace."""
    value = _SURROGATES.sub("", value)
    if multiline:
        value = _MULTILINE_DROP.sub("", value.replace("\r\n", "\n").replace("\r", "\n"))
    else:
        value = _LINE_DROP.sub("", value)
    return unicodedata.normalize("NFC", value).strip()


def clean_line(value: str) -> str:
    """One line of text (an e-mail address, a name): no control characters at all."""
    return clean_text(value, multiline=False)


def ascii_digits(value: str) -> str:
    """Decimal digits of any script (Arabic-Indic, Persian, Devanagari, full-width ...) as ASCII digits, everything
    else as it is: a code or a number typed on a keyboard of another script means what it says."""
    return "".join(str(unicodedata.decimal(ch)) if ch.isdecimal() and not ch.isascii() else ch for ch in value)


def whole_number(value: str, max_digits: int) -> int | None:
    """A whole number of at most ``max_digits`` digits (of any script), or None: no sign, no other character."""
    value = ascii_digits(value.strip())
    if not value or len(value) > max_digits or not (value.isascii() and value.isdigit()):
        return None
    return int(value)


def email_address(value: str) -> str:
    """A well-formed e-mail address in its normal form, or ValueError: the one check before an address is
    stored or put into a mail header. Syntax only: no DNS lookup, so it works offline and never waits."""
    try:
        return validate_email(value, check_deliverability=False).normalized
    except EmailNotValidError as exc:
        raise ValueError(str(exc)) from exc


_URL_CONTROLS = re.compile("[\x00-\x1f\x7f]")


def url_has_controls(path: str, query_string: bytes) -> bool:
    """Whether the (decoded) path or the query holds a control character, raw or %-encoded."""
    return bool(_URL_CONTROLS.search(path) or _URL_CONTROLS.search(unquote_plus(query_string.decode("latin-1"))))


class ControlCharacterGuard(ASGIMiddleware):
    """400 for a URL with a control character in its path or query (``/r/%00``, ``?q=%1b``).

    No page takes such characters, and PostgreSQL refuses NUL in any text it is asked to compare, so a
    tracking token, a slug or a search term with one would otherwise end in a database error.
    """

    scopes = ("http",)  # type: ignore[assignment]

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        if url_has_controls(scope.get("path", ""), scope.get("query_string", b"")):
            raise BadRequest()
        await next_app(scope, receive, send)
