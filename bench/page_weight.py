"""Page weight: the bytes a phone fetches for a municipality home, first visit and repeat visit.

    .venv/bin/python -m bench.page_weight

Serves the demo (SQLite, temporary folder) from one uvicorn server whose ASGI app is wrapped in a byte
counter, so every response is counted as it leaves the server, compressed, headers included: the page,
its CSS/JS, the theme, the manifest and icons Chromium fetches, and what the service worker precaches.
Chromium (Debian's, through Playwright) loads the home page on a phone viewport, waits until the
service worker controls the page, asks for the installability check (which fetches manifest and icons
as a browser deciding on "add to home screen" does), then visits the page again.
Targets: first visit ≤ 30 KB, repeat visit with the service worker ≤ 2 KB. Prints; always exits 0.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


class ByteCounter:
    """ASGI wrapper: counts response bytes (status line and headers approximated, body exact)."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.bytes = 0
        self.by_path: Counter[str] = Counter()

    def reset(self) -> None:
        self.bytes = 0
        self.by_path.clear()

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope["path"]

        async def counting(message: Any) -> None:
            size = 0
            if message["type"] == "http.response.start":
                size = 17 + sum(len(k) + len(v) + 4 for k, v in message.get("headers", [])) + 2
            elif message["type"] == "http.response.body":
                size = len(message.get("body", b""))
            self.bytes += size
            self.by_path[path] += size
            await send(message)

        await self.app(scope, receive, counting)


def serve(app: Any, port: int) -> tuple[Any, threading.Thread]:
    import uvicorn

    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    for _ in range(200):
        if server.started:
            break
        time.sleep(0.05)
    return server, thread


def report(label: str, counter: ByteCounter) -> int:
    total = counter.bytes
    print(f"  {label}: {total / 1024:6.1f} KB")
    for path, size in counter.by_path.most_common():
        print(f"      {size:7d}  {path}")
    return total


def main() -> None:
    from playwright.sync_api import sync_playwright

    from backend.app import create_app
    from backend.core.migrate import upgrade
    from backend.demo import load_demo
    from backend.settings import Settings
    from bench.http_bench import free_port

    data = Path(tempfile.mkdtemp(prefix="rathaus-weight-"))
    profile = Path(tempfile.mkdtemp(prefix="rathaus-weight-profile-"))
    port = free_port()
    settings = Settings.from_env({}, env="development", data_dir=data, https=False, run_worker=False, port=port)
    upgrade(settings.database_url)
    asyncio.run(load_demo(settings))
    counter = ByteCounter(create_app(settings))
    server, thread = serve(counter, port)
    url = f"http://musterstadt.localhost:{port}/"
    try:
        with sync_playwright() as pw:
            context = pw.chromium.launch_persistent_context(
                str(profile),
                executable_path=CHROMIUM,
                args=ARGS,
                headless=True,
                viewport={"width": 390, "height": 844},
                locale="de-DE",
                is_mobile=True,
                has_touch=True,
            )
            page = context.new_page()
            counter.reset()
            page.goto(url, wait_until="load")
            _wait_for_worker(page)
            context.new_cdp_session(page).send("Page.getInstallabilityErrors")
            page.wait_for_timeout(1500)
            print(f"\n  {url}")
            first = report("first visit", counter)
            counter.reset()
            page.goto(url, wait_until="load")
            page.wait_for_timeout(1000)
            repeat = report("repeat visit (service worker)", counter)
            context.close()
        print(f"\n  target first visit <= 30 KB: {'PASS' if first <= 30 * 1024 else 'MISS'}")
        print(f"  target repeat visit <= 2 KB: {'PASS' if repeat <= 2 * 1024 else 'MISS'}\n")
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        shutil.rmtree(data, ignore_errors=True)
        shutil.rmtree(profile, ignore_errors=True)


def _wait_for_worker(page: Any) -> None:
    """Until the service worker is activated and controls the page (it claims clients when activated)."""
    page.wait_for_function(
        """async () => {
            if (!('serviceWorker' in navigator)) return true;
            const reg = await navigator.serviceWorker.getRegistration();
            return !!(reg && reg.active && reg.active.state === 'activated' && navigator.serviceWorker.controller);
        }""",
        timeout=20000,
    )


if __name__ == "__main__":
    main()
