"""The ceiling of the HTTP benchmark: a plain Litestar hello-world, one route and nothing else.

    python -m bench.serve_app --hello <port> [uvicorn|granian]

No middleware, no compression, no database: what one server process of this kind can answer with Litestar
at all. `http_bench.py` serves it with the same server and options as the Rathaus app and reports the
app's pages as a share of its requests/s.
"""

from __future__ import annotations

from litestar import Litestar, get

GREETING = "Hello, world!"


@get("/", media_type="text/plain")
async def hello() -> str:
    return GREETING


app = Litestar(route_handlers=[hello])
