"""Push delivery benchmark: deliveries/s of one worker to a local push endpoint vs. the raw crypto rate.

    .venv/bin/python -m bench.push_bench [--messages 2000] [--pg-host 127.0.0.1 ...]

Creates a fresh PostgreSQL database with the demo data, follows one demo case with N devices (N outbox
rows), then measures in one run:
  raw      encrypting (RFC 8291) and signing (VAPID ES256, a new token per message) the same N messages
           in this process, without sending;
  deliver  one Deliverer emptying the outbox to a local push endpoint (a separate process answering 201),
           including claiming, loading and recording the rows in PostgreSQL; also per second of the
           process's CPU time (all its threads), the rate one core would reach if the worker had it alone.
Target: deliver ≥ 70 % of raw. Prints its figures; exits 0 whatever they are.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import secrets
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from bench.http_bench import bench_settings, create_database, drop_database, free_port, prepare_database

ENDPOINT_SERVER = r"""
import asyncio, sys

class Push(asyncio.Protocol):
    def connection_made(self, transport):
        self.transport, self.buf = transport, b""
    def data_received(self, data):
        self.buf += data
        while True:
            head, sep, rest = self.buf.partition(b"\r\n\r\n")
            if not sep:
                return
            length = 0
            for line in head.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            if len(rest) < length:
                return
            self.buf = rest[length:]
            answer = b"HTTP/1.1 201 Created\r\ncontent-length: 0\r\n\r\n"
            if LATENCY:
                asyncio.get_running_loop().call_later(LATENCY, self.answer, answer)
            else:
                self.transport.write(answer)
    def answer(self, answer):
        if not self.transport.is_closing():
            self.transport.write(answer)

LATENCY = float(sys.argv[2]) if len(sys.argv) > 2 else 0.0  # seconds before each answer: a push service far away

async def main():
    loop = asyncio.get_running_loop()
    server = await loop.create_server(Push, "127.0.0.1", int(sys.argv[1]))
    print("ready", flush=True)
    await server.serve_forever()

asyncio.run(main())
"""


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--messages", type=int, default=2000)
    p.add_argument("--batch", type=int, default=250, help="rows per round (the worker's default: 250)")
    p.add_argument(
        "--latency", type=float, default=0.0, help="seconds the push endpoint waits before each answer (default: 0)"
    )
    p.add_argument("--pg-host", default="127.0.0.1")
    p.add_argument("--pg-port", type=int, default=5432)
    p.add_argument("--pg-user", default="postgres")
    return p.parse_args(argv)


async def seed(settings, endpoint_origin: str, n: int) -> list[dict]:  # type: ignore[no-untyped-def]
    """N devices following one musterstadt case, and one pending push row for each."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from sqlalchemy import select

    from backend.cases.models import Case
    from backend.core.db import alchemy_config, unscoped_session
    from backend.notifications.models import CaseSubscription, OutboxMessage, PushSubscription
    from backend.notifications.push import b64url, topic_for
    from backend.notifications.services import VapidKeyService
    from backend.tenants.models import Tenant

    db = alchemy_config(settings)
    devices = []
    now = datetime.datetime.now(datetime.UTC)
    async with unscoped_session(db) as session:
        tenant = await session.scalar(select(Tenant).where(Tenant.slug == "musterstadt"))
        case = await session.scalar(select(Case).where(Case.tenant_id == tenant.id).limit(1))  # type: ignore[union-attr]
        key = await VapidKeyService(session).active()
        point = (
            ec.generate_private_key(ec.SECP256R1())
            .public_key()
            .public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
        )
        for i in range(n):
            device = PushSubscription(
                tenant_id=tenant.id,
                endpoint=f"{endpoint_origin}/push/{i}",
                endpoint_hash=secrets.token_hex(32),
                p256dh=b64url(point),
                auth=b64url(secrets.token_bytes(16)),
                vapid_key_id=key.id,
            )
            session.add(device)
            devices.append(device)
        await session.flush()
        payload = {
            "title": tenant.name,
            "body": "Ihr Anliegen 2026-00001 ist jetzt: In Bearbeitung",  # type: ignore[union-attr]
            "url": f"/r/{case.tracking_token}",
            "tag": f"case-{case.id}",
        }  # type: ignore[union-attr]
        for device in devices:
            session.add(CaseSubscription(tenant_id=tenant.id, case_id=case.id, subscription_id=device.id))  # type: ignore[union-attr]
            session.add(
                OutboxMessage(
                    tenant_id=tenant.id,
                    channel="push",
                    case_id=case.id,
                    subscription_id=device.id,
                    language="de",  # type: ignore[union-attr]
                    payload=payload,
                    topic=topic_for(case.id.bytes),
                    urgency="normal",
                    ttl=172800,
                    next_attempt_at=now,  # type: ignore[union-attr]
                )
            )
        jobs = [
            {
                "endpoint": d.endpoint,
                "p256dh": d.p256dh,
                "auth": d.auth,
                "payload": payload,
                "ttl": 172800,
                "private_pem": key.private_pem,
                "public_key": key.public_key,
            }
            for d in devices
        ]
    await db.get_engine().dispose()
    return jobs


