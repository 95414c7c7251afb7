"""Inbox list and search on a big PostgreSQL database (a benchmark that prints figures, not a test).

    .venv/bin/python -m bench.inbox_bench [--cases 1000000] [--tenants 400] [--runs 30] [--database-url URL]
    .venv/bin/python -m bench.inbox_bench --cases 20000      # a quick small run
    .venv/bin/python -m bench.inbox_bench --database-url URL --reuse   # measure again what a run loaded there

Steps: create a fresh database on the local PostgreSQL server (or use --database-url, which must be empty and
is kept), run the migrations, create the municipalities (two services each) through the services, then
bulk-load the cases with COPY: skewed over the municipalities (a few big towns, many villages: weight
1/rank), realistic German addresses and texts, mixed statuses, deadlines, replies and timestamps spread over
two years. The secondary indexes are dropped for the load and made again afterwards (as pg_restore does),
then VACUUM (ANALYZE). Then, for the largest and a small municipality, every filter and sort of the inbox and a few
searches run through InboxService.list (the code the page runs: counts per status and one page of rows),
``--runs`` times each after a warm-up; p50/p95 in ms are printed as a table with the targets (list < 30 ms,
search < 100 ms at p95) as PASS/MISS. The exit status does not depend on the targets.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import json
import random
import secrets
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.serve_app import bench_settings  # noqa: E402

LIST_TARGET_MS = 30.0
SEARCH_TARGET_MS = 100.0
STREETS = (
    "Hauptstraße",
    "Bahnhofstraße",
    "Schulstraße",
    "Gartenstraße",
    "Dorfstraße",
    "Bergstraße",
    "Kirchstraße",
    "Lindenstraße",
    "Waldstraße",
    "Ringstraße",
    "Mühlenweg",
    "Marktplatz",
    "Schillerstraße",
    "Goethestraße",
    "Birkenweg",
    "Rosenweg",
    "Feldweg",
    "Industriestraße",
    "Friedhofstraße",
    "Schlossallee",
    "Brunnengasse",
    "Uferweg",
    "Talstraße",
    "Amselweg",
    "Eichendorffstraße",
)
TEXTS = (
    "Laterne leuchtet nicht",
    "Schlagloch in der Fahrbahn",
    "Müll am Straßenrand abgelegt",
    "Ampel defekt",
    "Gehweg beschädigt, Stolpergefahr",
    "Baum droht umzustürzen",
    "Spielplatz: Schaukel kaputt",
    "Graffiti an der Bushaltestelle",
    "Wasser tritt aus dem Hydranten",
    "Parkbank zerbrochen",
)
STATUSES = ("submitted",) * 4 + ("in_review",) * 3 + ("in_progress",) * 2 + ("needs_info", "completed", "rejected")
COPY_COLUMNS = (
    "id", "tenant_id", "service_id", "form_version_id", "reference", "tracking_token", "idempotency_key",
    "status", "answers", "location", "contact_email", "language", "citizen_replied_at", "emails_off", "due_at",
    "summary", "search_text", "last_activity_at", "created_at", "updated_at",
)  # fmt: skip
SECONDARY_INDEXES = (
    "ix_case_file_tenant_created_id", "ix_case_file_tenant_status_created_id", "ix_case_file_tenant_status",
    "ix_case_file_tenant_replied", "ix_case_file_tenant_due_id", "ix_case_file_tenant_activity_id",
    "ix_case_file_search_trgm", "ix_case_file_search_vector", "ix_case_file_service_id",
    "ix_case_file_tenant_service_status",
)  # fmt: skip


def _asyncpg_dsn(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://")


async def _create_tenants(settings: Any, count: int) -> list[tuple[uuid.UUID, list[tuple[uuid.UUID, uuid.UUID]]]]:
    """Municipalities with two services each: [(tenant id, [(service id, form version id), ...])]."""
    from sqlalchemy import select

    from backend.catalogue.models import FormVersion
    from backend.catalogue.services import CatalogueService
    from backend.core.db import alchemy_config, tenant_session, unscoped_session
    from backend.tenants.services import TenantService, to_context
    from tests.factories import REPORT_FORM

    db = alchemy_config(settings)
    made = []
    try:
        for n in range(count):
            async with unscoped_session(db) as session:
                ctx = to_context(await TenantService(session).create(slug=f"b{n:04d}", name=f"Gemeinde {n}"))
            services = []
            async with tenant_session(db, ctx.id) as session:
                catalogue = CatalogueService(session, ctx)
                for slug in ("street-light", "pothole"):
                    service = await catalogue.create_service(
                        slug=slug,
                        category={"de": "Straßen", "en": "Streets"},
                        name={"de": slug, "en": slug},
                        summary={"de": "", "en": ""},
                        keywords="",
                        form=REPORT_FORM,
                    )
                    form_id = await session.scalar(select(FormVersion.id).where(FormVersion.service_id == service.id))
                    services.append((service.id, form_id))
            made.append((ctx.id, services))
    finally:
        await db.get_engine().dispose()
    return made


def _rows(tenants: list[Any], count: int, rng: random.Random, numbers: dict[uuid.UUID, int]) -> list[tuple[Any, ...]]:
    """``count`` cases; ``numbers`` counts each municipality's cases (their reference numbers) across calls."""
    from backend.cases import search

    weights = [1 / (rank + 1) for rank in range(len(tenants))]
    picks = rng.choices(range(len(tenants)), weights=weights, k=count)
    now = datetime.datetime.now(datetime.UTC)
    rows = []
    fields = [("where", "location"), ("what", "textarea"), ("kind", "choice"), ("email", "email")]
    for pick in picks:
        tenant_id, services = tenants[pick]
        service_id, form_id = services[rng.random() < 0.3]
        created = now - datetime.timedelta(seconds=rng.randrange(0, 2 * 365 * 86400))
        number = numbers[tenant_id] = numbers.get(tenant_id, 0) + 1
        reference = f"{created.year}-{number:05d}"
        address = f"{rng.choice(STREETS)} {rng.randrange(1, 120)}"
        what = f"{rng.choice(TEXTS)}, seit {rng.randrange(2, 30)} Tagen. Nr. {rng.randrange(10**6)}"
        location = {"address": address, "lat": 50 + rng.random(), "lon": 8 + rng.random()}
        answers = {"where": location, "what": what, "kind": "dark"}
        status = rng.choice(STATUSES)
        activity = created + datetime.timedelta(seconds=rng.randrange(0, 30 * 86400))
        due = created + datetime.timedelta(days=14) if rng.random() < 0.7 else None
        replied = activity if status not in ("completed", "rejected") and rng.random() < 0.05 else None
        messages = ["Bauhof ist informiert"] if rng.random() < 0.3 else []
        rows.append(
            (
                uuid.uuid4(), tenant_id, service_id, form_id, reference, secrets.token_urlsafe(24),
                secrets.token_urlsafe(18), status, json.dumps(answers), json.dumps(location), None, "de", replied,
                False, due, search.summary_of(fields, answers, location),
                search.search_text_of(reference, fields, answers, location, messages), min(activity, now), created,
                min(activity, now),
            )
        )  # fmt: skip
    return rows


