"""`rathaus serve` with several processes: /metrics, whichever process answers it, counts the requests of all."""

from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from backend.settings import PROJECT_ROOT, Settings

TOKEN = "metrics-token-for-the-tests-0123456789"
REQUESTS = 24


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _get(port: int, path: str, headers: dict[str, str] | None = None) -> tuple[int, str]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)  # a new connection each time
    try:
        conn.request("GET", path, headers={"Connection": "close", **(headers or {})})
        response = conn.getresponse()
        return response.status, response.read().decode()
    finally:
        conn.close()


@pytest.fixture
def server(settings: Settings, tmp_path: Path) -> Iterator[int]:
    port = _free_port()
    env = {
        **os.environ,
        "RATHAUS_ENV": "development",
        "RATHAUS_DATABASE_URL": settings.database_url,
        "RATHAUS_DATA_DIR": str(tmp_path),
        "RATHAUS_WORKERS": "2",
        "RATHAUS_WORKER": "false",
        "RATHAUS_METRICS_TOKEN": TOKEN,
        "RATHAUS_LOG_LEVEL": "WARNING",
    }
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    log = (tmp_path / "server.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "backend", "serve", "--port", str(port)],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 120
        while True:
            assert proc.poll() is None, (tmp_path / "server.log").read_text()
            try:
                if _get(port, "/health")[0] == 200:
                    break
            except OSError:
                pass
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.2)
        yield port
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        log.close()


def _ready_count(text: str) -> float:
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "rathaus_http_requests_total" and sample.labels.get("route") == "/health/ready":
                return sample.value
    return 0.0


def test_every_process_reports_the_requests_of_all(server: int, tmp_path: Path) -> None:
    for _ in range(REQUESTS):
        assert _get(server, "/health/ready")[0] == 200
    counts = set()
    for _ in range(8):
        status, text = _get(server, "/metrics", {"Authorization": f"Bearer {TOKEN}"})
        assert status == 200
        counts.add(_ready_count(text))
    assert counts == {REQUESTS}
    assert list((tmp_path / "metrics").glob("counter_*.db")), "the processes share their counters in the data folder"
