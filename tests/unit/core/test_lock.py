"""The lock files (tools/lock.sh) pin everything pyproject.toml asks for, with hashes, and are what the
Dockerfile and the test command install: a dependency added to pyproject.toml without locking it fails here."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[3]
PIN = re.compile(r"^([A-Za-z0-9_.-]+)==([^\s\\]+)")


def pins(name: str) -> dict[str, tuple[str, int]]:
    """Package -> (version, number of hashes) of requirements/<name>.txt."""
    found: dict[str, tuple[str, int]] = {}
    current = None
    for line in (ROOT / "requirements" / f"{name}.txt").read_text("utf-8").splitlines():
        if match := PIN.match(line):
            current = canonicalize_name(match.group(1))
            found[current] = (match.group(2), 0)
        elif "--hash=sha256:" in line and current:
            version, hashes = found[current]
            found[current] = (version, hashes + 1)
    return found


def wanted(*extras: str) -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["project"]
    listed = list(project["dependencies"])
    for extra in extras:
        listed += project["optional-dependencies"][extra]
    return [Requirement(r) for r in listed]


def test_every_dependency_is_pinned_with_hashes_and_fits_pyproject() -> None:
    for lock, extras in (("app", ("redis",)), ("test", ("test", "redis"))):
        pinned = pins(lock)
        assert pinned and all(hashes for _, hashes in pinned.values()), f"{lock}: a pin without a hash"
        for requirement in wanted(*extras):
            name = canonicalize_name(requirement.name)
            assert name in pinned, f"{requirement} is not in requirements/{lock}.txt: run `bash tools/lock.sh`"
            version = pinned[name][0]
            assert requirement.specifier.contains(version, prereleases=True), (
                f"requirements/{lock}.txt pins {name}=={version}, pyproject.toml asks {requirement}: "
                "run `bash tools/lock.sh`"
            )


def test_the_tests_run_the_releases_production_runs() -> None:
    app, test = pins("app"), pins("test")
    assert {n: v for n, (v, _) in app.items()} == {n: test[n][0] for n in app}


def test_the_image_and_the_test_command_install_from_the_locks_with_hashes() -> None:
    docker = (ROOT / "Dockerfile").read_text("utf-8")
    assert "COPY requirements/app.txt" in docker and "--require-hashes -r requirements.txt" in docker
    venv = (ROOT / "tools" / "venv.sh").read_text("utf-8")
    assert '--require-hashes -r "$lock"' in venv and "--no-deps -e ." in venv
