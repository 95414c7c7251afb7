"""How `rathaus serve` and `rathaus demo` run uvicorn: limits on request heads and slow clients.

Uvicorn's defaults take request heads of any size and count, and hold a connection open for as long as a
client trickles its head in. One slow client per connection is enough to tie up a server (slowloris), so:

- the head of a request (request line and headers) may be at most ``MAX_HEAD_BYTES``, with at most
  ``MAX_HEADERS`` header fields (431; 400 when h11 notices the size first, while the head still arrives);
- it must arrive within ``HEAD_TIMEOUT`` seconds of the connection (or of the previous response): else 408
  and the connection is closed;
- the body is watched by ``backend.core.limits.BodyTimeoutMiddleware`` inside the app (408).

The h11 protocol is used rather than httptools because only h11 bounds the size of a head.
"""

from __future__ import annotations

import asyncio
from typing import Any

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

MAX_HEAD_BYTES = 32 * 1024
MAX_HEADERS = 100
HEAD_TIMEOUT = 15.0

_TIMEOUT_RESPONSE = (
    b"HTTP/1.1 408 Request Timeout\r\ncontent-type: text/plain; charset=utf-8\r\n"
    b"content-length: 16\r\nconnection: close\r\n\r\nRequest Timeout\n"
)
_HEAD_TOO_LARGE_RESPONSE = (
    b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-type: text/plain; charset=utf-8\r\n"
    b"content-length: 32\r\nconnection: close\r\n\r\nRequest Header Fields Too Large\n"
)


class _CountingConnection(h11.Connection):
    """h11's connection that also refuses a head with too many fields, and reports each complete head."""

    def __init__(self, *args: Any, max_headers: int, max_head_bytes: int, on_head: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._max_headers = max_headers
        self._max_head_bytes = max_head_bytes
        self._on_head = on_head
        self.head_too_large = False

    def next_event(self) -> Any:
        event = super().next_event()
        if isinstance(event, h11.Request):
            self._on_head()
            # h11 bounds only a head that is still incomplete; one that arrived in a single read is counted here.
            size = sum(len(name) + len(value) + 4 for name, value in event.headers)
            if len(event.headers) > self._max_headers or size > self._max_head_bytes:
                self.head_too_large = True
                raise h11.RemoteProtocolError("request head too large", error_status_hint=431)
        return event


class LimitedH11Protocol(H11Protocol):
    max_headers = MAX_HEADERS
    head_timeout = HEAD_TIMEOUT

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        max_head_bytes = self.config.h11_max_incomplete_event_size or MAX_HEAD_BYTES
        self.conn = _CountingConnection(
            h11.SERVER,
            max_head_bytes,
            max_headers=self.max_headers,
            max_head_bytes=max_head_bytes,
            on_head=self._head_received,
        )
        self._head_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._start_head_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._head_received()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._head_timer is None and self.conn.their_state is h11.IDLE:
            self._start_head_timer()  # the first bytes of the next request on a kept-alive connection
        super().data_received(data)

    def send_400_response(self, msg: str) -> None:
        # uvicorn answers every malformed head with 400; a head too large or with too many fields gets 431.
        if isinstance(self.conn, _CountingConnection) and self.conn.head_too_large:
            self._refuse(_HEAD_TOO_LARGE_RESPONSE)
            return
        super().send_400_response(msg)

    def _start_head_timer(self) -> None:
        self._head_received()
        self._head_timer = self.loop.call_later(self.head_timeout, self._head_timed_out)

    def _head_received(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_timed_out(self) -> None:
        self._head_timer = None
        self._refuse(_TIMEOUT_RESPONSE)

    def _refuse(self, response: bytes) -> None:
        if not self.transport.is_closing():
            self.transport.write(response)
            self.transport.close()


def server_options(head_timeout: float = HEAD_TIMEOUT) -> dict[str, Any]:
    """Keyword arguments for ``uvicorn.run``/``uvicorn.Config`` that every Rathaus server uses."""
    protocol = LimitedH11Protocol
    if head_timeout != HEAD_TIMEOUT:
        protocol = type("LimitedH11Protocol", (LimitedH11Protocol,), {"head_timeout": head_timeout})
    return {
        "http": protocol,
        "h11_max_incomplete_event_size": MAX_HEAD_BYTES,
        "timeout_keep_alive": 5,
    }
