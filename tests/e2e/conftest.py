"""Browser tests: the real app behind a real server (uvicorn in a thread), driven by Debian's Chromium.

The server serves ``create_app(settings)`` with the session's ``settings`` fixture, so it uses the same
test database as the rest of the suite (on SQLite the same file, on PostgreSQL the same database);
municipalities made here with ``make_tenant`` are visible to it at ``http://<slug>.localhost:<port>/``
(Chromium resolves ``*.localhost`` to the loopback address by itself).

Playwright's sync API marks its event loop as running in the main thread for as long as it is
started, so the async factories are run in a worker thread (``run_async``), and Playwright is
module-scoped: it is stopped before any async test of another module runs.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import importlib.util
import io
import re
import socket
import threading
import time
import urllib.request
from collections.abc import Coroutine, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import pytest
import uvicorn
from PIL import Image, ImageDraw
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, Response, expect, sync_playwright

from backend.app import create_app
from backend.settings import Settings
from tests.factories import TenantFixture, make_tenant

T = TypeVar("T")

CHROMIUM = "/usr/bin/chromium"
# Flags the closed network here needs; --headless comes from headless=True.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-proxy-server",
]
TIMEOUT_MS = 15_000
SERVER_START_SECONDS = 30.0

PHONE: dict[str, Any] = {
    "viewport": {"width": 390, "height": 844},
    "device_scale_factor": 2,
    "is_mobile": True,
    "has_touch": True,
    "locale": "de-DE",
    "bypass_csp": True,  # axe is injected as an inline script; the app's CSP would block it
}
DESKTOP: dict[str, Any] = {
    "viewport": {"width": 1280, "height": 900},
    "locale": "de-DE",
    "bypass_csp": True,
}

WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]


def run_async(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine to completion in a fresh event loop in a worker thread.

    Works whether or not Playwright has marked this thread's loop as running.
    """
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coro).result(timeout=60)


# ---------------------------------------------------------------------------------------------
# The server


@dataclass
class LiveServer:
    port: int

    def url(self, tenant: TenantFixture, path: str = "/") -> str:
        return f"http://{tenant.host}:{self.port}{path}"


def _wait_until_healthy(url: str, thread: threading.Thread, server: uvicorn.Server) -> None:
    deadline = time.monotonic() + SERVER_START_SECONDS
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        if not thread.is_alive():
            raise RuntimeError("the test server stopped while starting; see the captured log")
        if server.started:
            try:
                with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 (local URL)
                    if response.status == 200 and response.read() == b"ok":
                        return
            except OSError as exc:
                last_error = exc
        time.sleep(0.05)
    raise RuntimeError(f"the test server did not answer {url} within {SERVER_START_SECONDS}s: {last_error}")


