"""`rathaus backup` / `rathaus restore` for the embedded deployment: the SQLite database and the uploads in one
archive, made while the app serves, and put back whole into another data folder."""

from __future__ import annotations

import asyncio
import io
import json
import os
import sqlite3
import subprocess
import sys
import tarfile
from dataclasses import replace
from pathlib import Path

import pytest

from backend.core.backup import BackupError, backup, restore
from backend.core.migrate import upgrade
from backend.settings import Settings
from tests.factories import TenantFixture
from tests.helpers import Client, submit_case

ROOT = Path(__file__).resolve().parents[3]


def elsewhere(settings: Settings, folder: Path) -> Settings:
    return replace(settings, data_dir=folder, database_url=f"sqlite+aiosqlite:///{folder / 'rathaus.db'}")


def files_of(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


@pytest.fixture
def sqlite_only(settings: Settings) -> None:
    if not settings.is_sqlite:
        pytest.skip("backup and restore are the embedded SQLite deployment's")


@pytest.mark.usefixtures("sqlite_only")
async def test_a_backup_made_while_serving_restores_the_requests_and_their_photos_elsewhere(
    client: Client, tenant: TenantFixture, settings: Settings, tmp_path: Path
) -> None:
    await submit_case(client, tenant, key="backup-case-0123456789abcdef", photo=True)
    archive = tmp_path / "rathaus-backup.tar.gz"
    made = await asyncio.to_thread(backup, settings, archive)  # blocking work, as the command does it
    assert made.uploads_included and made.files >= 1 and made.revision
    with tarfile.open(archive) as tar:
        manifest = json.loads(tar.extractfile("rathaus-backup.json").read())  # type: ignore[union-attr]
    assert manifest["revision"] == made.revision and manifest["files"] == made.files

    target = elsewhere(settings, tmp_path / "restored")
    done = await asyncio.to_thread(restore, target, archive)
    assert done.files == made.files and done.revision == made.revision
    with sqlite3.connect(tmp_path / "restored" / "rathaus.db") as db:
        [(reference, key)] = db.execute(
            "SELECT c.reference, a.storage_key FROM case_file c JOIN attachment a ON a.case_id = c.id"
            " WHERE c.idempotency_key = 'backup-case-0123456789abcdef'"
        ).fetchall()
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    assert reference
    restored = files_of(target.uploads_dir)
    assert restored == {k: v for k, v in files_of(settings.uploads_dir).items() if k in restored}
    assert any(key in name or name.endswith(key) for name in restored), key


@pytest.mark.usefixtures("sqlite_only")
def test_restore_replaces_only_with_force_and_drops_the_old_write_ahead_log(settings: Settings, tmp_path: Path) -> None:
    source = elsewhere(settings, tmp_path / "source")
    upgrade(source.database_url)
    (source.uploads_dir / "t").mkdir(parents=True)
    (source.uploads_dir / "t" / "photo.jpg").write_bytes(b"a photo")
    archive = tmp_path / "b.tar.gz"
    backup(source, archive)

    target = elsewhere(settings, tmp_path / "target")
    upgrade(target.database_url)
    (target.uploads_dir / "old").mkdir(parents=True)
    (target.uploads_dir / "old" / "gone.jpg").write_bytes(b"old")
    with pytest.raises(BackupError, match="--force"):
        restore(target, archive)
    Path(f"{tmp_path / 'target' / 'rathaus.db'}-wal").write_bytes(b"stale log of the old database")
    restore(target, archive, force=True)
    assert files_of(target.uploads_dir) == {"t/photo.jpg": b"a photo"}
    wal = Path(f"{tmp_path / 'target' / 'rathaus.db'}-wal")
    assert not wal.exists() or wal.read_bytes() != b"stale log of the old database"


def _tar(path: Path, entries: dict[str, bytes]) -> Path:
    with tarfile.open(path, "w:gz") as tar:
        for name, body in entries.items():
            info = tarfile.TarInfo(name)
            info.size = len(body)
            tar.addfile(info, io.BytesIO(body))
    return path


@pytest.mark.usefixtures("sqlite_only")
def test_restore_refuses_what_is_not_a_sound_backup(settings: Settings, tmp_path: Path) -> None:
    target = elsewhere(settings, tmp_path / "target")
    manifest = json.dumps({"format": 1, "uploads": "included"}).encode()
    cases = {
        "garbage": (tmp_path / "garbage.tar.gz", "cannot be read"),
        "not ours": (_tar(tmp_path / "other.tar.gz", {"notes.txt": b"x"}), "unknown entry"),
        "no manifest": (_tar(tmp_path / "plain.tar.gz", {"rathaus.db": b"x"}), "not a Rathaus backup"),
        "escaping": (
            _tar(tmp_path / "evil.tar.gz", {"rathaus-backup.json": manifest, "uploads/../../evil": b"x"}),
            "not allowed",
        ),
        "damaged": (
            _tar(tmp_path / "bad.tar.gz", {"rathaus-backup.json": manifest, "rathaus.db": b"x" * 4096}),
            "damaged",
        ),
    }
    (tmp_path / "garbage.tar.gz").write_bytes(b"\x1f\x8b not gzip at all")
    for label, (archive, message) in cases.items():
        with pytest.raises(BackupError, match=message):
            restore(target, archive)
        assert not (tmp_path / "evil").exists(), label
    assert not (tmp_path / "target" / "rathaus.db").exists()


def test_on_postgresql_it_points_to_the_databases_own_tools(settings: Settings, tmp_path: Path) -> None:
    on_postgres = replace(settings, database_url="postgresql+asyncpg://rathaus@127.0.0.1/rathaus")
    with pytest.raises(BackupError, match="pg_dump"):
        backup(on_postgres, tmp_path / "b.tar.gz")
    with pytest.raises(BackupError, match="pg_dump"):
        restore(on_postgres, tmp_path / "b.tar.gz")


def test_the_commands(tmp_path: Path) -> None:
    """`rathaus backup <file>` and `rathaus restore <file>` as an operator runs them."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("RATHAUS_")}
    upgrade(f"sqlite+aiosqlite:///{tmp_path / 'live' / 'rathaus.db'}")
    (tmp_path / "live" / "uploads").mkdir()
    (tmp_path / "live" / "uploads" / "a.pdf").write_bytes(b"%PDF-1.4")

    def rathaus(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "backend", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
        )

    made = rathaus("backup", str(tmp_path / "nightly.tar.gz"), "--data-dir", str(tmp_path / "live"))
    assert made.returncode == 0, made.stderr
    assert "1 uploaded files" in made.stdout
    put = rathaus("restore", str(tmp_path / "nightly.tar.gz"), "--data-dir", str(tmp_path / "copy"))
    assert put.returncode == 0, put.stderr
    assert (tmp_path / "copy" / "uploads" / "a.pdf").read_bytes() == b"%PDF-1.4"
    again = rathaus("restore", str(tmp_path / "nightly.tar.gz"), "--data-dir", str(tmp_path / "copy"))
    assert again.returncode != 0 and "--force" in again.stderr
