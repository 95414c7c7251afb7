"""HTTP benchmark of one Rathaus server process on PostgreSQL or SQLite (a benchmark that prints figures, not a test).

    .venv/bin/python -m bench.http_bench [--database postgresql,sqlite] [--connections 16] [--duration 10] [--warmup 2]

For each database (--database; default postgresql): make a fresh one (a new database on the local PostgreSQL
server, or a new SQLite file in the temporary data folder; or use --database-url), run the migrations and load
the demo data. Then, for each server kind (--servers; default uvicorn), load these endpoints one after the
other, each with a warm-up and a measured run at fixed concurrency:

    hello      GET  /                        the ceiling: a plain Litestar hello-world (bench/hello_app.py)
                                             served by the same server kind with the same options, in a
                                             process of its own, in this run
    reference  GET  /r/<token>               the practical limit: a minimal Litestar page of the tracking
                                             page's kind (bench/reference_app.py: one query, a template of
                                             its size, CSRF, gzip), likewise in a process of its own
    health     GET  /health                  the app's own health check: a plain-text answer, no database
    stack      GET  /_bench/stack            the tracking page's bytes, rendered once before the load and
                                             served as they are through all of the app's middleware (a
                                             route bench/serve_app.py adds): the app's stack alone
    home       GET  /                        a municipality's home page (Host musterstadt.localhost)
    form       GET  /s/schlagloch/form       the form page of a service (pothole report), as on a first visit
    tracking   GET  /r/<token>               the tracking page of an existing demo case
    submit     POST /s/schlagloch/submit     the final submit of a pothole report: every request carries a
                                             new idempotency key, so every request creates a real case

and print requests/s, p50/p99 latency, errors, the share of the hello-world ceiling and the server's CPU time
per request, with the targets as PASS/MISS (PostgreSQL: tracking page >= 15 % of the ceiling, submission
>= 10 %; SQLite: tracking page >= 10 %). The exit status does not depend on the targets. Requests carry
Accept-Encoding: gzip as browsers send it (--no-gzip: without). At the end the servers are stopped, the
PostgreSQL database dropped (unless it came from --database-url) and the temporary data folder removed.

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
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.serve_app import STACK_PAGE, STACK_PATH, bench_settings  # noqa: E402

TENANT = "musterstadt"
TENANT_HOST = "musterstadt.localhost"
SERVICE = "schlagloch"  # pothole report: a location, a size, a description; photos and e-mail optional
LUA_SCRIPT = BENCH_DIR / "wrk_report.lua"
KEY_PLACEHOLDER = "@KEY@"
DATABASES = ("postgresql", "sqlite")
DATABASE_LABELS = {"postgresql": "PostgreSQL", "sqlite": "SQLite (embedded)"}
CEILING = "hello"  # the endpoint whose requests/s are 100 %
ENDPOINTS = ("hello", "reference", "health", "stack", "home", "form", "tracking", "submit")
REFERENCE = "reference"  # measured on a server of its own, like the ceiling
TARGETS = {  # % of the ceiling, per database
    "postgresql": {"tracking": 15.0, "submit": 10.0},
    "sqlite": {"tracking": 10.0},
}


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


def database_kind(database_url: str) -> str:
    return "sqlite" if database_url.startswith("sqlite") else "postgresql"


def sqlite_url(data_dir: Path) -> str:
    """A new SQLite database file in the data folder, where `rathaus demo` keeps it (backend/settings.py)."""
    return f"sqlite+aiosqlite:///{data_dir.resolve() / 'rathaus.db'}"


def count_cases(database_url: str) -> int:
    return int(query(database_url, "SELECT count(*) FROM case_file")[0][0])


# --- the server ----------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """One server process: the Rathaus app on a database, the reference page on it (``reference``), or
    (``database_url`` None) the hello-world ceiling."""

    def __init__(
        self,
        database_url: str | None,
        data_dir: Path | None,
        port: int,
        log_path: Path,
        kind: str = "uvicorn",
        gzip_level: int | None = None,
        reference: bool = False,
    ) -> None:
        self.port = port
        self.kind = kind
        self.hello = database_url is None
        self.reference = reference
        self.log_path = log_path
        self._log = log_path.open("wb")
        level = [] if gzip_level is None else ["--gzip-level", str(gzip_level)]
        if database_url is None:
            target = ["--hello", str(port)]
        elif reference:
            target = [*level, "--reference", database_url, str(port)]
        else:
            target = [*level, database_url, str(data_dir), str(port)]
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bench.serve_app", *target, kind],
            cwd=ROOT,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            env={k: v for k, v in os.environ.items() if not k.startswith("RATHAUS_")},
        )

    def wait_healthy(self, timeout: float = 60.0) -> None:
        # The hello-world is not imported here: creating its Litestar app would set up logging in this process.
        path, answer = ("/", b"Hello, world!") if self.hello else ("/health", b"ok")  # the reference has /health too
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit(f"the server exited with status {self.proc.returncode}:\n{self.log_tail()}")
            with contextlib.suppress(OSError, http.client.HTTPException):
                status, _, body = fetch(self.port, "GET", path)
                if status == 200 and body.strip() == answer:
                    return
            time.sleep(0.1)
        raise SystemExit(f"the server did not answer {path} within {timeout:.0f} s:\n{self.log_tail()}")

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
    """How uvicorn serves here: the HTTP protocol of `rathaus serve` and whether uvloop is there (loop="auto")."""
    try:
        __import__("uvloop")
        loop = "uvloop yes"
    except ImportError:
        loop = "uvloop no"
    return f"h11 with head limits as in `rathaus serve`, {loop}"


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


def ceiling_of(results: list[Result]) -> float:
    """Requests/s of the hello-world row (0 when it was not measured)."""
    return next((r.rps for r in results if r.endpoint.name == CEILING), 0.0)


def share_of_ceiling(result: Result, ceiling: float) -> float | None:
    return 100 * result.rps / ceiling if ceiling else None


def target_lines(results: list[Result], database: str) -> list[str]:
    """PASS/MISS for the targets of this database whose endpoint was measured."""
    ceiling = ceiling_of(results)
    by_name = {r.endpoint.name: r for r in results}
    lines = []
    for name, target in TARGETS[database].items():
        share = share_of_ceiling(by_name[name], ceiling) if name in by_name else None
        if share is not None:
            verdict = "PASS" if share >= target else "MISS"
            lines.append(
                f"target {DATABASE_LABELS[database]}, {by_name[name].endpoint.describe()} >= {target:.0f} % "
                f"of the ceiling: {share:.1f} %  {verdict}"
            )
    return lines


def print_table(results: list[Result], database: str) -> None:
    ceiling = ceiling_of(results)
    header = ("endpoint", "requests/s", "p50 ms", "p99 ms", "errors", "% of ceiling")
    rows = [(*header, "server CPU", "CPU ms/req", "host CPU")]
    for r in results:
        share = share_of_ceiling(r, ceiling)
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
                f"{share:.1f} %" if share is not None else "-",
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
    print("  (% of ceiling: requests/s as a share of the plain Litestar hello-world's, same server and run;")
    print("   server CPU: % of one core used by the serving process, CPU ms/req: its CPU time per request;")
    print("   host CPU: % of all cores busy - server, database, load generator and whatever else runs)")
    if not ceiling:
        print("  (the hello-world ceiling was not measured: no shares and no targets)")
    lines = (target_lines(results, database) if ceiling else []) + reference_lines(results)
    if lines:
        print()
        for line in lines:
            print("  " + line)


def reference_lines(results: list[Result]) -> list[str]:
    """The tracking page against the minimal page of its kind (the stack's practical limit) and against its own
    bytes served pre-rendered (the app's stack alone), when they ran."""
    by_name = {r.endpoint.name: r for r in results}
    reference, stack, tracking = by_name.get(REFERENCE), by_name.get("stack"), by_name.get("tracking")
    lines = []
    if reference is not None and tracking is not None and reference.rps:
        line = f"the tracking page serves {100 * tracking.rps / reference.rps:.0f} % of the minimal page's requests/s"
        if reference.cpu_ms_per_request and tracking.cpu_ms_per_request:
            line += f" ({tracking.cpu_ms_per_request / reference.cpu_ms_per_request:.1f} times its CPU per request)"
        lines.append(line)
    if stack is not None and tracking is not None and stack.cpu_ms_per_request and tracking.cpu_ms_per_request:
        own = tracking.cpu_ms_per_request - stack.cpu_ms_per_request
        lines.append(
            f"of the tracking page's {tracking.cpu_ms_per_request:.2f} CPU ms per request, the app's stack takes "
            f"{stack.cpu_ms_per_request:.2f} (its bytes pre-rendered), its own work (session, read, template) "
            f"{own:.2f}"
        )
    return lines


def keep_tracking_page(port: int, token: str, data_dir: Path) -> None:
    """The tracking page's bytes as the app renders them, for the pre-rendered route (serve_app.stack_route)."""
    status, _headers, content = fetch(port, "GET", f"/r/{token}", TENANT_HOST)
    if status != 200:
        raise SystemExit(f"GET /r/<token> answered {status} (expected 200)")
    (data_dir / STACK_PAGE).write_bytes(content)


def endpoints_for(port: int, args: argparse.Namespace, wanted: set[str], token: str) -> list[Endpoint]:
    """The app's endpoints to load, in order (the hello-world is measured on its own server)."""
    common = {"Accept-Encoding": "gzip"} if args.gzip else {}
    endpoints = [
        Endpoint("health", "GET", "/health", None, 200, dict(common), label="GET /health (app health check)"),
        Endpoint("stack", "GET", STACK_PATH, TENANT_HOST, 200, dict(common), label="GET /_bench/stack (pre-rendered)"),
        Endpoint("home", "GET", "/", TENANT_HOST, 200, dict(common), label=f"GET / ({TENANT})"),
        Endpoint("form", "GET", f"/s/{SERVICE}/form", TENANT_HOST, 200, dict(common), label=f"GET /s/{SERVICE}/form"),
        Endpoint("tracking", "GET", f"/r/{token}", TENANT_HOST, 200, dict(common), label="GET /r/<token>"),
    ]
    if "submit" in wanted:
        submit = submission_endpoint(port)
        submit.headers.update(common)
        endpoints.append(submit)
    return [ep for ep in endpoints if ep.name in wanted]


def load(server: Server, ep: Endpoint, args: argparse.Namespace, use_wrk: bool) -> Result:
    print(f"  running {ep.describe()} (pid {server.proc.pid}) ...", flush=True)
    result = measure(server.port, ep, args, use_wrk, CpuMeter(server.proc.pid))
    if server.proc.poll() is not None:
        raise SystemExit(f"the server died during {ep.describe()}:\n{server.log_tail()}")
    return result


@contextlib.contextmanager
def serving(
    database_url: str | None,
    data_dir: Path | None,
    args: argparse.Namespace,
    log_path: Path,
    kind: str,
    reference: bool = False,
) -> Iterator[Server]:
    """One server process (the app, the reference page, or the hello-world without a database URL), stopped when
    the block ends."""
    server = Server(database_url, data_dir, args.port or free_port(), log_path, kind, args.gzip_level, reference)
    try:
        server.wait_healthy()
        yield server
    finally:
        server.stop()


def run_table(
    args: argparse.Namespace,
    wanted: set[str],
    use_wrk: bool,
    database: str,
    database_url: str,
    data_dir: Path,
    kind: str,
    tmp: Path,
) -> list[Result]:
    """One table: the hello-world ceiling, then every wanted endpoint of the app, under one server kind."""
    token, reference, events = pick_tracking_case(database_url)
    client = "wrk (" + LUA_SCRIPT.name + f", {args.threads} thread)" if use_wrk else "built-in asyncio client"
    features = server_features() if kind == "uvicorn" else "embedded, one runtime thread, uvloop"
    print(f"{DATABASE_LABELS[database]}, {kind}")
    print(
        f"  server: {kind} ({features}), one process on 127.0.0.1 for the hello-world, one for the minimal page,"
        " then one for Rathaus"
    )
    print(f"  machine: {os.cpu_count()} CPUs, Python {platform.python_version()}, load generator {client}")
    print(f"  tracking page: case {reference} ({events} public events); form and submissions: service {SERVICE}")
    print(
        f"  {args.connections} connections, {args.warmup} s warm-up + {args.duration} s per endpoint"
        + (", Accept-Encoding: gzip" if args.gzip else ", no compression")
        + (f", app's gzip level {args.gzip_level}" if args.gzip_level is not None else "")
    )

    results = []
    common = {"Accept-Encoding": "gzip"} if args.gzip else {}
    if CEILING in wanted:
        with serving(None, None, args, tmp / f"hello-{database}-{kind}.log", kind) as hello:
            ep = Endpoint(CEILING, "GET", "/", None, 200, dict(common), label="GET / (hello-world, ceiling)")
            check_endpoint(hello.port, ep)
            results.append(load(hello, ep, args, use_wrk))

    if REFERENCE in wanted:
        with serving(database_url, None, args, tmp / f"reference-{database}-{kind}.log", kind, reference=True) as ref:
            label = "GET /r/<token> (minimal page)"
            ep = Endpoint(REFERENCE, "GET", f"/r/{token}", None, 200, dict(common), label=label)
            check_endpoint(ref.port, ep)
            results.append(load(ref, ep, args, use_wrk))

    app_wanted = wanted - {CEILING, REFERENCE}
    cases_before = count_cases(database_url) if "submit" in app_wanted else 0
    if app_wanted:
        with serving(database_url, data_dir, args, tmp / f"server-{database}-{kind}.log", kind) as server:
            if "stack" in app_wanted:
                keep_tracking_page(server.port, token, data_dir)
            endpoints = endpoints_for(server.port, args, app_wanted, token)
            for ep in endpoints:
                check_endpoint(server.port, ep)
            if args.keep:
                input(f"server ready at http://127.0.0.1:{server.port}/ - press Enter to start the load ")
            for ep in endpoints:
                results.append(load(server, ep, args, use_wrk))
            print()
            print_table(results, database)
            if "submit" in app_wanted:
                created = count_cases(database_url) - cases_before
                print(f"\n  cases created by the submit runs (warm-up included): {created}")
            if any(r.errors for r in results):
                print(f"\nserver log (last lines):\n{server.log_tail()}")
            if args.keep:
                input("press Enter to stop the server ")
    else:
        print()
        print_table(results, database)
    print()
    return results


def print_comparison(by_server: dict[str, list[Result]]) -> None:
    """Each endpoint's requests/s and CPU time per request under each server, and the ratio to the first."""
    kinds = list(by_server)
    first = kinds[0]
    print("comparison (same run, same database; ratio: the other server's figure to " + first + "'s)")
    for kind in kinds[1:]:
        print(
            f"  {'endpoint':<30} {first + ' req/s':>14} {kind + ' req/s':>14} {'ratio':>6}"
            f" {first + ' CPU ms':>15} {kind + ' CPU ms':>15} {'ratio':>6}"
        )
        for a, b in zip(by_server[first], by_server[kind], strict=True):
            ca, cb = a.cpu_ms_per_request, b.cpu_ms_per_request
            cpu_ratio = f"{cb / ca:6.2f}" if ca and cb else "     -"
            print(
                f"  {a.endpoint.describe():<30} {a.rps:>14.0f} {b.rps:>14.0f} {b.rps / max(a.rps, 1e-9):6.2f}"
                f" {ca or 0:>15.2f} {cb or 0:>15.2f} {cpu_ratio}"
            )
    print()


def print_summary(tables: dict[tuple[str, str], list[Result]]) -> None:
    """All tables of the run side by side: each page's share of its ceiling and CPU ms per request; targets."""
    keys = list(tables)
    names = [n for n in ENDPOINTS if any(r.endpoint.name == n for results in tables.values() for r in results)]
    labels = {r.endpoint.name: r.endpoint.describe() for results in tables.values() for r in results}
    titles = [f"{DATABASE_LABELS[database]}, {kind}" for database, kind in keys]
    print("summary: each page's requests/s as a share of the hello-world ceiling, and the server's CPU ms per request")
    width = max(len(labels[n]) for n in names)
    cell = max(20, *(len(t) for t in titles))
    print("  " + "page".ljust(width) + "".join(f"  {t:>{cell}}" for t in titles))
    print("  " + "-" * width + "".join("  " + "-" * cell for _ in titles))
    for name in names:
        cells = []
        for key in keys:
            results = tables[key]
            r = next((r for r in results if r.endpoint.name == name), None)
            share = share_of_ceiling(r, ceiling_of(results)) if r else None
            per_request = r.cpu_ms_per_request if r else None
            text = (
                (f"{share:.1f} %" if share is not None else "-")
                + "  "
                + (f"{per_request:.2f} ms" if per_request is not None else "-")
            )
            cells.append(f"  {text:>{cell}}")
        print("  " + labels[name].ljust(width) + "".join(cells))
    several_servers = len({kind for _, kind in keys}) > 1
    lines = [
        line + (f" ({kind})" if several_servers else "")
        for (database, kind), results in tables.items()
        for line in target_lines(results, database)
    ]
    if lines:
        print()
        for line in lines:
            print("  " + line)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument(
        "--database",
        help="comma-separated: postgresql (default), sqlite; several are measured one after the other in this "
        "run, each on a fresh database (sqlite: a new file in the temporary data folder)",
    )
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
    p.add_argument(
        "--only",
        help=f"comma-separated subset of: {','.join(ENDPOINTS)} (without hello: no shares and no targets)",
    )
    p.add_argument(
        "--gzip",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="send Accept-Encoding: gzip, as browsers do (default; --no-gzip: no compression)",
    )
    p.add_argument(
        "--gzip-level",
        type=int,
        choices=range(10),
        metavar="0-9",
        help="the app's RATHAUS_GZIP_LEVEL (default: the app's default; 0: no compression by the app, as behind a "
        "compressing proxy)",
    )
    p.add_argument("--port", type=int, default=0, help="server port (default: a free one)")
    p.add_argument(
        "--servers",
        default="uvicorn",
        help="comma-separated: uvicorn, granian; several are measured one after the other in this run, "
        "each in one process on the same database (with its own hello-world ceiling), and compared at the end",
    )
    p.add_argument("--keep", action="store_true", help="keep the server running until Enter (for profiling)")
    args = p.parse_args(argv)
    if args.connections < 1 or args.duration < 1 or args.warmup < 0 or args.max_requests < 1:
        p.error("connections, duration and max-requests must be positive, warm-up not negative")
    databases = [d for d in (args.database or "").split(",") if d]
    if set(databases) - set(DATABASES):
        p.error("--database takes postgresql, sqlite or both (comma-separated)")
    if args.database_url:
        kind = database_kind(args.database_url)
        if databases and databases != [kind]:
            p.error(f"--database-url is a {kind} database: it is measured alone (leave out --database)")
        databases = [kind]
    args.databases = list(dict.fromkeys(databases or ["postgresql"]))
    return args


def prepare(args: argparse.Namespace, database: str, tmp: Path) -> tuple[str, Path, str | None]:
    """A migrated database with the demo data: its URL, the data folder, and the name of a database to drop."""
    data_dir = tmp / database / "data"
    db_name = None
    if args.database_url:
        database_url = args.database_url
    elif database == "sqlite":
        database_url = sqlite_url(data_dir)
        print(f"  new SQLite database {data_dir / 'rathaus.db'}")
    else:
        db_name, database_url = create_database(args)
        print(f"  created database {db_name} on {args.pg_host}:{args.pg_port}")
    prepare_database(database_url, data_dir)
    return database_url, data_dir, db_name


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    wanted = set((args.only or ",".join(ENDPOINTS)).split(","))
    unknown = wanted - set(ENDPOINTS)
    if unknown:
        raise SystemExit(f"unknown endpoints: {', '.join(sorted(unknown))}")
    servers = list(dict.fromkeys(k for k in args.servers.split(",") if k))
    if not servers or set(servers) - {"uvicorn", "granian"}:
        raise SystemExit("--servers takes uvicorn, granian or both (comma-separated)")
    use_wrk = args.client == "wrk" or (args.client == "auto" and wrk_available())
    if use_wrk and not wrk_available():
        raise SystemExit("wrk is not installed (Debian/Ubuntu: apt-get install wrk); try --client python")
    if args.client == "auto" and not use_wrk:
        print("note: wrk is not installed, using the built-in asyncio client (apt-get install wrk for better figures)")

    tmp = Path(tempfile.mkdtemp(prefix="rathaus-bench-"))
    tables: dict[tuple[str, str], list[Result]] = {}
    try:
        for database in args.databases:
            print(f"preparing {DATABASE_LABELS[database]}")
            db_name: str | None = None
            try:
                database_url, data_dir, db_name = prepare(args, database, tmp)
                by_server: dict[str, list[Result]] = {}
                for kind in servers:
                    results = run_table(args, wanted, use_wrk, database, database_url, data_dir, kind, tmp)
                    by_server[kind] = tables[(database, kind)] = results
                if len(by_server) > 1:
                    print_comparison(by_server)
            finally:
                if db_name is not None:
                    drop_database(args, db_name)
        if len(tables) > 1:
            print_summary(tables)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