@contextmanager
def serve_in_thread(app: Any, name: str = "e2e-uvicorn") -> Iterator[LiveServer]:
    """An ASGI app served by uvicorn on 127.0.0.1 on a free port, in a background thread."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=port,
        lifespan="on",
        http="h11",
        ws="none",
        log_config=None,
        log_level="warning",
        access_log=False,
        timeout_graceful_shutdown=5,
    )
    server = uvicorn.Server(config)
    # uvicorn installs no signal handlers outside the main thread; server.run() makes its own loop.
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name=name, daemon=True)
    thread.start()
    try:
        _wait_until_healthy(f"http://127.0.0.1:{port}/health", thread, server)
        yield LiveServer(port=port)
    finally:
        server.should_exit = True
        thread.join(timeout=15)
        sock.close()
        assert not thread.is_alive(), "the test server did not stop"


@pytest.fixture(scope="module")
def live_server(settings: Settings) -> Iterator[LiveServer]:
    """``create_app(settings)`` served by uvicorn in a background thread."""
    with serve_in_thread(create_app(settings)) as server:
        yield server


@pytest.fixture
def e2e_tenant(settings: Settings) -> TenantFixture:
    """A fresh municipality (sync, unlike the async ``tenant`` fixture, for the sync Playwright tests)."""
    return run_async(make_tenant(settings))


# ---------------------------------------------------------------------------------------------
# The browser


@pytest.fixture(scope="module")
def playwright_instance() -> Iterator[Playwright]:
    with sync_playwright() as pw:
        yield pw


@pytest.fixture(scope="module")
def browser(playwright_instance: Playwright) -> Iterator[Browser]:
    browser = playwright_instance.chromium.launch(
        executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS, timeout=30_000
    )
    expect.set_options(timeout=TIMEOUT_MS)
    try:
        yield browser
    finally:
        browser.close()


@dataclass
class Problems:
    """What went wrong in the pages besides the assertions: script errors and failed requests."""

    items: list[str] = field(default_factory=list)
    ignored_paths: tuple[str, ...] = ("/favicon.ico",)

    def watch(self, page: Page, who: str) -> None:
        page.on("pageerror", lambda exc: self.items.append(f"{who}: script error: {exc}"))
        page.on("response", lambda response: self._response(who, response))

    def _response(self, who: str, response: Response) -> None:
        path = re.sub(r"^https?://[^/]+", "", response.url)
        if response.status >= 400 and not path.startswith(self.ignored_paths):
            self.items.append(f"{who}: {response.request.method} {path} answered {response.status}")

    def assert_none(self) -> None:
        assert not self.items, "problems in the browser:\n" + "\n".join(self.items)


@pytest.fixture
def problems() -> Iterator[Problems]:
    found = Problems()
    yield found
    found.assert_none()


@pytest.fixture
def open_context(browser: Browser, problems: Problems) -> Iterator[Any]:
    """open_context(who, **options) -> (context, page); contexts are closed after the test."""
    contexts: list[BrowserContext] = []

    def make(who: str, **options: Any) -> tuple[BrowserContext, Page]:
        context = browser.new_context(**options)
        context.set_default_timeout(TIMEOUT_MS)
        context.set_default_navigation_timeout(TIMEOUT_MS)
        contexts.append(context)
        page = context.new_page()
        problems.watch(page, who)
        return context, page

    yield make
    for context in contexts:
        context.close()


# ---------------------------------------------------------------------------------------------
# Accessibility and screenshots

_spec = importlib.util.find_spec("axe_playwright_python")
assert _spec is not None and _spec.submodule_search_locations, "axe-playwright-python is not installed"
AXE_JS = Path(next(iter(_spec.submodule_search_locations))) / "axe.min.js"

AXE_RUN = """async (tags) => {
  const result = await axe.run(document, {runOnly: {type: 'tag', values: tags}});
  return result.violations.map(v => ({
    id: v.id, impact: v.impact, help: v.help, helpUrl: v.helpUrl,
    nodes: v.nodes.map(n => ({target: n.target.join(' '), html: n.html, summary: n.failureSummary})),
  }));
}"""


def format_violations(where: str, violations: list[dict[str, Any]]) -> str:
    lines = [f"{len(violations)} accessibility violation(s) on {where}:"]
    for v in violations:
        lines.append(f"- {v['id']} ({v['impact']}): {v['help']} <{v['helpUrl']}>")
        for node in v["nodes"]:
            lines.append(f"    at {node['target']}: {node['html'][:300]}")
            if node["summary"]:
                lines.append("      " + node["summary"].replace("\n", "\n      "))
    return "\n".join(lines)


def check_a11y(page: Page, label: str = "") -> None:
    """Run axe-core (WCAG 2.0/2.1 A and AA) on the page as it is now; fail with every violation listed.

    Needs JavaScript in the page and a context made with bypass_csp=True.
    """
    page.wait_for_load_state("load")
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.add_script_tag(path=str(AXE_JS))
    violations = page.evaluate(AXE_RUN, WCAG_TAGS)
    if violations:
        pytest.fail(format_violations(f"{label or 'page'} ({page.url})", violations), pytrace=False)


class Screens:
    """Full-page screenshots, numbered in the order they are taken, into a folder under tmp_path."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.count = 0

    def __call__(self, page: Page, name: str) -> Path:
        self.count += 1
        path = self.folder / f"{self.count:02d}-{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path


@pytest.fixture
def screens(tmp_path: Path) -> Screens:
    folder = tmp_path / "screens"
    folder.mkdir()
    print(f"screenshots: {folder}")
    return Screens(folder)


# ---------------------------------------------------------------------------------------------
# A phone photo


def phone_photo(path: Path, size: tuple[int, int] = (3000, 2000)) -> Path:
    """A real, camera-sized JPEG: a gradient with shapes and noise, so it does not compress to nothing."""
    width, height = size
    gradient = Image.linear_gradient("L").resize(size)
    noise = Image.effect_noise(size, 40)
    img = Image.merge("RGB", (gradient, noise, gradient.transpose(Image.Transpose.FLIP_LEFT_RIGHT)))
    draw = ImageDraw.Draw(img)
    draw.rectangle((width // 3, height // 4, width // 3 + 200, height - 100), fill=(60, 60, 60))
    draw.ellipse((width // 3 - 150, height // 4 - 250, width // 3 + 350, height // 4 + 50), fill=(250, 230, 120))
    buf = io.BytesIO()
    img.save(buf, format="JPEG", quality=92)
    path.write_bytes(buf.getvalue())
    return path


@pytest.fixture(scope="module")
def photo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 3000×2000 camera photo (about 4 MB): the page scales it down on the device before it is sent."""
    return phone_photo(tmp_path_factory.mktemp("photos") / "laterne.jpg")


@pytest.fixture(scope="module")
def small_photo(tmp_path_factory: pytest.TempPathFactory, settings: Settings) -> Path:
    """A photo a browser without JavaScript can send as it is: below the server's upload limit."""
    path = phone_photo(tmp_path_factory.mktemp("photos") / "laterne-klein.jpg", size=(1600, 1200))
    assert path.stat().st_size < settings.max_upload_bytes, (path.stat().st_size, settings.max_upload_bytes)
    return path
