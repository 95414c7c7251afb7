"""A real uvicorn server on loopback, in the test's own event loop, with the options `rathaus serve` uses."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import uvicorn
from litestar import Litestar

from backend.core.server import server_options


@asynccontextmanager
async def live_server(app: Litestar, **options: Any) -> AsyncIterator[int]:
    """Serves ``app`` on 127.0.0.1 and yields the port; stops the server afterwards."""
    config = uvicorn.Config(
        app, host="127.0.0.1", port=0, log_level="warning", lifespan="on", **{**server_options(), **options}
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    async with asyncio.timeout(10):
        while not server.started:
            if task.done():
                task.result()
            await asyncio.sleep(0.01)
    port: int = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield port
    finally:
        server.should_exit = True
        async with asyncio.timeout(10):
            await task
