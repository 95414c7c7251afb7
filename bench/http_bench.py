"""HTTP benchmark of one Rathaus server process on PostgreSQL (a benchmark that prints figures, not a test).

    .venv/bin/python -m bench.http_bench [--connections 16] [--duration 10] [--warmup 2] [--database-url URL]

Steps: create a fresh database on the local PostgreSQL server (or use --database-url), run the migrations,
load the demo data, start ONE uvicorn process (bench/serve_app.py) and wait for /health; then load four
endpoints of that server one after the other, each with a warm-up and a measured run at fixed concurrency:

    health     GET  /health                  the ceiling: a plain-text answer of the same app, no database
    home       GET  /                        a municipality's home page (Host musterstadt.localhost)
    tracking   GET  /r/<token>               the tracking page of an existing demo case
    submit     POST /s/schlagloch/submit     the final submit of a pothole report: every request carries a
                                             new idempotency key, so every request creates a real case

and print requests/s, p50/p99 latency, errors and the share of the ceiling, with the targets (tracking page
>= 25 % of the ceiling, submission >= 10 %) as PASS/MISS. The exit status does not depend on the targets.
At the end the server is stopped, the database dropped (unless it came from --database-url) and the
temporary data folder removed.

Load generator: `wrk` with bench/wrk_report.lua when it is installed (Debian package `wrk`), else a built-in
asyncio client over raw sockets (slower: on a small machine it takes CPU from the server, so the absolute
figures come out lower; the shares of the ceiling remain comparable).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import http.client
import json
import os
import platform
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.serve_app import bench_settings  # noqa: E402

TENANT = "musterstadt"
TENANT_HOST = "musterstadt.localhost"
SERVICE = "schlagloch"  # pothole report: a location, a size, a description; photos and e-mail optional
LUA_SCRIPT = BENCH_DIR / "wrk_report.lua"
KEY_PLACEHOLDER = "@KEY@"
TARGETS = {"tracking": 25.0, "submit": 10.0}  # % of the ceiling


# --- endpoints and results -------------------------------------------------------------------


@dataclass
class Endpoint:
    name: str
    method: str
    path: str
    host: str | None  # None: the server's own address (the platform host)
    expected: int
    headers: dict[str, str] = field(default_factory=dict)
    body: str | None = None  # urlencoded, with KEY_PLACEHOLDER where each request gets a new key
    label: str = ""

    def describe(self) -> str:
        return self.label or f"{self.method} {self.path}"


@dataclass
class Result:
    endpoint: Endpoint
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    errors: int
    detail: str = ""
    server_cpu: float | None = None  # % of one core used by the server process during the run
    host_cpu: float | None = None  # % of all cores busy during the run (server, database, load generator, rest)

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def cpu_ms_per_request(self) -> float | None:
        """Server CPU time per request: a cost that depends less on what else runs than requests/s does."""
        if self.server_cpu is None or not self.requests:
            return None
        return self.server_cpu / 100 * self.seconds / self.requests * 1000


# --- database ----------------------------------------------------------------------------------


def _admin_url(args: argparse.Namespace) -> str:
    return f"postgresql+asyncpg://{args.pg_user}@{args.pg_host}:{args.pg_port}/postgres"


async def _admin(args: argparse.Namespace, *statements: str) -> None:
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import create_async_engine

    engine = create_async_engine(_admin_url(args), isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as conn:
            for statement in statements:
                await conn.execute(text(statement))
    finally:
        await engine.dispose()


def create_database(args: argparse.Namespace) -> tuple[str, str]:
    name = f"rathaus_bench_{secrets.token_hex(4)}"
    asyncio.run(_admin(args, f'CREATE DATABASE "{name}"'))
    return name, f"postgresql+asyncpg://{args.pg_user}@{args.pg_host}:{args.pg_port}/{name}"


def drop_database(args: argparse.Namespace, name: str) -> None:
    try:
        asyncio.run(_admin(args, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    except Exception as exc:  # noqa: BLE001 - report and go on cleaning up
        print(f"warning: could not drop database {name}: {exc}", file=sys.stderr)


async def _query(database_url: str, sql: str, **params: Any) -> list[Any]:
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import create_async_engine

    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as conn:
            return list((await conn.execute(text(sql), params)).all())
    finally:
        await engine.dispose()


def query(database_url: str, sql: str, **params: Any) -> list[Any]:
    return asyncio.run(_query(database_url, sql, **params))


def prepare_database(database_url: str, data_dir: Path) -> None:
    from backend.core.migrate import upgrade
    from backend.demo import load_demo

    upgrade(database_url)
    loaded = asyncio.run(load_demo(bench_settings(database_url, data_dir)))
    print(f"  migrations applied, demo data {'loaded' if loaded else 'already present'}")


def pick_tracking_case(database_url: str) -> tuple[str, str, int]:
    """The musterstadt demo case with the longest public timeline (the heaviest tracking page)."""
    rows = query(
        database_url,
        """
        SELECT c.tracking_token, c.reference, count(e.id) AS events
        FROM case_file c
        JOIN tenant t ON t.id = c.tenant_id
        LEFT JOIN case_event e ON e.case_id = c.id AND e.public
        WHERE t.slug = :slug
        GROUP BY c.id, c.tracking_token, c.reference
        ORDER BY events DESC, c.reference
        LIMIT 1
        """,
        slug=TENANT,
    )
    if not rows:
        raise SystemExit(f"no case of {TENANT} in the database: is the demo data loaded?")
    token, reference, events = rows[0]
    return token, reference, int(events)


def count_cases(database_url: str) -> int:
    return int(query(database_url, "SELECT count(*) FROM case_file")[0][0])


# --- the server ----------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    def __init__(self, database_url: str, data_dir: Path, port: int, log_path: Path, kind: str = "uvicorn") -> None:
        self.port = port
        self.kind = kind
        self.log_path = log_path
        self._log = log_path.open("wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bench.serve_app", database_url, str(data_dir), str(port), kind],
            cwd=ROOT,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            env={k: v for k, v in os.environ.items() if not k.startswith("RATHAUS_")},
        )

    def wait_healthy(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit(f"the server exited with status {self.proc.returncode}:\n{self.log_tail()}")
            with contextlib.suppress(OSError, http.client.HTTPException):
                status, _, body = fetch(self.port, "GET", "/health")
                if status == 200 and body.strip() == b"ok":
                    return
            time.sleep(0.1)
        raise SystemExit(f"the server did not answer /health within {timeout:.0f} s:\n{self.log_tail()}")

    def log_tail(self, lines: int = 30) -> str:
        self._log.flush()
        text = self.log_path.read_text(errors="replace").splitlines()
        return "\n".join(text[-lines:]) or "(no output)"

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)  # uvicorn shuts down gracefully (lifespan disposes the pool)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        self._log.close()


def server_features() -> str:
    """Whether uvicorn will pick uvloop and httptools (loop="auto", http="auto") in this environment."""
    found = []
    for module in ("uvloop", "httptools"):
        try:
            __import__(module)
            found.append(f"{module} yes")
        except ImportError:
            found.append(f"{module} no")
    return ", ".join(found)


# --- single requests for the preparation and the checks ------------------------------------------


def fetch(
    port: int,
    method: str,
    path: str,
    host: str | None = None,
    headers: dict[str, str] | None = None,
    body: str | None = None,
) -> tuple[int, http.client.HTTPMessage, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        all_headers = dict(headers or {})
        if host:
            all_headers["Host"] = host
        if body is not None:
            all_headers.setdefault("Content-Type", "application/x-www-form-urlencoded")
        conn.request(method, path, body=body.encode() if body is not None else None, headers=all_headers)
        response = conn.getresponse()
        return response.status, response.headers, response.read()
    finally:
        conn.close()


def _hidden_input(html: str, name: str) -> str:
    for tag in re.findall(r"<input\b[^>]*>", html):
        if re.search(rf'\bname="{re.escape(name)}"', tag):
            value = re.search(r'\bvalue="([^"]*)"', tag)
            if value:
                return value.group(1)
    raise SystemExit(f"the form page has no hidden input {name!r}")


def submission_endpoint(port: int) -> Endpoint:
    """GET the form once (as a citizen's browser would) for the CSRF cookie and token and the form version."""
    status, headers, body = fetch(port, "GET", f"/s/{SERVICE}/form", TENANT_HOST)
    if status != 200:
        raise SystemExit(f"GET /s/{SERVICE}/form answered {status}")
    html = body.decode()
    csrf_cookie = next(
        (
            c.split(";", 1)[0].split("=", 1)[1]
            for c in headers.get_all("set-cookie") or []
            if c.startswith("rathaus_csrf=")
        ),
        None,
    )
    if csrf_cookie is None:
        raise SystemExit("the form page set no rathaus_csrf cookie")
    fields = {
        "_csrf_token": _hidden_input(html, "_csrf_token"),
        "idempotency_key": KEY_PLACEHOLDER,
        "form_version": _hidden_input(html, "form_version"),
        "ort__lat": "48.137154",
        "ort__lon": "11.576124",
        "ort__address": "Hauptstraße 12, 12345 Musterstadt",
        "ort__description": "Vor der Bäckerei, rechte Fahrspur",
        "groesse": "mittel",
        "beschreibung": "Tiefes Schlagloch, etwa 10 cm tief und so groß wie ein Autoreifen.",
        "email": "buerger@example.org",
    }
    body_template = urllib.parse.urlencode(fields).replace(urllib.parse.quote(KEY_PLACEHOLDER), KEY_PLACEHOLDER)
    return Endpoint(
        "submit",
        "POST",
        f"/s/{SERVICE}/submit",
        TENANT_HOST,
        303,
        headers={"Cookie": f"rathaus_csrf={csrf_cookie}"},
        body=body_template,
        label=f"POST /s/{SERVICE}/submit",
    )


def check_endpoint(port: int, ep: Endpoint) -> None:
    """One request before the load, so that a broken setup stops the run instead of giving false figures."""
    body = ep.body.replace(KEY_PLACEHOLDER, "check-" + secrets.token_hex(8)) if ep.body else None
    status, headers, content = fetch(port, ep.method, ep.path, ep.host, ep.headers, body)
    location = headers.get("location", "")
    if status != ep.expected or (ep.expected == 303 and not location.startswith("/r/")):
        snippet = content[:400].decode(errors="replace")
        raise SystemExit(f"{ep.describe()} answered {status} (expected {ep.expected}) {location}\n{snippet}")


# --- load generators -------------------------------------------------------------------------------


def wrk_available() -> bool:
    return shutil.which("wrk") is not None


def run_wrk(port: int, ep: Endpoint, args: argparse.Namespace, seconds: int, nonce: str) -> Result:
    threads = max(1, min(args.threads, args.connections))
    per_thread_max = -(-args.max_requests // threads)
    cmd = [
        "wrk",
        f"-t{threads}",
        f"-c{args.connections}",
        f"-d{seconds}s",
        f"--timeout={args.timeout}s",
        "-s",
        str(LUA_SCRIPT),
    ]
    for name, value in {**({"Host": ep.host} if ep.host else {}), **ep.headers}.items():
        cmd += ["-H", f"{name}: {value}"]
    cmd += [f"http://127.0.0.1:{port}{ep.path}", "--", str(ep.expected), str(per_thread_max)]
    if ep.body is not None:
        cmd += [nonce, ep.body]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + args.timeout + 60)
    line = next((ln for ln in out.stdout.splitlines() if ln.startswith("WRK_RESULT ")), None)
    if out.returncode != 0 or line is None:
        raise SystemExit(f"wrk failed ({out.returncode}):\n{out.stdout}\n{out.stderr}")
    r = json.loads(line.removeprefix("WRK_RESULT "))
    socket_errors = r["connect"] + r["read"] + r["write"] + r["timeout"]
    detail = ", ".join(f"{k} {r[k]}" for k in ("connect", "read", "write", "timeout") if r[k])
    return Result(
        ep,
        requests=r["requests"],
        seconds=r["duration_us"] / 1e6,
        p50_ms=r["p50_us"] / 1000,
        p99_ms=r["p99_us"] / 1000,
        errors=r["bad"] + socket_errors,
        detail=detail,
    )


class _Budget:
    def __init__(self, limit: int) -> None:
        self.left = limit

    def take(self) -> bool:
        if self.left <= 0:
            return False
        self.left -= 1
        return True


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, dict[bytes, bytes]]:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = int(lines[0].split(b" ", 2)[1])
    headers: dict[bytes, bytes] = {}
    for line in lines[1:]:
        if line:
            name, _, value = line.partition(b":")
            headers[name.strip().lower()] = value.strip()
    if b"content-length" in headers:
        await reader.readexactly(int(headers[b"content-length"]))
    elif headers.get(b"transfer-encoding", b"").lower() == b"chunked":
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";", 1)[0], 16)
            await reader.readexactly(size + 2)
            if size == 0:
                break
    return status, headers


