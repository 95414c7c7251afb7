"""Building the database configuration many times in one process keeps working (every app builds one)."""

from __future__ import annotations

from pathlib import Path

from backend.core.db import alchemy_config
from backend.settings import Settings


def test_thousands_of_configs_in_one_process_get_distinct_keys(tmp_path: Path) -> None:
    settings = Settings(env="development", database_url=f"sqlite+aiosqlite:///{tmp_path / 'x.db'}", data_dir=tmp_path)
    keys = {alchemy_config(settings).session_scope_key for _ in range(3000)}
    assert len(keys) == 3000