async def _load(url: str, tenants: list[Any], cases: int, rng: random.Random) -> dict[uuid.UUID, int]:
    """Generate and COPY the cases in chunks (a million rows at once would not fit a small machine's memory)."""
    import asyncpg

    conn = await asyncpg.connect(_asyncpg_dsn(url))
    try:
        definitions = {
            name: sql
            for name, sql in await conn.fetch(
                "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'case_file' AND indexname = ANY($1)",
                list(SECONDARY_INDEXES),
            )
        }
        started = time.perf_counter()
        for name in definitions:
            await conn.execute(f"DROP INDEX {name}")
        numbers: dict[uuid.UUID, int] = {}
        for start in range(0, cases, 50_000):
            rows = _rows(tenants, min(50_000, cases - start), rng, numbers)
            await conn.copy_records_to_table("case_file", records=rows, columns=COPY_COLUMNS)
            print(f"  {start + len(rows)} cases loaded ({time.perf_counter() - started:.0f} s)", flush=True)
        for sql in definitions.values():
            await conn.execute(sql)
        # As autovacuum leaves a table in service: statistics, and the visibility map the index-only scans need.
        await conn.execute("VACUUM (ANALYZE)")
        print(f"generated, loaded with COPY and indexed in {time.perf_counter() - started:.1f} s", flush=True)
        return numbers
    finally:
        await conn.close()


