"""Where uploaded files live: a local folder by default, or an S3-compatible bucket (RATHAUS_STORAGE_URL=s3://...).

Keys are ``<municipality id>/<random name><suffix>``: no two municipalities ever share a key, in a folder or in a
bucket. Reading a key that is gone raises FileNotFoundError, other failures of the store OSError, whichever
backend is in use, so callers catch the same errors.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import os
import uuid
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import obstore
from obstore.exceptions import BaseError as StoreError
from obstore.exceptions import NotFoundError
from obstore.store import S3Store

from backend.settings import Settings, parse_storage_url

# What a stream of a stored object yields at a time (Litestar's File sends local files in pieces of this size).
CHUNK_BYTES = 1024 * 1024


@dataclass
class StoredObject:
    """An object being read: what the response headers need, and its bytes as they arrive."""

    size: int
    last_modified: datetime.datetime | None
    etag: str | None
    chunks: AsyncIterator[bytes]


class Storage(ABC):
    @abstractmethod
    async def put(self, tenant_id: uuid.UUID, data: bytes, suffix: str) -> str: ...

    @abstractmethod
    async def get(self, key: str) -> bytes: ...

    @abstractmethod
    async def delete(self, key: str) -> None:
        """Remove the file; a key already gone is no error (cleanups may meet)."""

    @abstractmethod
    def path(self, key: str) -> Path | None:
        """A local file for the key, where the backend has one (used to stream files)."""

    async def open(self, key: str) -> StoredObject:
        """The object's size, tag and bytes as a stream, for backends without a local file."""
        data = await self.get(key)

        async def chunks() -> AsyncIterator[bytes]:
            yield data

        return StoredObject(size=len(data), last_modified=None, etag=None, chunks=chunks())

    @staticmethod
    def new_key(tenant_id: uuid.UUID, suffix: str) -> str:
        return f"{tenant_id}/{uuid.uuid4().hex}{suffix}"

    async def reachable(self) -> bool:
        """Whether uploads can be stored and read now (for the readiness check)."""
        return True


# The object the readiness check asks the bucket about; it never exists, and "not found" proves the bucket answers.
READINESS_KEY = "rathaus-readiness-check"
READINESS_TIMEOUT = 3.0


class LocalStorage(Storage):
    def __init__(self, root: Path) -> None:
        self.root = root

    def _target(self, key: str) -> Path:
        target = (self.root / key).resolve()
        if self.root.resolve() not in target.parents:
            raise ValueError("storage key outside the storage root")
        return target

    async def put(self, tenant_id: uuid.UUID, data: bytes, suffix: str) -> str:
        key = self.new_key(tenant_id, suffix)
        target = self._target(key)

        def write() -> None:
            target.parent.mkdir(parents=True, exist_ok=True)
            tmp = target.with_suffix(target.suffix + ".part")
            tmp.write_bytes(data)
            os.replace(tmp, target)

        await asyncio.to_thread(write)
        return key

    async def get(self, key: str) -> bytes:
        return await asyncio.to_thread(self._target(key).read_bytes)

    async def delete(self, key: str) -> None:
        await asyncio.to_thread(self._target(key).unlink, missing_ok=True)

    def path(self, key: str) -> Path | None:
        return self._target(key)


class S3Storage(Storage):
    """Objects in an S3-compatible bucket (AWS S3, MinIO, Ceph, ...), through obstore.

    Settings left unset (credentials, region, endpoint) are taken by obstore from the standard AWS_* variables
    and, for credentials, from a container or instance role.
    """

    def __init__(
        self,
        url: str,
        *,
        endpoint: str | None = None,
        region: str | None = None,
        access_key_id: str | None = None,
        secret_access_key: str | None = None,
        session_token: str | None = None,
    ) -> None:
        location = parse_storage_url(url)
        config: dict[str, Any] = {}
        for name, value in (
            ("endpoint", endpoint),
            ("region", region),
            ("access_key_id", access_key_id),
            ("secret_access_key", secret_access_key),
            ("session_token", session_token),
        ):
            if value:
                config[name] = value
        self.location = location
        self.store = S3Store(
            location.bucket,
            prefix=location.prefix or None,
            config=config,  # type: ignore[arg-type]
            client_options={
                "allow_http": bool(endpoint and endpoint.startswith("http://")),
                "connect_timeout": datetime.timedelta(seconds=5),
                "timeout": datetime.timedelta(seconds=60),
            },
            # A store that does not answer fails the request within seconds, not minutes.
            retry_config={"max_retries": 3, "retry_timeout": datetime.timedelta(seconds=15)},
        )

    @staticmethod
    def _checked(key: str) -> str:
        if not key or key.startswith("/") or any(part in ("", ".", "..") for part in key.split("/")):
            raise ValueError("not a storage key")
        return key

    async def put(self, tenant_id: uuid.UUID, data: bytes, suffix: str) -> str:
        key = self.new_key(tenant_id, suffix)
        with _as_os_errors():
            await obstore.put_async(self.store, key, data)
        return key

    async def get(self, key: str) -> bytes:
        with _as_os_errors():
            result = await obstore.get_async(self.store, self._checked(key))
            return bytes(await result.bytes_async())

    async def open(self, key: str) -> StoredObject:
        with _as_os_errors():
            result = await obstore.get_async(self.store, self._checked(key))
        meta = result.meta

        async def chunks() -> AsyncIterator[bytes]:
            with _as_os_errors():
                async for chunk in result.stream(min_chunk_size=CHUNK_BYTES):
                    yield bytes(chunk)

        return StoredObject(
            size=int(meta["size"]), last_modified=meta.get("last_modified"), etag=meta.get("e_tag"), chunks=chunks()
        )

    async def delete(self, key: str) -> None:
        with _as_os_errors(), contextlib.suppress(NotFoundError, FileNotFoundError):
            await obstore.delete_async(self.store, self._checked(key))

    def path(self, key: str) -> Path | None:
        return None

    async def reachable(self) -> bool:
        """The bucket answers an object lookup with our credentials ("not found" is an answer), within a few
        seconds: a readiness probe must not wait out the store's retries."""
        try:
            await asyncio.wait_for(obstore.head_async(self.store, READINESS_KEY), timeout=READINESS_TIMEOUT)
        except (NotFoundError, FileNotFoundError):
            return True
        except (StoreError, OSError, TimeoutError):
            return False
        return True


@contextlib.contextmanager
def _as_os_errors() -> Iterator[None]:
    """The store's errors as the OSError a local file gives: FileNotFoundError for a missing key."""
    try:
        yield
    except (NotFoundError, FileNotFoundError) as exc:  # obstore raises the latter for a missing object
        raise FileNotFoundError("not in the storage") from exc
    except StoreError as exc:
        raise OSError(str(exc)) from exc


def storage_for(settings: Settings) -> Storage:
    """The deployment's storage: the bucket of RATHAUS_STORAGE_URL, else the data folder's uploads/."""
    if not settings.storage_url:
        return LocalStorage(settings.uploads_dir)
    return S3Storage(
        settings.storage_url,
        endpoint=settings.s3_endpoint,
        region=settings.s3_region,
        access_key_id=settings.s3_access_key_id,
        secret_access_key=settings.s3_secret_access_key,
        session_token=settings.s3_session_token,
    )
