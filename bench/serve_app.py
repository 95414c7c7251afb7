"""Serve the Rathaus app, or the hello-world ceiling, in ONE process for the HTTP benchmark.

    python -m bench.serve_app [--gzip-level N] <database url> <data dir> <port> [uvicorn|granian]
    python -m bench.serve_app --hello <port> [uvicorn|granian]
    python -m bench.serve_app [--gzip-level N] --reference <database url> <port> [uvicorn|granian]

The settings are built like `rathaus demo` builds them (development mode, base domain `localhost`, no HTTPS),
but from the arguments only: RATHAUS_* variables of the calling shell are ignored so that a run is reproducible.
`--hello` serves bench/hello_app.py instead (a plain Litestar hello-world, the benchmark's ceiling) with
exactly the same server and options. `--reference` serves bench/reference_app.py (a minimal page of the tracking
page's kind: one query, a template of its size, CSRF and gzip; the practical limit) on the given database. The
app gets one route more, `GET /_bench/stack` (see `stack_route`).
uvicorn runs as `rathaus serve` runs it (backend/core/server.py: h11 with bounded request heads and a head
timeout; uvloop when installed). granian runs embedded in this process (its HTTP handling on one runtime thread
of its own, the app on a uvloop event loop), so that the CPU time of one process compares with uvicorn's.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

SERVER_KINDS = ("uvicorn", "granian")
USAGE = (
    "usage: python -m bench.serve_app [--gzip-level N] <database url> <data dir> <port> [uvicorn|granian]\n"
    "       python -m bench.serve_app --hello <port> [uvicorn|granian]\n"
    "       python -m bench.serve_app [--gzip-level N] --reference <database url> <port> [uvicorn|granian]"
)


def bench_settings(database_url: str, data_dir: Path, gzip_level: int | None = None):  # type: ignore[no-untyped-def]
    from backend.settings import Settings

    chosen = {} if gzip_level is None else {"gzip_level": gzip_level}

    return Settings.from_env(
        {},
        database_url=database_url,
        env="development",
        data_dir=data_dir,
        base_domain="localhost",
        https=False,
        log_level="WARNING",
        **chosen,
    )


STACK_PATH = "/_bench/stack"
STACK_PAGE = "stack-page.html"  # in the data folder, written by http_bench.py before it loads the route


def stack_route(data_dir: Path):  # type: ignore[no-untyped-def]
    """``GET /_bench/stack``: the tracking page's bytes, rendered once beforehand by the app itself and kept.

    It passes everything the app puts around a page (tenancy, CSRF and its cookie, security headers, metrics,
    the page's ETag, gzip) but reads nothing and renders nothing: what it costs is the app's stack alone, and
    the tracking page's cost above it is its own work (its database session and read, its template).
    """
    from litestar import Response, get

    kept: list[bytes] = []

    @get(STACK_PATH, include_in_schema=False, signature_namespace={"Response": Response})
    async def stack() -> Response[bytes]:
        if not kept:
            kept.append((data_dir / STACK_PAGE).read_bytes())
        return Response(kept[0], media_type="text/html; charset=utf-8", headers={"Cache-Control": "no-cache, private"})

    return stack


def serve_granian(app: object, port: int) -> None:
    import asyncio

    import uvloop
    from granian.constants import Interfaces
    from granian.log import LogLevels
    from granian.server.embed import Server

    server = Server(app, address="127.0.0.1", port=port, interface=Interfaces.ASGI, log_level=LogLevels.warning)
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(server.serve())


def serve(app: object, port: int, kind: str) -> None:
    """Serve ``app`` in this process: the same server and options for the Rathaus app and the hello-world."""
    if kind == "granian":
        serve_granian(app, port)
        return
    import uvicorn

    from backend.core.server import server_options

    uvicorn.run(
        app,  # type: ignore[arg-type]
        host="127.0.0.1",
        port=port,
        workers=1,
        loop="auto",
        log_level="warning",
        access_log=False,
        **server_options(),  # as `rathaus serve`: h11 with bounded request heads and a head timeout
    )


def main(argv: list[str]) -> None:
    gzip_level = None
    if argv[:1] == ["--gzip-level"] and len(argv) > 1 and argv[1].isdigit():
        gzip_level, argv = int(argv[1]), argv[2:]
    if argv[:1] == ["--hello"]:
        if len(argv) not in (2, 3) or not argv[1].isdigit() or (len(argv) == 3 and argv[2] not in SERVER_KINDS):
            sys.exit(USAGE)
        from bench.hello_app import app as hello_app

        serve(hello_app, int(argv[1]), argv[2] if len(argv) == 3 else "uvicorn")
        return
    if argv[:1] == ["--reference"]:
        if len(argv) not in (3, 4) or not argv[2].isdigit() or (len(argv) == 4 and argv[3] not in SERVER_KINDS):
            sys.exit(USAGE)
        from bench.reference_app import make_app

        serve(make_app(argv[1], gzip_level), int(argv[2]), argv[3] if len(argv) == 4 else "uvicorn")
        return
    if len(argv) not in (3, 4) or (len(argv) == 4 and argv[3] not in SERVER_KINDS):
        sys.exit(USAGE)
    from backend.app import create_app

    database_url, data_dir, port = argv[0], Path(argv[1]), int(argv[2])
    app = create_app(bench_settings(database_url, data_dir, gzip_level))
    app.register(stack_route(data_dir))
    serve(app, port, argv[3] if len(argv) == 4 else "uvicorn")


if __name__ == "__main__":
    main(sys.argv[1:])
