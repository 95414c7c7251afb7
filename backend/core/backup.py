"""Backup and restore of the embedded deployment: the SQLite database and the uploaded files in one archive.

``rathaus backup <file>`` copies the database with SQLite's online backup, so the copy is consistent while the
app serves (it may keep writing meanwhile), and then the uploads folder. Files are only ever added or removed,
never changed: a file uploaded after the database was copied is in the archive without a case that names it
(harmless), and the database is copied first so that no case of the copy misses its file, except one the
retention job removes in those seconds.

``rathaus restore <file>`` puts both back, replacing what is there only with ``--force`` (stop the app first),
checks the database's integrity and brings it to the current schema.

PostgreSQL deployments use the database's own tools (``pg_dump``), and uploads in object storage stay in their
bucket: the archive then holds the database only where SQLite is used, and says so.
"""

from __future__ import annotations

import datetime
import io
import json
import os
import shutil
import sqlite3
import tarfile
import tempfile
import zlib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from sqlalchemy.engine import make_url

from backend.settings import Settings

FORMAT = 1
MANIFEST = "rathaus-backup.json"
DATABASE = "rathaus.db"
UPLOADS = "uploads"


class BackupError(Exception):
    """The backup or restore cannot be done; the message says why and what to do."""


@dataclass(frozen=True)
class Summary:
    path: Path
    revision: str
    files: int
    bytes: int
    uploads_included: bool


def sqlite_file(settings: Settings) -> Path:
    url = make_url(settings.database_url)
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        raise BackupError(
            "backup and restore are for the embedded SQLite database; "
            "on PostgreSQL use pg_dump and pg_restore (and your bucket's own versioning for uploads)"
        )
    return Path(url.database)


def _revision(database: Path) -> str:
    with sqlite3.connect(database) as conn:
        try:
            row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
        except sqlite3.DatabaseError as error:
            raise BackupError(f"{database} is not a Rathaus database ({error})") from error
    return str(row[0]) if row else ""


def _check(database: Path) -> None:
    try:
        with sqlite3.connect(database) as conn:
            result = conn.execute("PRAGMA integrity_check").fetchone()
    except sqlite3.DatabaseError as error:
        raise BackupError(f"the database in the archive is damaged: {error}") from error
    if not result or result[0] != "ok":
        raise BackupError(f"the database in the archive is damaged: {result[0] if result else 'no answer'}")


def backup(settings: Settings, target: Path) -> Summary:
    database = sqlite_file(settings)
    if not database.is_file():
        raise BackupError(f"there is no database at {database}")
    target = target.resolve()
    target.parent.mkdir(parents=True, exist_ok=True)
    uploads_included = not settings.storage_url
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=".rathaus-backup-") as tmp:
        copy = Path(tmp) / DATABASE
        source = sqlite3.connect(f"{database.resolve().as_uri()}?mode=ro", uri=True)
        destination = sqlite3.connect(copy)
        try:
            source.backup(destination)  # consistent, while the app may go on writing
        finally:
            source.close()
            destination.close()
        revision = _revision(copy)
        files = sorted(p for p in settings.uploads_dir.rglob("*") if p.is_file()) if uploads_included else []
        size = sum(p.stat().st_size for p in files)
        manifest = {
            "format": FORMAT,
            "created_at": datetime.datetime.now(datetime.UTC).isoformat(),
            "revision": revision,
            "files": len(files),
            "bytes": size,
            "uploads": "included" if uploads_included else "in object storage (not in this archive)",
        }
        partial = Path(tmp) / "archive.tar.gz"
        with tarfile.open(partial, "w:gz") as archive:
            body = json.dumps(manifest, indent=2).encode()
            info = tarfile.TarInfo(MANIFEST)
            info.size, info.mtime = len(body), int(datetime.datetime.now(datetime.UTC).timestamp())
            archive.addfile(info, io.BytesIO(body))
            archive.add(copy, arcname=DATABASE)
            for path in files:
                archive.add(path, arcname=f"{UPLOADS}/{path.relative_to(settings.uploads_dir).as_posix()}")
        os.replace(partial, target)  # the archive appears whole or not at all
    return Summary(target, revision, len(files), size, uploads_included)


