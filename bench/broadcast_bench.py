"""Broadcast benchmark: one news push to every subscribed device of a municipality, delivered by `rathaus worker`s.

    .venv/bin/python -m bench.broadcast_bench [--devices 100000] [--workers 2] [--pg-host 127.0.0.1 ...]

Creates a fresh PostgreSQL database with the demo data and subscribes N devices of `musterstadt` to every
news category (bulk COPY; each device has its own endpoint on a local push endpoint that answers 201, and
real P-256 keys, so every push is encrypted and signed as for a browser). Starts the given number of
`rathaus worker` processes, then publishes one warning the way an admin does (NewsService.create in the
municipality's session, which queues one outbox row per device in the same transaction) and measures from
that commit until every outbox row of the item is `sent` (the database is polled every 0.5 s).
Target: 100,000 devices in under 60 s with two workers. Prints its figures; exits 0 whatever they are.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from bench.http_bench import bench_settings, create_database, drop_database, free_port, prepare_database
from bench.push_bench import ENDPOINT_SERVER, run_loop

ROOT = Path(__file__).resolve().parent.parent
TENANT = "musterstadt"
TARGET_SECONDS = 60.0
COPY_CHUNK = 50_000


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--devices", type=int, default=100_000)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--timeout", type=float, default=600.0, help="give up waiting for delivery after this many s")
    p.add_argument("--pg-host", default="127.0.0.1")
    p.add_argument("--pg-port", type=int, default=5432)
    p.add_argument("--pg-user", default="postgres")
    p.add_argument("--keep-db", action="store_true", help="do not drop the database at the end")
    return p.parse_args(argv)


def plain_url(url: str) -> str:
    """The SQLAlchemy URL as asyncpg takes it."""
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)


# --- CPU use from /proc ----------------------------------------------------------------------------------

TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of one process so far."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICKS


def host_ticks() -> tuple[int, int]:
    """(busy, total) CPU ticks of the whole machine so far."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + values[4]
    return sum(values) - idle, sum(values)


# --- setup -----------------------------------------------------------------------------------------------


async def subscribe_devices(settings, endpoint_origin: str, n: int) -> uuid.UUID:  # type: ignore[no-untyped-def]
    """N devices of musterstadt, each subscribed to every news category; returns the municipality's id."""
    import asyncpg
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from sqlalchemy import select

    from backend.core.db import alchemy_config, unscoped_session
    from backend.news.schemas import CATEGORIES
    from backend.notifications.push import b64url
    from backend.notifications.services import VapidKeyService, endpoint_hash
    from backend.tenants.models import Tenant

    db = alchemy_config(settings)
    async with unscoped_session(db) as session:
        tenant = await session.scalar(select(Tenant).where(Tenant.slug == TENANT))
        assert tenant is not None, f"demo municipality {TENANT} missing"
        tenant_id = tenant.id
        key_id = (await VapidKeyService(session).active()).id
    await db.get_engine().dispose()

    # One real browser key pair and auth secret, shared by every device: each push is still encrypted anew.
    p256dh = b64url(
        ec.generate_private_key(ec.SECP256R1())
        .public_key()
        .public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    )
    auth = b64url(secrets.token_bytes(16))
    now = datetime.datetime.now(datetime.UTC)
    conn = await asyncpg.connect(plain_url(settings.database_url))
    try:
        for start in range(0, n, COPY_CHUNK):
            devices, choices = [], []
            for i in range(start, min(n, start + COPY_CHUNK)):
                device_id = uuid.uuid4()
                endpoint = f"{endpoint_origin}/push/{i}"
                devices.append(
                    (device_id, tenant_id, endpoint, endpoint_hash(endpoint), p256dh, auth, key_id, now, now)
                )
                choices += [(uuid.uuid4(), tenant_id, device_id, c, now, now) for c in CATEGORIES]
            async with conn.transaction():
                await conn.copy_records_to_table(
                    "push_subscription",
                    records=devices,
                    columns=[
                        "id",
                        "tenant_id",
                        "endpoint",
                        "endpoint_hash",
                        "p256dh",
                        "auth",
                        "vapid_key_id",
                        "created_at",
                        "updated_at",
                    ],
                )
                await conn.copy_records_to_table(
                    "news_subscription",
                    records=choices,
                    columns=["id", "tenant_id", "subscription_id", "category", "created_at", "updated_at"],
                )
        await conn.execute("ANALYZE push_subscription; ANALYZE news_subscription; ANALYZE outbox_message")
    finally:
        await conn.close()
    return tenant_id  # type: ignore[no-any-return]


