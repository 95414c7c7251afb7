"""A server process freezes what it made to start, so the collector's full passes no longer walk it (core/heap.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from backend.settings import PROJECT_ROOT, Settings

# Run in a new interpreter: the test process itself may have been frozen by an app started before.
SCRIPT = r"""
import gc, json
from litestar.testing import TestClient
from backend.app import create_app
from backend.settings import Settings

tracked = lambda thing: any(o is thing for o in gc.get_objects())
made_at_start = [object() for _ in range(3)]  # tracked by the collector until the heap is frozen
before = gc.get_freeze_count(), tracked(made_at_start)
with TestClient(create_app(Settings.from_env())) as client:
    ready = gc.get_freeze_count(), tracked(made_at_start), client.get("/health").status_code
    made_later = []  # made while serving, then a request: a request freezes nothing
    client.get("/health")
    later = tracked(made_later)
with TestClient(create_app(Settings.from_env())):
    again = gc.get_freeze_count()
print(json.dumps({"before": before, "ready": ready, "later": later, "again": again}))
"""


def test_the_startup_heap_is_frozen_once_per_process(settings: Settings, tmp_path: Path) -> None:
    env = {
        **os.environ,
        "RATHAUS_ENV": "development",
        "RATHAUS_DATABASE_URL": settings.database_url,
        "RATHAUS_DATA_DIR": str(tmp_path),
        "RATHAUS_WORKER": "false",
        "RATHAUS_LOG_LEVEL": "WARNING",
    }
    run = subprocess.run(
        [sys.executable, "-c", SCRIPT], cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert run.returncode == 0, run.stderr
    seen = json.loads(run.stdout.strip().splitlines()[-1])
    assert seen["before"] == [0, True]
    frozen, still_tracked, health = seen["ready"]
    assert frozen > 1000 and not still_tracked and health == 200  # the app, its modules and what they made
    assert seen["later"] is True  # made after start-up: the collector still sees it after later requests
    # A second app in the process freezes nothing more (frozen objects that are freed leave the count).
    assert seen["again"] <= frozen