def _members(archive: tarfile.TarFile) -> tuple[tarfile.TarInfo, list[tarfile.TarInfo], dict[str, object]]:
    """The database and the upload files of the archive, each checked to stay inside its place."""
    database = None
    uploads = []
    manifest: dict[str, object] = {}
    for member in archive.getmembers():
        path = PurePosixPath(member.name)
        if path.is_absolute() or ".." in path.parts or not (member.isfile() or member.isdir()):
            raise BackupError(f"the archive holds an entry that is not allowed: {member.name!r}")
        if member.name == MANIFEST:
            extracted = archive.extractfile(member)
            manifest = json.loads(extracted.read()) if extracted else {}
        elif member.name == DATABASE and member.isfile():
            database = member
        elif path.parts[0] == UPLOADS and member.isfile():
            uploads.append(member)
        elif not member.isdir():
            raise BackupError(f"the archive holds an unknown entry: {member.name!r}")
    if database is None or manifest.get("format") != FORMAT:
        raise BackupError("this is not a Rathaus backup (made with `rathaus backup`)")
    return database, uploads, manifest


def _extract(archive: tarfile.TarFile, member: tarfile.TarInfo, into: Path) -> None:
    """A regular file of the archive (its name checked by _members) written below ``into``, without its owner,
    mode or times."""
    target = into.joinpath(*PurePosixPath(member.name).parts)
    target.parent.mkdir(parents=True, exist_ok=True)
    source = archive.extractfile(member)
    if source is None:
        raise BackupError(f"the archive's entry {member.name!r} cannot be read")
    with source, open(target, "wb") as out:
        shutil.copyfileobj(source, out)


def restore(settings: Settings, source: Path, *, force: bool = False) -> Summary:
    from backend.core.migrate import upgrade

    database = sqlite_file(settings)
    if not source.is_file():
        raise BackupError(f"there is no archive at {source}")
    if database.exists() and not force:
        raise BackupError(f"{database} exists; stop the app and run again with --force to replace it and the uploads")
    database.parent.mkdir(parents=True, exist_ok=True)
    try:
        with tarfile.open(source, "r:gz") as archive:
            summary = _restore_from(archive, settings, database)
    except (tarfile.TarError, EOFError, zlib.error, ValueError, UnicodeDecodeError) as error:
        raise BackupError(f"{source} cannot be read as a backup: {error}") from error
    upgrade(settings.database_url)  # an archive of an older release is brought to this one's schema
    return summary


def _restore_from(archive: tarfile.TarFile, settings: Settings, database: Path) -> Summary:
    with tempfile.TemporaryDirectory(dir=database.parent, prefix=".rathaus-restore-") as tmp:
        member, uploads, manifest = _members(archive)
        staged = Path(tmp)
        _extract(archive, member, staged)
        _check(staged / DATABASE)
        revision = _revision(staged / DATABASE)
        size = 0
        for upload in uploads:
            _extract(archive, upload, staged)
            size += upload.size
        # The old database's write-ahead log would be applied to the restored file: it goes first.
        for suffix in ("-wal", "-shm", "-journal"):
            Path(f"{database}{suffix}").unlink(missing_ok=True)
        os.replace(staged / DATABASE, database)
        included = manifest.get("uploads") == "included"
        if included:
            shutil.rmtree(settings.uploads_dir, ignore_errors=True)
            if (staged / UPLOADS).is_dir():
                settings.uploads_dir.parent.mkdir(parents=True, exist_ok=True)
                shutil.move(str(staged / UPLOADS), settings.uploads_dir)
    return Summary(database, revision, len(uploads), size, included)
