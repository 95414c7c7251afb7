"""Migration 0017 gives existing cases their service's department, normal priority and version 1, and leaves the
SQLite search index (its triggers on case_file) working."""

from __future__ import annotations

import asyncio
import datetime
import json
import sqlite3
import uuid
from pathlib import Path

from backend.core.migrate import upgrade


def _insert(db: sqlite3.Connection, table: str, **values: object) -> bytes:
    now = datetime.datetime.now(datetime.UTC).isoformat()
    row_id = uuid.uuid4().bytes
    values = {"id": row_id, "created_at": now, "updated_at": now, **values}
    db.execute(
        f"INSERT INTO {table} ({', '.join(values)}) VALUES ({', '.join('?' for _ in values)})", list(values.values())
    )
    return row_id


async def test_existing_cases_get_their_services_department_and_the_search_keeps_working(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'old.db'}"
    await asyncio.to_thread(upgrade, url, "0016")
    db = sqlite3.connect(tmp_path / "old.db")
    now = datetime.datetime.now(datetime.UTC).isoformat()
    town = _insert(
        db, "tenant", slug="alt", name="Alt", primary_color="#1d4f91", accent_color="#b3261e",
        default_language="de", languages='["de"]', timezone="Europe/Berlin", texts="{}", active=1,
    )  # fmt: skip
    bauhof = _insert(db, "department", tenant_id=town, name="Bauhof")
    texts = json.dumps({"de": "x"})
    services = {}
    for slug, department in (("routed", bauhof), ("unrouted", None)):
        services[slug] = _insert(
            db, "service", tenant_id=town, slug=slug, category=texts, name=texts, summary="{}", description="{}",
            fees="{}", processing_time="{}", required_documents="[]", keywords="", position=0, active=1,
            department="", leika_key="", department_id=department,
        )  # fmt: skip
    cases = {}
    for n, slug in enumerate(services, start=1):
        form = _insert(db, "form_version", tenant_id=town, service_id=services[slug], version=1, definition="{}")
        cases[slug] = _insert(
            db, "case_file", tenant_id=town, service_id=services[slug], form_version_id=form,
            reference=f"2026-0000{n}", tracking_token=f"token-{slug}", idempotency_key=f"key-{slug}-0123456789",
            status="submitted", answers="{}", language="de", emails_off=0, summary="", search_text=f"Laterne {slug}",
            last_activity_at=now,
        )  # fmt: skip
    db.commit()
    db.close()

    await asyncio.to_thread(upgrade, url, "head")

    db = sqlite3.connect(tmp_path / "old.db")
    rows = {
        case_id: rest
        for case_id, *rest in db.execute("SELECT id, department_id, assignee_id, priority, version FROM case_file")
    }
    assert rows[cases["routed"]] == [bauhof, None, "normal", 1]
    assert rows[cases["unrouted"]] == [None, None, "normal", 1]
    db.execute("UPDATE case_file SET search_text = 'Schlagloch' WHERE id = ?", [cases["routed"]])
    db.commit()
    found = db.execute("SELECT count(*) FROM case_search WHERE case_search MATCH 'Schlagloch'").fetchone()
    assert found == (1,), "the search index follows the changed text"
    db.close()