async def _python_load(port: int, ep: Endpoint, args: argparse.Namespace, seconds: float, nonce: str) -> Result:
    head = [f"{ep.method} {ep.path} HTTP/1.1", f"Host: {ep.host or f'127.0.0.1:{port}'}"]
    head += [f"{k}: {v}" for k, v in ep.headers.items()]
    static = None
    if ep.body is None:
        static = ("\r\n".join(head) + "\r\n\r\n").encode()
    counter = iter(range(1, 1 << 62))

    def make_request() -> bytes:
        if static is not None:
            return static
        body = ep.body.replace(KEY_PLACEHOLDER, f"{nonce}-py-{next(counter):010d}").encode()  # type: ignore[union-attr]
        extra = f"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {len(body)}\r\n\r\n"
        return ("\r\n".join(head) + "\r\n" + extra).encode() + body

    latencies: list[float] = []
    errors = 0
    budget = _Budget(args.max_requests)
    deadline = time.monotonic() + seconds

    async def client() -> None:
        nonlocal errors
        reader = writer = None
        while time.monotonic() < deadline and budget.take():
            try:
                if writer is None:
                    reader, writer = await asyncio.open_connection("127.0.0.1", port)
                started = time.perf_counter()
                writer.write(make_request())
                status, headers = await asyncio.wait_for(_read_response(reader), args.timeout)  # type: ignore[arg-type]
                latencies.append(time.perf_counter() - started)
                if status != ep.expected or (
                    ep.expected == 303 and not headers.get(b"location", b"").startswith(b"/r/")
                ):
                    errors += 1
                if headers.get(b"connection", b"").lower() == b"close":
                    writer.close()
                    reader = writer = None
            except (TimeoutError, OSError, asyncio.IncompleteReadError, ValueError):
                errors += 1
                if writer is not None:
                    writer.close()
                reader = writer = None
        if writer is not None:
            writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(args.connections)))
    elapsed = time.perf_counter() - started
    latencies.sort()

    def pct(p: float) -> float:
        return latencies[min(len(latencies) - 1, int(len(latencies) * p / 100))] * 1000 if latencies else 0.0

    return Result(ep, len(latencies), elapsed, pct(50), pct(99), errors)


