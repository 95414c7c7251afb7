"""Log lines as JSON objects (one a line, for the operator's log pipeline), with the request id and no personal data.

Every record is a JSON object with ``ts``, ``level``, ``logger``, ``msg``, the ``request_id`` of the request being
served (none outside requests: the delivery worker, the sweeper) and the fields a caller passes in ``extra``
under ``fields``. What could name a person never gets this far on purpose (the access log names the route
template, never the path), and as a last guard the formatter blanks e-mail addresses and the tokens of private
links (tracking pages, forwarded cases, invitations, password resets) wherever they appear in a message or a
traceback.
"""

from __future__ import annotations

import contextvars
import datetime
import logging
import re
import sys
from typing import Any

import msgspec

# The id of the request being served; set by backend.core.metrics.RequestObserver for the request's task.
REQUEST_ID: contextvars.ContextVar[str | None] = contextvars.ContextVar("rathaus_request_id", default=None)

_EMAIL = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
# The private links' tokens: /r/<token> (tracking page and its sub-pages), /x/<token> (forwarded case),
# /staff/invite/<token>, /staff/password/reset/<token>.
_PRIVATE_LINK = re.compile(r"(/(?:r|x|staff/invite|staff/password/reset)/)[A-Za-z0-9_~.%-]{8,}")

_encoder = msgspec.json.Encoder()


def redact(text: str) -> str:
    """``text`` without e-mail addresses and without the tokens of private links."""
    if "@" in text:
        text = _EMAIL.sub("<email>", text)
    if "/" in text:
        text = _PRIVATE_LINK.sub(r"\1<token>", text)
    return text


class JsonFormatter(logging.Formatter):
    """One JSON object per record."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.datetime.fromtimestamp(record.created, datetime.UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "msg": redact(record.getMessage()),
        }
        request_id = getattr(record, "request_id", None) or REQUEST_ID.get()
        if request_id:
            entry["request_id"] = request_id
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            entry.update(fields)
        if record.exc_info:
            entry["exc"] = redact(self.formatException(record.exc_info))
        elif record.exc_text:
            entry["exc"] = redact(record.exc_text)
        return _encoder.encode(entry).decode()


class TextFormatter(logging.Formatter):
    """The plain-text form (``RATHAUS_LOG_FORMAT=text``), for people reading a terminal; redacted the same way."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        request_id = REQUEST_ID.get()
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            line += " " + " ".join(f"{k}={v}" for k, v in fields.items())
        return redact(f"{line} request_id={request_id}" if request_id else line)


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever ``sys.stderr`` is at the time (as logging's last-resort handler does)."""

    def __init__(self) -> None:
        super().__init__()

    @property  # type: ignore[override]
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, value: Any) -> None:
        pass


def configure_logging(level: str, fmt: str) -> None:
    """Send every log record (the app's, the server's, the libraries') to stderr in the chosen format.

    Idempotent: the app factory runs once per app, and tests build many apps in one process.
    """
    root = logging.getLogger()
    handler = next((h for h in root.handlers if isinstance(h, _StderrHandler)), None)
    if handler is None:
        handler = _StderrHandler()
        root.addHandler(handler)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    root.setLevel(level)
