"""Stored files as HTTP responses: the same Litestar File response whether a file lies on disk or in a bucket.

A local file is streamed from its path. An object of a bucket is fetched once and its bytes are streamed as they
arrive, through a file system adapter that Litestar's File response reads like a file on disk, so both send the
same headers (Content-Type, Content-Disposition, Content-Length, Last-Modified, ETag).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any, Literal

from litestar.response import File

from backend.core.errors import NotFound
from backend.core.storage import Storage, StoredObject


async def stored_file(
    storage: Storage,
    key: str,
    *,
    filename: str,
    media_type: str,
    disposition: Literal["inline", "attachment"],
    headers: dict[str, str],
) -> File:
    """The stored file as a response; 404 when the key is not (or no longer) in the storage."""
    path = storage.path(key)
    if path is not None:
        if not path.exists():
            raise NotFound()
        return File(
            path=path,
            filename=filename,
            media_type=media_type,
            content_disposition_type=disposition,
            headers=headers,
        )
    try:
        stored = await storage.open(key)
    except (FileNotFoundError, ValueError) as exc:
        raise NotFound() from exc
    info: dict[str, Any] = {"name": key, "size": stored.size, "type": "file", "islink": False}
    if stored.last_modified is not None:
        info["mtime"] = stored.last_modified.timestamp()
    return File(
        path=key,
        filename=filename,
        media_type=media_type,
        content_disposition_type=disposition,
        headers=headers,
        file_system=_OneObject(stored),
        file_info=info,  # type: ignore[arg-type]
    )


class _OneObject:
    """A file system (litestar.types.FileSystemProtocol) that holds the one object being sent."""

    def __init__(self, stored: StoredObject) -> None:
        self.stored = stored

    async def info(self, path: str, **kwargs: Any) -> dict[str, Any]:  # the response is given the info
        raise FileNotFoundError(path)

    async def open(self, file: str, mode: str = "rb", buffering: int = -1) -> _Reader:
        return _Reader(self.stored.chunks)


class _Reader:
    """The object's stream read like an open file: ``read(n)`` returns up to n bytes, ``read()`` the rest."""

    def __init__(self, chunks: AsyncIterator[bytes]) -> None:
        self._chunks = chunks
        self._buffer = bytearray()
        self._ended = False

    async def __aenter__(self) -> _Reader:
        return self

    async def __aexit__(self, *exc: object) -> None:
        close = getattr(self._chunks, "aclose", None)
        if close is not None:
            await close()

    async def read(self, size: int = -1) -> bytes:
        while not self._ended and (size < 0 or len(self._buffer) < size):
            try:
                self._buffer += await anext(self._chunks)
            except StopAsyncIteration:
                self._ended = True
        if size < 0:
            size = len(self._buffer)
        data = bytes(self._buffer[:size])
        del self._buffer[:size]
        return data