async def _measure(settings: Any, tenant_id: uuid.UUID, sample: str, runs: int) -> list[tuple[str, float, float, str]]:
    from backend.cases.scope import EVERY_CASE
    from backend.core.db import alchemy_config, tenant_session, unscoped_session
    from backend.inbox.services import InboxFilter, InboxService
    from backend.tenants.models import Tenant
    from backend.tenants.services import to_context

    cases: list[tuple[str, dict[str, str], str]] = [
        ("newest", {}, "list"),
        ("oldest", {"sort": "oldest"}, "list"),
        ("due date", {"sort": "due"}, "list"),
        ("last activity", {"sort": "activity"}, "list"),
        ("status in_review", {"status": "in_review"}, "list"),
        ("service", {"service": "pothole"}, "list"),
        ("overdue", {"due": "overdue"}, "list"),
        ("due soon", {"due": "soon"}, "list"),
        ("citizen replied", {"replied": "1"}, "list"),
        ("date range (1 month)", {"from": "2026-03-01", "to": "2026-03-31"}, "list"),
        ("search: street", {"q": "Lindenstraße"}, "search"),
        ("search: part of a word", {"q": "schaukel"}, "search"),
        ("search: two words", {"q": "Ampel Bergstr"}, "search"),
        ("search: reference", {"q": sample}, "search"),
        ("search: no hit", {"q": "Zebrastreifen"}, "search"),
    ]
    db = alchemy_config(settings)
    results = []
    try:
        async with unscoped_session(db) as session:
            ctx = to_context(await session.get_one(Tenant, tenant_id))
        for label, params, kind in cases:
            flt = InboxFilter.parse(params)
            timings = []
            async with tenant_session(db, tenant_id) as session:
                inbox = InboxService(session, ctx, scope=EVERY_CASE)  # a supervisor's list: every case
                page = await inbox.list(flt)  # warm-up; and the second page's cursor
                if label == "newest" and page.next_after:
                    cases.append(("newest, page 2", {"after": page.next_after}, "list"))
                for _ in range(runs):
                    started = time.perf_counter()
                    await inbox.list(flt)
                    timings.append((time.perf_counter() - started) * 1000)
            timings.sort()
            p95 = timings[min(len(timings) - 1, int(len(timings) * 0.95))]
            results.append((label, statistics.median(timings), p95, kind))
    finally:
        await db.get_engine().dispose()
    return results


async def _fold_counts(settings: Any) -> None:
    """The load's running counts (a row per case, written by the triggers) folded, as the app's sweep does."""
    from backend.cases.tally import compact
    from backend.core.db import alchemy_config

    db = alchemy_config(settings)
    try:
        await compact(db)
    finally:
        await db.get_engine().dispose()


async def _loaded(url: str) -> dict[uuid.UUID, int]:
    """The cases per municipality a database already holds (--reuse)."""
    import asyncpg

    conn = await asyncpg.connect(_asyncpg_dsn(url))
    try:
        return {
            tenant_id: n for tenant_id, n in await conn.fetch("SELECT tenant_id, count(*) FROM case_file GROUP BY 1")
        }
    finally:
        await conn.close()


async def _run(args: argparse.Namespace) -> None:
    import asyncpg

    from backend.core.migrate import upgrade

    url, created = args.database_url, False
    if not url:
        name = f"rathaus_bench_inbox_{secrets.token_hex(4)}"
        admin = await asyncpg.connect(f"postgresql://{args.pg_user}@{args.pg_host}:{args.pg_port}/postgres")
        await admin.execute(f"CREATE DATABASE {name}")
        await admin.close()
        url, created = f"postgresql+asyncpg://{args.pg_user}@{args.pg_host}:{args.pg_port}/{name}", True
    try:
        with tempfile.TemporaryDirectory() as data_dir:
            settings = bench_settings(url, Path(data_dir))
            await asyncio.to_thread(upgrade, url)  # Alembic runs its own event loop
            numbers = await _loaded(url) if args.reuse else {}
            if numbers:
                print(f"measuring the {sum(numbers.values())} cases already in the database", flush=True)
            else:
                started = time.perf_counter()
                tenants = await _create_tenants(settings, args.tenants)
                print(f"{args.tenants} municipalities made in {time.perf_counter() - started:.1f} s", flush=True)
                numbers = await _load(url, tenants, args.cases, random.Random(args.seed))
                await _fold_counts(settings)
            by_size = sorted(numbers.items(), key=lambda item: item[1], reverse=True)
            picks = [("large", *by_size[0]), ("small", *by_size[len(by_size) * 3 // 4])]
            print()
            print(f"{'municipality':<12} {'query':<26} {'p50 ms':>8} {'p95 ms':>8}  target")
            for size, tenant_id, count in picks:
                # A reference of the town typed exactly (its numbers run 1..count, the year is the created one).
                for label, p50, p95, kind in await _measure(settings, tenant_id, f"-{count // 2:05d}", args.runs):
                    target = SEARCH_TARGET_MS if kind == "search" else LIST_TARGET_MS
                    verdict = "PASS" if p95 < target else "MISS"
                    print(f"{size + f' ({count})':<12} {label:<26} {p50:>8.1f} {p95:>8.1f}  {verdict} (<{target:.0f})")
    finally:
        if created:
            admin = await asyncpg.connect(f"postgresql://{args.pg_user}@{args.pg_host}:{args.pg_port}/postgres")
            await admin.execute(f"DROP DATABASE IF EXISTS {url.rsplit('/', 1)[1]} WITH (FORCE)")
            await admin.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", type=int, default=1_000_000)
    parser.add_argument("--tenants", type=int, default=400)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--database-url", default="")
    parser.add_argument(
        "--reuse", action="store_true", help="with --database-url: measure the cases it already holds (no new load)"
    )
    parser.add_argument("--pg-host", default="127.0.0.1")
    parser.add_argument("--pg-port", default="5432")
    parser.add_argument("--pg-user", default="postgres")
    asyncio.run(_run(parser.parse_args()))


if __name__ == "__main__":
    main()
