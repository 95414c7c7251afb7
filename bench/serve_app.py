"""Serve the Rathaus app in ONE process for the HTTP benchmark, with uvicorn (default) or granian.

    python -m bench.serve_app <database url> <data dir> <port> [uvicorn|granian]

The settings are built like `rathaus demo` builds them (development mode, base domain `localhost`, no HTTPS),
but from the arguments only: RATHAUS_* variables of the calling shell are ignored so that a run is reproducible.
uvicorn picks uvloop and httptools by itself when they are installed (loop="auto", http="auto"). granian runs
embedded in this process (its HTTP handling on one runtime thread of its own, the app on a uvloop event loop),
so that the CPU time of one process compares with uvicorn's.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def bench_settings(database_url: str, data_dir: Path):  # type: ignore[no-untyped-def]
    from backend.settings import Settings

    return Settings.from_env(
        {},
        database_url=database_url,
        env="development",
        data_dir=data_dir,
        base_domain="localhost",
        https=False,
        log_level="WARNING",
    )


def serve_granian(app: object, port: int) -> None:
    import asyncio

    import uvloop
    from granian.constants import Interfaces
    from granian.log import LogLevels
    from granian.server.embed import Server

    server = Server(app, address="127.0.0.1", port=port, interface=Interfaces.ASGI, log_level=LogLevels.warning)
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(server.serve())


def main(argv: list[str]) -> None:
    if len(argv) not in (3, 4) or (len(argv) == 4 and argv[3] not in ("uvicorn", "granian")):
        sys.exit("usage: python -m bench.serve_app <database url> <data dir> <port> [uvicorn|granian]")
    import uvicorn

    from backend.app import create_app

    database_url, data_dir, port = argv[0], Path(argv[1]), int(argv[2])
    app = create_app(bench_settings(database_url, data_dir))
    if argv[3:] == ["granian"]:
        serve_granian(app, port)
        return
    uvicorn.run(
        app,
        host="127.0.0.1",
        port=port,
        workers=1,
        loop="auto",
        http="auto",
        log_level="warning",
        access_log=False,
    )


if __name__ == "__main__":
    main(sys.argv[1:])
