"""What each gzip level costs and saves on the citizen pages (a benchmark that prints figures, not a test).

    .venv/bin/python -m bench.compression_bench [--rounds 300]

Loads the demo data into a new SQLite database in a temporary folder, fetches the home page, a service's form
page and the heaviest tracking page of musterstadt uncompressed (in this process, no server), and then
compresses each page at every gzip level 1-9 as the app's compression does (Python's gzip, one member per
answer). Prints, per level, the bytes on the wire and the CPU time per page (best of --rounds), and each page's
whole CPU cost per request for scale, so that RATHAUS_GZIP_LEVEL can be chosen knowingly. Level 0 is the
reverse-proxy case: the app does not compress and a proxy in front (nginx, HAProxy, a CDN) does.
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import io
import shutil
import tempfile
import time
from pathlib import Path

from bench.http_bench import SERVICE, TENANT, pick_tracking_case, prepare_database, sqlite_url
from bench.serve_app import bench_settings

LEVELS = range(1, 10)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rounds", type=int, default=300, help="compressions per page and level (best one counts)")
    p.add_argument("--requests", type=int, default=200, help="requests per page for its whole cost per request")
    return p.parse_args(argv)


def compress(body: bytes, level: int) -> bytes:
    """As the app's gzip answers are made: a GzipFile written once and closed."""
    buffer = io.BytesIO()
    with gzip.GzipFile(mode="wb", fileobj=buffer, compresslevel=level) as stream:
        stream.write(body)
    return buffer.getvalue()


def best_time(body: bytes, level: int, rounds: int) -> float:
    best = float("inf")
    for _ in range(rounds):
        started = time.perf_counter()
        compress(body, level)
        best = min(best, time.perf_counter() - started)
    return best


async def fetch_pages(database_url: str, data_dir: Path, token: str, requests: int) -> dict[str, tuple[bytes, float]]:
    """Each page's uncompressed body and its CPU time per request without compression (app in this process)."""
    from litestar.testing import AsyncTestClient

    from backend.app import create_app

    paths = {"home": "/", "form": f"/s/{SERVICE}/form", "tracking": f"/r/{token}"}
    app = create_app(bench_settings(database_url, data_dir, gzip_level=0))
    pages = {}
    async with AsyncTestClient(app, base_url=f"http://{TENANT}.localhost") as client:
        for name, path in paths.items():
            answer = await client.get(path)
            if answer.status_code != 200:
                raise SystemExit(f"{path} answered {answer.status_code}")
            for _ in range(20):  # warm caches
                await client.get(path)
            started = time.process_time()
            for _ in range(requests):
                await client.get(path)
            pages[name] = (answer.content, (time.process_time() - started) / requests)
    return pages


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    tmp = Path(tempfile.mkdtemp(prefix="rathaus-compression-"))
    try:
        data_dir = tmp / "data"
        database_url = sqlite_url(data_dir)
        prepare_database(database_url, data_dir)
        token, _, _ = pick_tracking_case(database_url)
        pages = asyncio.run(fetch_pages(database_url, data_dir, token, args.requests))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    names = list(pages)
    print(f"\n  pages of {TENANT} on SQLite; gzip as the app answers; best of {args.rounds} compressions")
    print("  " + "".join(f"{name:>26}" for name in ["level", *names][1:]).rjust(26 * len(names) + 7))
    print("  level" + "".join(f"{'bytes':>14}{'CPU ms':>12}" for _ in names))
    print("      0" + "".join(f"{len(pages[n][0]):>14}{0:>12.3f}" for n in names) + "   (a proxy compresses)")
    figures = {}
    for level in LEVELS:
        row = []
        for name in names:
            body = pages[name][0]
            size, seconds = len(compress(body, level)), best_time(body, level, args.rounds)
            figures[(name, level)] = (size, seconds)
            row.append(f"{size:>14}{seconds * 1000:>12.3f}")
        print(f"  {level:>5}" + "".join(row))
    print("\n  whole page without compression, CPU ms per request (app in this process, no server):")
    for name in names:
        total = pages[name][1] * 1000
        one, six = figures[(name, 1)], figures[(name, 6)]
        print(
            f"    {name:<9} {total:6.2f} ms; gzip level 6 adds {six[1] * 1000:.3f} ms ({six[1] * 1000 / total:.0%}), "
            f"level 1 {one[1] * 1000:.3f} ms ({one[1] * 1000 / total:.0%}) for {one[0] - six[0]:+d} bytes"
        )
    print()


if __name__ == "__main__":
    main()
