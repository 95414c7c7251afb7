"""The operator's commands: create a municipality and its staff, refuse unsafe production starts."""

from __future__ import annotations

import asyncio
import secrets
import subprocess
import sys

import pytest
from litestar.testing import AsyncTestClient

from backend.__main__ import main
from backend.app import create_app
from backend.settings import Settings
from tests.helpers import login


def test_serve_refuses_to_start_in_production_without_a_secret_key(tmp_path: pytest.TempPathFactory) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "backend", "serve"],
        env={"PATH": "/usr/bin:/bin", "RATHAUS_DATA_DIR": str(tmp_path), "RATHAUS_ENV": "production"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "RATHAUS_SECRET_KEY" in result.stderr and "Traceback" not in result.stderr


def _env(monkeypatch: pytest.MonkeyPatch, settings: Settings) -> None:
    monkeypatch.setenv("RATHAUS_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("RATHAUS_DATA_DIR", str(settings.data_dir))


def test_operator_creates_a_municipality_and_staff_from_the_command_line(
    monkeypatch: pytest.MonkeyPatch, settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    _env(monkeypatch, settings)
    slug = "neustadt-" + secrets.token_hex(3)
    main(
        [
            "tenant",
            "create",
            slug,
            "Stadt Neustadt",
            "--color",
            "#7a1f5c",
            "--host",
            f"buerger.{slug}.example",
        ]
    )
    main(["staff", "add", slug, f"clerk@{slug}.example", "--password", "a-long-password", "--name", "Nina"])
    out = capsys.readouterr().out
    assert f"created {slug}" in out and f"clerk of {slug}" in out
    with pytest.raises(SystemExit, match="exists already"):
        main(["tenant", "create", slug, "Doppelt"])
    with pytest.raises(SystemExit, match="slug"):
        main(["tenant", "create", "Not A Slug", "X"])


async def test_created_municipality_is_live_and_its_clerk_can_log_in(
    monkeypatch: pytest.MonkeyPatch, settings: Settings
) -> None:
    _env(monkeypatch, settings)
    slug = "altdorf-" + secrets.token_hex(3)
    await asyncio.to_thread(main, ["tenant", "create", slug, "Gemeinde Altdorf"])
    await asyncio.to_thread(
        main, ["staff", "add", slug, f"clerk@{slug}.example", "--password", "a-long-password"]
    )
    async with AsyncTestClient(create_app(settings), base_url=f"http://{slug}.localhost") as c:
        home = await c.get("/")
        assert home.status_code == 200 and "Gemeinde Altdorf" in home.text
        assert (await login(c, f"clerk@{slug}.example", "a-long-password")).status_code == 303