def run_python(port: int, ep: Endpoint, args: argparse.Namespace, seconds: float, nonce: str) -> Result:
    try:
        import uvloop

        return uvloop.run(_python_load(port, ep, args, seconds, nonce))
    except ImportError:
        return asyncio.run(_python_load(port, ep, args, seconds, nonce))


# --- the run ---------------------------------------------------------------------------------------


class CpuMeter:
    """CPU time of the server process and of the whole machine, from /proc (Linux); None elsewhere."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.ticks = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100

    def _process(self) -> float | None:
        try:
            fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / self.ticks  # utime + stime
        except (OSError, IndexError, ValueError):
            return None

    @staticmethod
    def _host() -> tuple[float, float] | None:
        try:
            values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
            idle = values[3] + values[4]  # idle + iowait
            return float(sum(values) - idle), float(sum(values))
        except (OSError, IndexError, ValueError):
            return None

    def start(self) -> None:
        self._t0, self._p0, self._h0 = time.monotonic(), self._process(), self._host()

    def stop(self) -> tuple[float | None, float | None]:
        elapsed, p1, h1 = time.monotonic() - self._t0, self._process(), self._host()
        server = 100 * (p1 - self._p0) / elapsed if p1 is not None and self._p0 is not None else None
        host = None
        if h1 is not None and self._h0 is not None and h1[1] > self._h0[1]:
            host = 100 * (h1[0] - self._h0[0]) / (h1[1] - self._h0[1])
        return server, host


def measure(port: int, ep: Endpoint, args: argparse.Namespace, use_wrk: bool, cpu: CpuMeter) -> Result:
    run = run_wrk if use_wrk else run_python
    if args.warmup > 0:
        run(port, ep, args, args.warmup, secrets.token_hex(4))  # discarded
    cpu.start()
    result = run(port, ep, args, args.duration, secrets.token_hex(4))
    result.server_cpu, result.host_cpu = cpu.stop()
    return result


def print_table(results: list[Result]) -> None:
    ceiling = next((r.rps for r in results if r.endpoint.name == "health"), 0.0)
    header = ("endpoint", "requests/s", "p50 ms", "p99 ms", "errors", "% of ceiling")
    rows = [(*header, "server CPU", "CPU ms/req", "host CPU")]
    for r in results:
        share = f"{100 * r.rps / ceiling:.1f} %" if ceiling else "-"
        errors = f"{r.errors}" + (f" ({r.detail})" if r.detail else "")
        server_cpu = f"{r.server_cpu:.0f} %" if r.server_cpu is not None else "-"
        host_cpu = f"{r.host_cpu:.0f} %" if r.host_cpu is not None else "-"
        per_request = f"{r.cpu_ms_per_request:.2f}" if r.cpu_ms_per_request is not None else "-"
        rows.append(
            (
                r.endpoint.describe(),
                f"{r.rps:,.0f}",
                f"{r.p50_ms:.2f}",
                f"{r.p99_ms:.2f}",
                errors,
                share,
                server_cpu,
                per_request,
                host_cpu,
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for n, row in enumerate(rows):
        cells = [row[0].ljust(widths[0])] + [c.rjust(w) for c, w in zip(row[1:], widths[1:], strict=True)]
        print("  " + "  ".join(cells))
        if n == 0:
            print("  " + "  ".join("-" * w for w in widths))
    print("  (server CPU: % of one core used by the server process, CPU ms/req: its CPU time per request;")
    print("   host CPU: % of all cores busy - server, database, load generator and whatever else runs)")
    if not ceiling:
        return
    print()
    by_name = {r.endpoint.name: r for r in results}
    for name, target in TARGETS.items():
        if name in by_name:
            share = 100 * by_name[name].rps / ceiling
            verdict = "PASS" if share >= target else "MISS"
            print(
                f"  target {by_name[name].endpoint.describe()} >= {target:.0f} % of the ceiling: "
                f"{share:.1f} %  {verdict}"
            )


def run_endpoints(
    server: Server,
    args: argparse.Namespace,
    wanted: set[str],
    use_wrk: bool,
    database_url: str,
    token: str,
    reference: str,
    events: int,
) -> list[Result]:
    """Every wanted endpoint against one running server; prints and returns the results."""
    port = server.port
    common = {"Accept-Encoding": "gzip"} if args.gzip else {}
    endpoints = [
        Endpoint("health", "GET", "/health", None, 200, dict(common), label="GET /health (ceiling)"),
        Endpoint("home", "GET", "/", TENANT_HOST, 200, dict(common), label=f"GET / ({TENANT})"),
        Endpoint("tracking", "GET", f"/r/{token}", TENANT_HOST, 200, dict(common), label="GET /r/<token>"),
    ]
    if "submit" in wanted:
        submit = submission_endpoint(port)
        submit.headers.update(common)
        endpoints.append(submit)
    endpoints = [ep for ep in endpoints if ep.name in wanted]
    for ep in endpoints:
        check_endpoint(port, ep)

    client = "wrk (" + LUA_SCRIPT.name + f", {args.threads} thread)" if use_wrk else "built-in asyncio client"
    features = server_features() if server.kind == "uvicorn" else "embedded, one runtime thread, uvloop"
    print(f"  server: 1 {server.kind} process on 127.0.0.1:{port} ({features}), pid {server.proc.pid}")
    print(f"  machine: {os.cpu_count()} CPUs, Python {platform.python_version()}, load generator {client}")
    print(f"  tracking page: case {reference} ({events} public events); submissions: service {SERVICE}")
    print(
        f"  {args.connections} connections, {args.warmup} s warm-up + {args.duration} s per endpoint"
        + (", Accept-Encoding: gzip" if args.gzip else ", no compression")
    )
    if args.keep:
        input(f"server ready at http://127.0.0.1:{port}/ - press Enter to start the load ")

    results = []
    cpu = CpuMeter(server.proc.pid)
    cases_before = count_cases(database_url) if "submit" in wanted else 0
    for ep in endpoints:
        print(f"  running {ep.describe()} ...", flush=True)
        results.append(measure(port, ep, args, use_wrk, cpu))
        if server.proc.poll() is not None:
            raise SystemExit(f"the server died during {ep.describe()}:\n{server.log_tail()}")
    print()
    print_table(results)
    if "submit" in wanted:
        created = count_cases(database_url) - cases_before
        print(f"\n  cases created by the submit runs (warm-up included): {created}")
    if any(r.errors for r in results):
        print(f"\nserver log (last lines):\n{server.log_tail()}")
    if args.keep:
        input("press Enter to stop the server ")
    print()
    return results


def print_comparison(by_server: dict[str, list[Result]]) -> None:
    """Each endpoint's requests/s and CPU time per request under each server, and the ratio to the first."""
    kinds = list(by_server)
    first = kinds[0]
    print("comparison (same run, same database; ratio: the other server's figure to " + first + "'s)")
    for kind in kinds[1:]:
        print(
            f"  {'endpoint':<22} {first + ' req/s':>14} {kind + ' req/s':>14} {'ratio':>6}"
            f" {first + ' CPU ms':>15} {kind + ' CPU ms':>15} {'ratio':>6}"
        )
        for a, b in zip(by_server[first], by_server[kind], strict=True):
            ca, cb = a.cpu_ms_per_request, b.cpu_ms_per_request
            cpu_ratio = f"{cb / ca:6.2f}" if ca and cb else "     -"
            print(
                f"  {a.endpoint.describe():<22} {a.rps:>14.0f} {b.rps:>14.0f} {b.rps / max(a.rps, 1e-9):6.2f}"
                f" {ca or 0:>15.2f} {cb or 0:>15.2f} {cpu_ratio}"
            )


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument(
        "--database-url",
        help="use this (migrated or empty) database instead of a fresh one; "
        "it is not dropped, and the submit run adds cases to it",
    )
    p.add_argument("--pg-host", default="127.0.0.1", help="PostgreSQL server for the fresh database")
    p.add_argument("--pg-port", type=int, default=5432)
    p.add_argument("--pg-user", default="postgres")
    p.add_argument("--connections", "-c", type=int, default=16, help="concurrent connections (default 16)")
    p.add_argument("--duration", "-d", type=int, default=10, help="measured seconds per endpoint (default 10)")
    p.add_argument("--warmup", "-w", type=int, default=2, help="warm-up seconds per endpoint (default 2)")
    p.add_argument("--threads", "-t", type=int, default=1, help="wrk threads (default 1: the server needs a core)")
    p.add_argument(
        "--max-requests",
        type=int,
        default=1_000_000,
        help="stop a run after this many requests even before its time is up",
    )
    p.add_argument("--timeout", type=int, default=10, help="seconds before a request counts as an error")
    p.add_argument(
        "--client",
        choices=("auto", "wrk", "python"),
        default="auto",
        help="load generator: wrk if installed (auto), or the built-in asyncio client",
    )
    p.add_argument("--only", help="comma-separated subset of: health,home,tracking,submit")
    p.add_argument("--gzip", action="store_true", help="send Accept-Encoding: gzip, as browsers do")
    p.add_argument("--port", type=int, default=0, help="server port (default: a free one)")
    p.add_argument(
        "--servers",
        default="uvicorn",
        help="comma-separated: uvicorn, granian; several are measured one after the other in this run, "
        "each in one process on the same database, and compared at the end",
    )
    p.add_argument("--keep", action="store_true", help="keep the server running until Enter (for profiling)")
    args = p.parse_args(argv)
    if args.connections < 1 or args.duration < 1 or args.warmup < 0 or args.max_requests < 1:
        p.error("connections, duration and max-requests must be positive, warm-up not negative")
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    wanted = set((args.only or "health,home,tracking,submit").split(","))
    unknown = wanted - {"health", "home", "tracking", "submit"}
    if unknown:
        raise SystemExit(f"unknown endpoints: {', '.join(sorted(unknown))}")
    servers = [k for k in args.servers.split(",") if k]
    if not servers or set(servers) - {"uvicorn", "granian"}:
        raise SystemExit("--servers takes uvicorn, granian or both (comma-separated)")
    use_wrk = args.client == "wrk" or (args.client == "auto" and wrk_available())
    if use_wrk and not wrk_available():
        raise SystemExit("wrk is not installed (Debian/Ubuntu: apt-get install wrk); try --client python")
    if args.client == "auto" and not use_wrk:
        print("note: wrk is not installed, using the built-in asyncio client (apt-get install wrk for better figures)")

    tmp = Path(tempfile.mkdtemp(prefix="rathaus-bench-"))
    db_name: str | None = None
    server: Server | None = None
    try:
        print("preparing")
        if args.database_url:
            database_url = args.database_url
        else:
            db_name, database_url = create_database(args)
            print(f"  created database {db_name} on {args.pg_host}:{args.pg_port}")
        data_dir = tmp / "data"
        prepare_database(database_url, data_dir)
        token, reference, events = pick_tracking_case(database_url)

        by_server: dict[str, list[Result]] = {}
        for kind in servers:
            port = args.port or free_port()
            server = Server(database_url, data_dir, port, tmp / f"server-{kind}.log", kind)
            server.wait_healthy()
            by_server[kind] = run_endpoints(server, args, wanted, use_wrk, database_url, token, reference, events)
            server.stop()
            server = None
        if len(by_server) > 1:
            print_comparison(by_server)
    finally:
        if server is not None:
            server.stop()
        if db_name is not None:
            drop_database(args, db_name)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
