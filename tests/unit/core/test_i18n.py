"""Language choice: the switch (cookie) wins, then Accept-Language, then the municipality's default."""

from __future__ import annotations

from backend.core.i18n import pick_language
from backend.core.tenancy import split_host


def test_cookie_beats_accept_language() -> None:
    assert pick_language(None, "en", "de-DE,de;q=0.9", ["de", "en"], "de") == "en"


def test_accept_language_by_weight() -> None:
    assert pick_language(None, None, "fr;q=1, en;q=0.8, de;q=0.5", ["de", "en"], "de") == "en"
    assert pick_language(None, None, "en;q=0, de", ["de", "en"], "de") == "de"


def test_default_when_nothing_fits() -> None:
    assert pick_language(None, "tlh", "fr", ["de", "en"], "de") == "de"
    assert pick_language(None, None, None, ["en"], "de") == "en"


def test_host_without_port() -> None:
    assert split_host("Musterstadt.LOCALHOST:8000") == "musterstadt.localhost"
    assert split_host("[::1]:8000") == "[::1]"
