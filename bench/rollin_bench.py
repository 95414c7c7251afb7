"""Roll-in time: from `rathaus tenant create ... --standard-services` to the new town's home page answering.

A benchmark that prints its figure, not a test: it exits 0 whether the target (under 5 s) is met or not,
unless the setup fails. Everything runs as an operator would on the embedded default:

1. a fresh data folder, `rathaus db upgrade` (SQLite), `rathaus serve` on a free loopback port (not timed);
2. timed: `rathaus tenant create <slug> --name ... --state BY --admin-email ... --standard-services` as a
   subprocess, then GETs with the Host header `<slug>.localhost` until the home page answers 200 with the
   town's name and the name of every standard service, and `/manifest.webmanifest` is a valid manifest
   (JSON with the town's name, start_url, display and icons).

    .venv/bin/python -m bench.rollin_bench [--runs 3]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from backend.catalogue.templates import standard_catalogue
from bench.http_bench import free_port

TARGET_SECONDS = 5.0
ROOT = Path(__file__).resolve().parents[1]


def rathaus(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "backend", *args], env=env, cwd=ROOT, capture_output=True, text=True, check=True
    )


def valid_manifest(response: httpx.Response, name: str) -> bool:
    if response.status_code != 200:
        return False
    try:
        manifest = json.loads(response.text)
    except ValueError:
        return False
    return (
        name in (manifest.get("name"), manifest.get("short_name"))
        and bool(manifest.get("start_url"))
        and manifest.get("display") in ("standalone", "minimal-ui", "fullscreen", "browser")
        and bool(manifest.get("icons"))
    )


def wait_for_health(client: httpx.Client, deadline: float) -> None:
    while time.monotonic() < deadline:
        try:
            if client.get("/health").status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.05)
    raise SystemExit("rollin_bench: `rathaus serve` did not start")


def one_run(client: httpx.Client, env: dict[str, str], slug: str) -> float:
    name = f"Markt {slug.title()}"
    services = [t.name["de"] for t in standard_catalogue().values()]
    host = {"Host": f"{slug}.localhost", "Accept-Language": "de"}
    started = time.monotonic()
    rathaus(
        "tenant", "create", slug, "--name", name, "--state", "BY", "--admin-email", f"admin@{slug}.example",
        "--standard-services", env=env,
    )  # fmt: skip
    while time.monotonic() - started < 60:
        home = client.get("/", headers=host)
        answered = home.status_code == 200 and name in home.text and all(s in home.text for s in services)
        if answered and valid_manifest(client.get("/manifest.webmanifest", headers=host), name):
            return time.monotonic() - started
        time.sleep(0.02)
    raise SystemExit(f"rollin_bench: {slug}.localhost did not answer with its name, services and manifest")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3, help="towns to roll in one after another (default 3)")
    args = parser.parse_args()

    data = Path(tempfile.mkdtemp(prefix="rathaus-rollin-"))
    port = free_port()
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "RATHAUS_ENV": "development",
        "RATHAUS_DATA_DIR": str(data),
        "RATHAUS_BASE_DOMAIN": "localhost",
        "RATHAUS_HTTPS": "false",
        "RATHAUS_PORT": str(port),
        "RATHAUS_LOG_LEVEL": "WARNING",
    }
    server = None
    try:
        rathaus("db", "upgrade", env=env)
        log = (data / "serve.log").open("w")
        server = subprocess.Popen([sys.executable, "-m", "backend", "serve"], env=env, cwd=ROOT, stdout=log, stderr=log)
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
            wait_for_health(client, time.monotonic() + 30)
            times = [one_run(client, env, f"rollin{i}") for i in range(1, args.runs + 1)]
        print(f"roll-in of a town with {len(standard_catalogue())} standard services (SQLite, one `rathaus serve`):")
        for i, seconds in enumerate(times, 1):
            print(f"  run {i}: {seconds:.2f} s")
        verdict = "met" if max(times) < TARGET_SECONDS else "MISSED"
        print(f"  slowest {max(times):.2f} s, target under {TARGET_SECONDS:.0f} s: {verdict}")
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=30)
        shutil.rmtree(data, ignore_errors=True)


if __name__ == "__main__":
    main()
