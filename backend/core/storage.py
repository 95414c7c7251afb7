"""Where uploaded files live: a local folder by default, behind a small interface an object store can fill."""

from __future__ import annotations

import asyncio
import os
import uuid
from abc import ABC, abstractmethod
from pathlib import Path


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


class LocalStorage(Storage):
    def __init__(self, root: Path) -> None:
        self.root = root

    def _target(self, key: str) -> Path:
        target = (self.root / key).resolve()
        if self.root.resolve() not in target.parents:
            raise ValueError("storage key outside the storage root")
        return target

    async def put(self, tenant_id: uuid.UUID, data: bytes, suffix: str) -> str:
        key = f"{tenant_id}/{uuid.uuid4().hex}{suffix}"
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