def start_workers(count: int, database_url: str, data_dir: Path) -> list[tuple[subprocess.Popen, Path]]:
    env = {
        **os.environ,
        "RATHAUS_ENV": "development",
        "RATHAUS_DATABASE_URL": database_url,
        "RATHAUS_DATA_DIR": str(data_dir),
        "RATHAUS_BASE_DOMAIN": "localhost",
        "RATHAUS_HTTPS": "false",
        "RATHAUS_LOG_LEVEL": "WARNING",
        "RATHAUS_LOG_FORMAT": "text",
        # The local push endpoint: loopback, plain http on its own port.
        "RATHAUS_PUSH_ENDPOINT_ALLOWLIST": "127.0.0.1",
    }
    rathaus = ROOT / ".venv" / "bin" / "rathaus"
    command = [str(rathaus)] if rathaus.exists() else [sys.executable, "-m", "backend"]
    workers = []
    for i in range(count):
        log_path = data_dir / f"worker-{i}.log"
        with log_path.open("wb") as log:
            proc = subprocess.Popen([*command, "worker"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        workers.append((proc, log_path))
    deadline = time.monotonic() + 60
    for proc, log_path in workers:
        while b"delivery worker running" not in log_path.read_bytes():
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"worker did not start:\n{log_path.read_text(errors='replace')[-2000:]}")
            time.sleep(0.1)
    return workers


# --- the measured part -----------------------------------------------------------------------------------


async def publish(settings, tenant_id: uuid.UUID) -> tuple[uuid.UUID, float, float]:  # type: ignore[no-untyped-def]
    """One warning published as the admin's save does it; returns (item id, start, commit) in perf_counter s."""
    from sqlalchemy import select

    from backend.core.db import alchemy_config, tenant_session, unscoped_session
    from backend.news.schemas import NewsForm
    from backend.news.services import NewsService
    from backend.tenants.models import Tenant
    from backend.tenants.services import to_context

    db = alchemy_config(settings)
    async with unscoped_session(db) as session:
        context = to_context(await session.scalar(select(Tenant).where(Tenant.id == tenant_id)))  # type: ignore[arg-type]
    form = NewsForm(
        title="Unwetterwarnung: Sturmböen bis 100 km/h",
        text="Der Deutsche Wetterdienst warnt vor Sturmböen. Bitte meiden Sie Parks und Wälder.",
        link=None,
        category="warning",
        valid_from=datetime.datetime.now(datetime.UTC),
        valid_until=None,
    )
    started = time.perf_counter()
    async with tenant_session(db, context.id) as session:
        item = await NewsService(session, context).create(form)
        item_id = item.id
    committed = time.perf_counter()
    await db.get_engine().dispose()
    return item_id, started, committed


async def wait_for_delivery(
    database_url: str, news_id: uuid.UUID, expected: int, committed: float, give_up_after: float, procs: dict[str, int]
) -> dict:
    """Polls the outbox every 0.5 s until no row of the item is pending (or the timeout); returns the figures."""
    import asyncpg

    conn = await asyncpg.connect(plain_url(database_url))
    # The database's share: the server processes of this database's connections (the workers' pools).
    backends = await conn.fetch(
        "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
    )
    procs = {**procs, **{f"db {r['pid']}": r["pid"] for r in backends}}
    cpu_before = {name: cpu_seconds(pid) for name, pid in procs.items()}
    host_before = host_ticks()
    first_sent = None
    counts: dict[str, int] = {}
    try:
        while True:
            rows = await conn.fetch(
                "SELECT status, count(*) AS n FROM outbox_message WHERE news_id = $1 GROUP BY status", news_id
            )
            now = time.perf_counter()
            counts = {r["status"]: r["n"] for r in rows}
            total = sum(counts.values())
            if first_sent is None and counts.get("sent"):
                first_sent = now
            if total >= expected and not counts.get("pending"):
                break
            if now - committed > give_up_after:
                print(f"  gave up waiting after {give_up_after:.0f} s", flush=True)
                break
            await asyncio.sleep(0.5)
        done = time.perf_counter()
    finally:
        await conn.close()
    host_after = host_ticks()
    elapsed = done - committed
    cpu = {name: (cpu_seconds(pid) - cpu_before[name]) / elapsed for name, pid in procs.items()}
    database = sum(v for name, v in cpu.items() if name.startswith("db "))
    return {
        "elapsed": elapsed,
        "first_sent": (first_sent - committed) if first_sent else None,
        "counts": counts,
        "cpu": {**{n: v for n, v in cpu.items() if not n.startswith("db ")}, "PostgreSQL": database},
        "host": (host_after[0] - host_before[0]) / max(1, host_after[1] - host_before[1]),
    }


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    name, url = create_database(args)
    data_dir = Path(tempfile.mkdtemp(prefix="rathaus-broadcast-bench-"))
    port = free_port()
    endpoint = subprocess.Popen([sys.executable, "-c", ENDPOINT_SERVER, str(port)], stdout=subprocess.PIPE, text=True)
    workers: list[tuple[subprocess.Popen, Path]] = []
    try:
        assert endpoint.stdout and endpoint.stdout.readline().strip() == "ready"
        print(f"  load average before the run: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
        print(f"  database {name}, local push endpoint on 127.0.0.1:{port}", flush=True)
        setup_started = time.perf_counter()
        prepare_database(url, data_dir)
        settings = bench_settings(url, data_dir)
        tenant_id = asyncio.run(subscribe_devices(settings, f"http://127.0.0.1:{port}", args.devices))
        print(
            f"  {args.devices} devices subscribed to every category "
            f"(setup {time.perf_counter() - setup_started:.1f} s, not measured)",
            flush=True,
        )
        workers = start_workers(args.workers, url, data_dir)
        print(f"  {args.workers} `rathaus worker` processes running; publishing one warning", flush=True)

        news_id, started, committed = run_loop(publish(settings, tenant_id))
        procs = {f"worker {i + 1}": proc.pid for i, (proc, _) in enumerate(workers)}
        procs["push endpoint"] = endpoint.pid
        figures = asyncio.run(wait_for_delivery(url, news_id, args.devices, committed, args.timeout, procs))

        counts = figures["counts"]
        sent = counts.get("sent", 0)
        queued = sum(counts.values())
        elapsed = figures["elapsed"]
        not_sent = args.devices - sent
        first = figures["first_sent"]
        print(f"\n  devices                          {args.devices}")
        print(f"  workers                          {args.workers}")
        print(f"  queue (save + commit, in the admin's transaction)  {committed - started:6.2f} s  ({queued} rows)")
        if first is not None:
            print(f"  first push sent after commit     {first:6.2f} s")
        print(f"  all delivered after commit       {elapsed:6.2f} s")
        print(f"  rate                             {sent / elapsed:6.0f} msg/s")
        print(f"  rows not sent                    {not_sent}  {dict(sorted(counts.items()))}")
        shares = ", ".join(f"{n} {v * 100:.0f} %" for n, v in figures["cpu"].items())
        print(f"  CPU (% of one core)              {shares}")
        print(f"  host busy                        {figures['host'] * 100:.0f} % of {os.cpu_count()} cores")
        ok = not_sent == 0 and elapsed < TARGET_SECONDS
        print(f"  target all {args.devices} delivered in < {TARGET_SECONDS:.0f} s: {'PASS' if ok else 'MISS'}\n")
        for proc, log_path in workers:
            problems = [line for line in log_path.read_text(errors="replace").splitlines() if "ERROR" in line]
            if problems:
                print(f"  worker {proc.pid}: {len(problems)} error lines, first: {problems[0][:300]}")
    finally:
        for proc, _ in workers:
            proc.terminate()
        for proc, _ in workers:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        endpoint.terminate()
        endpoint.wait()
        if args.keep_db:
            print(f"  database kept: {url}")
        else:
            drop_database(args, name)
        shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
