"""The repository holds the project, never local state: a clean clone must set itself up."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _git(*args: str) -> list[str]:
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    result = subprocess.run(
        ["git", *args], cwd=ROOT, capture_output=True, text=True, check=True
    )
    return [line for line in result.stdout.splitlines() if line]


def test_no_tracked_file_is_one_git_is_told_to_ignore() -> None:
    assert _git("ls-files", "--cached", "--ignored", "--exclude-standard") == []


@pytest.mark.parametrize("name", [".venv", "var", "rathaus.db"])
def test_local_state_is_ignored_whatever_its_kind(name: str) -> None:
    # A symlinked .venv is a file to git: an ignore rule with a trailing slash would not cover it.
    assert _git("check-ignore", "--no-index", name) == [name]
