"""The upload storage behaves the same in the local folder and in an S3-compatible bucket (moto's server)."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest
from litestar import Litestar, get
from litestar.params import FromPath
from litestar.response import File
from litestar.testing import AsyncTestClient

from backend.core.downloads import stored_file
from backend.core.storage import LocalStorage, S3Storage, Storage, storage_for
from backend.settings import Settings, SettingsError
from tests.s3server import BUCKET, PREFIX, stored_keys


@pytest.fixture(params=["local", "s3"])
def storage(request: pytest.FixtureRequest, tmp_path: Path) -> Storage:
    if request.param == "local":
        return LocalStorage(tmp_path / "uploads")
    return storage_for(request.getfixturevalue("s3_settings"))


async def test_a_stored_file_is_read_back_under_a_key_of_its_municipality(storage: Storage) -> None:
    town, other = uuid.uuid4(), uuid.uuid4()
    key = await storage.put(town, b"photo bytes", ".jpg")
    elsewhere = await storage.put(other, b"photo bytes", ".jpg")
    assert key.startswith(f"{town}/") and key.endswith(".jpg")
    assert elsewhere.startswith(f"{other}/") and elsewhere != key
    assert await storage.get(key) == b"photo bytes"

    opened = await storage.open(key)
    assert opened.size == len(b"photo bytes")
    assert b"".join([chunk async for chunk in opened.chunks]) == b"photo bytes"


async def test_a_deleted_file_is_gone_and_deleting_again_is_no_error(storage: Storage) -> None:
    key = await storage.put(uuid.uuid4(), b"x" * 10, ".pdf")
    await storage.delete(key)
    await storage.delete(key)  # two cleanups may meet
    with pytest.raises(FileNotFoundError):
        await storage.get(key)
    with pytest.raises(FileNotFoundError):
        await storage.open(key)


async def test_keys_cannot_leave_the_storage(storage: Storage) -> None:
    for key in ("../outside.jpg", f"{uuid.uuid4()}/../../outside.jpg"):
        with pytest.raises(ValueError):
            await storage.get(key)


async def test_objects_live_below_the_prefix_in_the_bucket(s3_settings: Settings, s3_endpoint: str) -> None:
    storage = storage_for(s3_settings)
    assert isinstance(storage, S3Storage) and storage.path("any") is None
    town = uuid.uuid4()
    key = await storage.put(town, b"data", ".png")
    assert stored_keys(s3_endpoint, str(town)) == [f"{PREFIX}/{key}"]
    await storage.delete(key)
    assert stored_keys(s3_endpoint, str(town)) == []


async def test_a_download_sends_the_same_headers_from_the_folder_and_from_the_bucket(
    tmp_path: Path,
    s3_settings: Settings,
) -> None:
    """Streamed in pieces (larger than one chunk), with length, type, name, date and tag, from either storage."""
    body = os.urandom(2 * 1024 * 1024 + 12345)
    backends: dict[str, Storage] = {"local": LocalStorage(tmp_path / "uploads"), "s3": storage_for(s3_settings)}
    keys = {name: await backend.put(uuid.uuid4(), body, ".pdf") for name, backend in backends.items()}

    @get("/{name:str}")
    async def download(name: FromPath[str]) -> File:
        return await stored_file(
            backends[name],
            keys[name],
            filename="Bescheid März.pdf",
            media_type="application/pdf",
            disposition="attachment",
            headers={"Cache-Control": "private, max-age=86400"},
        )

    seen = {}
    async with AsyncTestClient(Litestar([download])) as client:
        for name in backends:
            answer = await client.get(f"/{name}")
            assert answer.status_code == 200 and answer.content == body, name
            seen[name] = answer.headers
    local, remote = seen["local"], seen["s3"]
    for header in ("content-type", "content-disposition", "content-length", "cache-control"):
        assert local[header] == remote[header], header
    assert remote["content-length"] == str(len(body))
    assert remote["content-disposition"] == "attachment; filename*=utf-8''Bescheid%20M%C3%A4rz.pdf"
    assert remote["etag"] and remote["last-modified"].endswith(" GMT")
    assert set(local) == set(remote)


def test_the_storage_url_is_checked() -> None:
    base = {"RATHAUS_DATA_DIR": "/tmp/x"}
    assert Settings.from_env(base).storage_url == ""
    chosen = Settings.from_env(
        {
            **base,
            "RATHAUS_STORAGE_URL": "s3://rathaus-files/town-hall",
            "RATHAUS_S3_ENDPOINT": "https://s3.example.org",
            "RATHAUS_S3_REGION": "eu-central-1",
            "AWS_ACCESS_KEY_ID": "key",
            "AWS_SECRET_ACCESS_KEY": "secret",
        }
    )
    assert (chosen.storage_url, chosen.s3_endpoint, chosen.s3_region) == (
        "s3://rathaus-files/town-hall",
        "https://s3.example.org",
        "eu-central-1",
    )
    assert (chosen.s3_access_key_id, chosen.s3_secret_access_key) == ("key", "secret")
    assert isinstance(storage_for(chosen), S3Storage)
    for wrong in ("/srv/uploads", "s3://", "gs://bucket/x", "s3://bucket/a//b", "s3://bucket/../x"):
        with pytest.raises(SettingsError):
            Settings.from_env({**base, "RATHAUS_STORAGE_URL": wrong})
    with pytest.raises(SettingsError):
        Settings.from_env({**base, "RATHAUS_STORAGE_URL": f"s3://{BUCKET}", "RATHAUS_S3_ENDPOINT": "s3.example.org"})
