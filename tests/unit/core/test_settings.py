"""Settings come from RATHAUS_* variables; production refuses unsafe ones; the README documents them all."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from backend.settings import DEFAULT_SECRET_KEY, SETTINGS, Settings, SettingsError

ROOT = Path(__file__).resolve().parents[3]


def test_production_refuses_missing_or_default_secret_key() -> None:
    with pytest.raises(SettingsError, match="RATHAUS_SECRET_KEY"):
        Settings.from_env({}).check_production()
    with pytest.raises(SettingsError, match="RATHAUS_SECRET_KEY"):
        Settings.from_env({"RATHAUS_SECRET_KEY": DEFAULT_SECRET_KEY}).check_production()
    Settings.from_env({"RATHAUS_SECRET_KEY": "x" * 40}).check_production()
    Settings.from_env({"RATHAUS_ENV": "development"}).check_production()


def test_values_are_read_and_derived() -> None:
    s = Settings.from_env(
        {
            "RATHAUS_DATA_DIR": "/srv/rathaus",
            "RATHAUS_BASE_DOMAIN": "Rathaus.Example.",
            "RATHAUS_PORT": "9000",
        }
    )
    assert s.database_url == "sqlite+aiosqlite:////srv/rathaus/rathaus.db"
    assert s.base_domain == "rathaus.example" and s.port == 9000
    assert s.https is True, "production defaults to secure cookies"
    assert Settings.from_env({"RATHAUS_ENV": "development"}).https is False


def test_bad_values_give_a_clear_error() -> None:
    with pytest.raises(SettingsError):
        Settings.from_env({"RATHAUS_PORT": "eighty"})
    with pytest.raises(SettingsError):
        Settings.from_env({"RATHAUS_ENV": "staging"})
    with pytest.raises(SettingsError, match="RATHAUS_GZIP_LEVEL"):
        Settings.from_env({"RATHAUS_GZIP_LEVEL": "10"})
    assert Settings.from_env({}).gzip_level == 6
    assert Settings.from_env({"RATHAUS_GZIP_LEVEL": "0"}).gzip_level == 0


def test_readme_settings_table_lists_every_variable() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    documented = set(re.findall(r"^\|\s*`(RATHAUS_[A-Z0-9_]+)`", readme, re.M))
    assert documented == {s.name for s in SETTINGS}


def test_only_settings_reads_the_environment() -> None:
    offenders = [
        str(p.relative_to(ROOT))
        for p in (ROOT / "backend").rglob("*.py")
        if p.name != "settings.py" and re.search(r"os\.environ|os\.getenv", p.read_text(encoding="utf-8"))
    ]
    assert offenders == []
