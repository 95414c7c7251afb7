"""Migration 0012 turns the department names of existing services into departments, per municipality."""

from __future__ import annotations

import asyncio
import datetime
import json
import sqlite3
import uuid
from pathlib import Path

from backend.core.migrate import upgrade


def _insert(db: sqlite3.Connection, table: str, **values: object) -> None:
    now = datetime.datetime.now(datetime.UTC).isoformat()
    values = {"id": uuid.uuid4().bytes, "created_at": now, "updated_at": now, **values}
    columns = ", ".join(values)
    marks = ", ".join("?" for _ in values)
    db.execute(f"INSERT INTO {table} ({columns}) VALUES ({marks})", list(values.values()))


def _service(db: sqlite3.Connection, tenant: bytes, slug: str, department: str) -> None:
    texts = json.dumps({"de": slug})
    _insert(
        db, "service", tenant_id=tenant, slug=slug, category=texts, name=texts, summary="{}", description="{}",
        fees="{}", processing_time="{}", required_documents="[]", keywords="", position=0, active=1,
        department=department, leika_key="",
    )  # fmt: skip


async def test_each_distinct_department_name_of_a_municipality_becomes_one_department(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'old.db'}"
    await asyncio.to_thread(upgrade, url, "0008")
    db = sqlite3.connect(tmp_path / "old.db")
    towns = {}
    for slug in ("alt", "neu"):
        towns[slug] = uuid.uuid4().bytes
        _insert(
            db, "tenant", id=towns[slug], slug=slug, name=slug, primary_color="#1d4f91", accent_color="#b3261e",
            default_language="de", languages='["de"]', timezone="Europe/Berlin", texts="{}", active=1,
        )  # fmt: skip
    _service(db, towns["alt"], "a", "Bauhof")
    _service(db, towns["alt"], "b", "Bauhof")
    _service(db, towns["alt"], "c", "Bürgerbüro")
    _service(db, towns["alt"], "d", "")
    _service(db, towns["neu"], "e", "Bauhof")
    db.commit()
    db.close()

    await asyncio.to_thread(upgrade, url, "head")

    db = sqlite3.connect(tmp_path / "old.db")
    departments = {
        (tenant, name): dep_id for dep_id, tenant, name in db.execute("SELECT id, tenant_id, name FROM department")
    }
    assert sorted((t == towns["alt"], n) for t, n in departments) == [
        (False, "Bauhof"),
        (True, "Bauhof"),
        (True, "Bürgerbüro"),
    ]
    routed = dict(db.execute("SELECT slug, department_id FROM service").fetchall())
    assert routed["a"] == routed["b"] == departments[(towns["alt"], "Bauhof")]
    assert routed["c"] == departments[(towns["alt"], "Bürgerbüro")]
    assert routed["d"] is None
    assert routed["e"] == departments[(towns["neu"], "Bauhof")]
    assert db.execute("SELECT count(*) FROM membership WHERE active = 0").fetchone() == (0,)
    db.close()