def raw_rate(jobs: list[dict], subject: str) -> float:
    from backend.notifications import push

    key = push.VapidKeyPair(private_pem=jobs[0]["private_pem"], public_key=jobs[0]["public_key"])
    started = time.perf_counter()
    for job in jobs:
        push._tokens.clear()  # sign every message anew: the raw cost of encrypting and signing
        push.build_request(
            endpoint=job["endpoint"],
            p256dh=job["p256dh"],
            auth=job["auth"],
            payload=job["payload"],
            key=key,
            subject=subject,
            ttl=job["ttl"],
            urgency="normal",
            topic="abc",
        )
    return len(jobs) / (time.perf_counter() - started)


async def deliver_rate(settings, n: int, limit: int) -> tuple[float, float, int]:  # type: ignore[no-untyped-def]
    from sqlalchemy import func, select

    from backend.core.db import alchemy_config, unscoped_session
    from backend.notifications.delivery import Deliverer, Round
    from backend.notifications.models import OutboxMessage

    class Counting(Deliverer):
        """Counts the rows whose outcome is recorded, so the benchmark needs no query of its own while it measures."""

        handled = 0

        async def _record(self, round_: Round, outcomes: list) -> None:  # type: ignore[type-arg]
            await super()._record(round_, outcomes)
            self.handled += sum(outcome is not None for outcome in outcomes)
            if self.handled >= n:
                finished.set()

    finished = asyncio.Event()

    db = alchemy_config(settings)
    worker = Counting(db, settings)
    stop = asyncio.Event()
    started, cpu = time.perf_counter(), time.process_time()
    # The worker's own loop (rounds overlap), stopped once every message is handled.
    loop = asyncio.create_task(worker.run_forever(stop, idle=0.01, limit=limit))
    await asyncio.wait([asyncio.create_task(finished.wait()), loop], return_when=asyncio.FIRST_COMPLETED)
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    stop.set()
    await loop
    async with unscoped_session(db) as session:
        sent = await session.scalar(
            select(func.count()).select_from(OutboxMessage).where(OutboxMessage.status == "sent")
        )
    await worker.aclose()
    await db.get_engine().dispose()
    return n / elapsed, n / cpu, int(sent or 0)


def run_loop(coro):  # type: ignore[no-untyped-def]
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coro)
    return uvloop.run(coro)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    name, url = create_database(args)
    data_dir = Path(tempfile.mkdtemp(prefix="rathaus-push-bench-"))
    port = free_port()
    endpoint = subprocess.Popen(
        [sys.executable, "-c", ENDPOINT_SERVER, str(port), str(args.latency)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert endpoint.stdout and endpoint.stdout.readline().strip() == "ready"
        prepare_database(url, data_dir)
        settings = replace(bench_settings(url, data_dir), push_endpoint_allowlist=("127.0.0.1",))
        jobs = asyncio.run(seed(settings, f"http://127.0.0.1:{port}", args.messages))
        from backend.core.heap import freeze_startup_heap

        freeze_startup_heap()  # as `rathaus worker` and `rathaus serve` do once they are ready
        raw = raw_rate(jobs, settings.vapid_subject)
        # The worker runs on uvloop, as it does inside `rathaus serve` and `rathaus worker`.
        delivered, per_core, sent = run_loop(deliver_rate(settings, args.messages, args.batch))
        print(f"\n  messages                      {args.messages}  (sent: {sent})")
        print(f"  raw encrypt + sign            {raw:8.0f} msg/s")
        print(f"  one worker, delivered         {delivered:8.0f} msg/s  ({delivered / raw * 100:.0f} % of raw)")
        print(
            f"  per second of its CPU time    {per_core:8.0f} msg    ({per_core / raw * 100:.0f} % of raw;"
            f" {1000 / per_core:.3f} ms CPU per message, all its threads)"
        )
        print(f"  target deliver >= 70 % of raw: {'PASS' if delivered >= 0.7 * raw else 'MISS'}\n")
    finally:
        endpoint.terminate()
        endpoint.wait()
        drop_database(args, name)
        import shutil

        shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
