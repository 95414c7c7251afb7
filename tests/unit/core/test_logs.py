"""Log lines are JSON with the request id; addresses and private links never get through, tracebacks included."""

from __future__ import annotations

import json
import logging
import sys

import pytest

from backend.core.logs import REQUEST_ID, JsonFormatter, redact
from backend.settings import Settings, SettingsError


def _record(msg: str, *args: object, exc: bool = False) -> logging.LogRecord:
    exc_info = None
    if exc:
        try:
            raise ValueError("no mailbox for erika.mustermann@example.de at /x/AbCdEfGh12345678/answer")
        except ValueError:
            exc_info = sys.exc_info()
    return logging.LogRecord("rathaus.test", logging.ERROR, __file__, 1, msg, args, exc_info)


def test_redact_blanks_addresses_and_private_link_tokens() -> None:
    assert redact("to anna.b+c@sub.example.org, cc x@y.de") == "to <email>, cc <email>"
    assert redact("GET /r/JtYCFYjJf6K-1HbLUyji4OP63sFp6LXU/files/1") == "GET /r/<token>/files/1"
    assert redact("/staff/invite/abcdefgh12345678 /staff/password/reset/zyxwvuts98765432") == (
        "/staff/invite/<token> /staff/password/reset/<token>"
    )
    assert redact("GET /r/{token} 200 from /staff/cases/3f0c") == "GET /r/{token} 200 from /staff/cases/3f0c"


def test_json_lines_carry_the_request_id_and_a_redacted_traceback() -> None:
    reset = REQUEST_ID.set("req-42")
    try:
        line = JsonFormatter().format(_record("sending to %s failed", "anna@example.org", exc=True))
    finally:
        REQUEST_ID.reset(reset)
    entry = json.loads(line)
    assert entry["request_id"] == "req-42"
    assert entry["level"] == "ERROR" and entry["logger"] == "rathaus.test"
    assert entry["msg"] == "sending to <email> failed"
    assert "ValueError" in entry["exc"]
    assert "@example" not in line and "AbCdEfGh12345678" not in line


def test_lines_outside_requests_have_no_request_id() -> None:
    assert "request_id" not in json.loads(JsonFormatter().format(_record("delivery round failed")))


def test_metrics_and_log_settings_are_checked() -> None:
    settings = Settings.from_env({"RATHAUS_METRICS_NETWORKS": "10.0.0.0/8, fd00::/8", "RATHAUS_LOG_FORMAT": "text"})
    assert [str(n) for n in settings.metrics_networks] == ["10.0.0.0/8", "fd00::/8"]
    assert settings.log_format == "text" and settings.metrics_token is None
    for bad in (
        {"RATHAUS_METRICS_NETWORKS": "10.0.0.0/33"},
        {"RATHAUS_METRICS_TOKEN": "short"},
        {"RATHAUS_LOG_FORMAT": "xml"},
    ):
        with pytest.raises(SettingsError):
            Settings.from_env(bad)
