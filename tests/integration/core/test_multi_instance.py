"""Several stateless instances on one PostgreSQL (and Redis) work together and survive a crash.

Real processes, none of the app's code replaced: two ``rathaus serve`` (web only, ``RATHAUS_WORKER=false``) and
two ``rathaus worker`` on the suite's database, with sessions and rate limits in Redis (``RATHAUS_TEST_REDIS_URL``,
by default db 13 on 127.0.0.1; in the database when no Redis answers). The devices' push service is the local one of
tests/pushservice.py, which decrypts every message, so each delivery is counted where it arrives; receipts go out
as e-mail files. Citizens and a clerk use both instances as a load balancer would hand them out:

1. Together: requests are filled in on one instance and sent from the other; devices subscribe; the clerk moves
   each request on.
2. A web instance dies: while submissions and status changes are in flight on it (one of them with half its body
   sent), it gets SIGKILL. Every client whose request failed sends it again, unchanged, to the other instance:
   the citizen with the same idempotency key, the clerk with the same form (the case's version). One citizen
   whose answer got lost although the request went through sends it again too.
3. A worker dies in the crash window: with the other worker paused (SIGSTOP) and the push service holding its
   answers, the clerk moves eleven requests on in one bulk action (one transaction). Worker 1 claims the round,
   hands as many pushes as it sends at once to the push service and waits for the answers; then it gets SIGKILL.
   The paused worker goes on (SIGCONT), delivers everything else, and leaves the dead worker's rows alone while
   their claim holds; the test then lets that claim run out (it sets the claim's end to now instead of waiting
   the two minutes of ``RetryPolicy.claim_timeout``), and the survivor delivers them.
4. After both crashes the survivors serve and deliver new requests.

What it shows: exactly one case per idempotency key (the clients' tracking links are those cases'); every status
change exactly once in the timeline and once in the outbox; every notification delivered; and a notification
received twice only where the guarantee allows it: a row the killed worker had claimed and had already handed to
the push service before it died (the push service took it, the worker never recorded it). Rows it had claimed but
not yet sent arrive once; every other row arrives exactly once.

PostgreSQL only: SQLite is the embedded single-process setup (no second instance, no SKIP LOCKED).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import email
import html
import io
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlencode, urlsplit

import httpx
import pytest
from advanced_alchemy.extensions.litestar import SQLAlchemyAsyncConfig
from sqlalchemy import delete, select, update

from backend.cases.models import Case, CaseEvent
from backend.core.db import alchemy_config, tenant_session, unscoped_session
from backend.notifications.delivery import PUSH_IN_FLIGHT
from backend.notifications.models import OutboxMessage, PushSubscription
from backend.settings import METRICS_DIR_VARIABLE, PROJECT_ROOT, Settings
from tests.conftest import TEST_SECRET, csrf_token
from tests.factories import TenantFixture
from tests.helpers import VALID_ANSWERS, hidden_fields
from tests.pushservice import PushService

pytestmark = [
    pytest.mark.skipif(
        os.environ.get("RATHAUS_TEST_DATABASE", "sqlite").startswith("sqlite"),
        reason="several instances and workers need a shared PostgreSQL database (RATHAUS_TEST_DATABASE); "
        "SQLite is the embedded single-process setup",
    ),
    pytest.mark.skipif(not hasattr(signal, "SIGSTOP"), reason="needs POSIX signals to kill and pause processes"),
]

T = TypeVar("T")

REDIS_URL = os.environ.get("RATHAUS_TEST_REDIS_URL", "redis://127.0.0.1:6379/13")
START_SECONDS = 45.0  # for the four processes to come up on a busy machine
WAIT_SECONDS = 30.0  # for any one step (a delivery round, a retried request) to be done
GATE_SECONDS = 60.0  # the longest the push service holds an answer (the test opens the gate long before)
# How many pushes a `rathaus worker` sends at once; the rest of a bigger round waits for a free lane.
SENDS_AT_ONCE = PUSH_IN_FLIGHT


# --- the push service, with answers that can be held back ----------------------------------------------------


class GatedPushService(PushService):
    """The local push service, whose answers can be held back.

    A message arriving while the gate is shut is taken in whole, then waits unanswered; once the gate opens it
    counts as received (the push service has it; a worker that died meanwhile never learns it was accepted).
    """

    def __init__(self) -> None:
        self._open = threading.Event()
        self._open.set()
        self.held = 0
        super().__init__()

    def hold(self) -> None:
        self._open.clear()

    def release(self) -> None:
        self._open.set()

    def _handle(self, request: Any) -> None:
        length = int(request.headers.get("Content-Length") or 0)
        request.rfile = io.BytesIO(request.rfile.read(length))  # the whole message is here before any wait
        if not self._open.is_set() and request.path.rsplit("/", 1)[-1] in self.devices:
            with self._lock:
                self.held += 1
            self._open.wait(timeout=GATE_SECONDS)
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # a sender that died does not read
            super()._handle(request)


# --- the processes ---------------------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _rathaus() -> list[str]:
    script = shutil.which("rathaus", path=str(Path(sys.executable).parent))
    return [script] if script else [sys.executable, "-m", "backend"]


@dataclass
class Process:
    name: str
    popen: subprocess.Popen[bytes]
    log: Path
    port: int | None = None

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def alive(self) -> bool:
        return self.popen.poll() is None

    def send(self, sig: signal.Signals) -> None:
        if self.alive:
            os.kill(self.popen.pid, sig)

    def kill(self) -> None:
        """SIGKILL: no shutdown, no cleanup, connections cut."""
        self.send(signal.SIGKILL)
        self.popen.wait(timeout=10)

    def stop(self) -> None:
        if not self.alive:
            return
        self.send(signal.SIGCONT)  # a paused process cannot end
        self.send(signal.SIGTERM)
        try:
            self.popen.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.kill()

    def output(self, lines: int = 40) -> str:
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return "\n".join(text.splitlines()[-lines:])


@dataclass
class Cluster:
    web: list[Process]
    workers: list[Process]
    push: GatedPushService
    data_dir: Path
    redis: bool


def _redis_available(url: str) -> bool:
    import redis

    client = redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=2)
    try:
        client.ping()
        return True
    except redis.RedisError:
        return False
    finally:
        client.close()


def _forget_in_redis(url: str, tenant_id: uuid.UUID) -> None:
    """Removes what the instances kept in Redis for the test's municipality: its rate-limit counters (named by
    it) and its staff sessions (which name it); nothing of anyone else using the same database."""
    import redis

    client = redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=5)
    try:
        mine = list(client.scan_iter(f"*{tenant_id}*", count=500))
        for key in client.scan_iter("*sessions*", count=500):
            value = client.get(key)
            if value is not None and str(tenant_id).encode() in value:
                mine.append(key)
        if mine:
            client.delete(*mine)
    finally:
        client.close()


def _wait_until_up(process: Process, ready: Callable[[], bool], deadline: float) -> None:
    while not ready():
        if not process.alive:
            raise AssertionError(f"{process.name} exited with {process.popen.returncode}:\n{process.output()}")
        if time.monotonic() > deadline:
            raise AssertionError(f"{process.name} did not come up:\n{process.output()}")
        time.sleep(0.1)


def _answers_ready(process: Process) -> bool:
    try:
        with urllib.request.urlopen(f"{process.origin}/health/ready", timeout=2) as answer:
            return bool(answer.status == 200)
    except OSError:
        return False


@pytest.fixture
def cluster(settings: Settings, tenant: TenantFixture, tmp_path: Path) -> Iterator[Cluster]:
    """Two web instances and two workers on the suite's database; all stopped (killed if need be) afterwards."""
    redis = _redis_available(REDIS_URL)
    push = GatedPushService()
    data_dir = tmp_path / "data"
    env = {k: v for k, v in os.environ.items() if not k.startswith("RATHAUS_") and k != METRICS_DIR_VARIABLE}
    env.update(
        RATHAUS_ENV="development",
        RATHAUS_DATABASE_URL=settings.database_url,
        RATHAUS_DATA_DIR=str(data_dir),
        RATHAUS_SECRET_KEY=TEST_SECRET,
        RATHAUS_HTTPS="false",
        RATHAUS_WORKER="false",
        RATHAUS_PUSH_ENDPOINT_ALLOWLIST="127.0.0.1",
        RATHAUS_STAFF_SECOND_FACTOR="optional",
        RATHAUS_LOG_FORMAT="text",
        RATHAUS_LOG_LEVEL="WARNING",
        PYTHONUNBUFFERED="1",
    )
    if redis:
        env["RATHAUS_REDIS_URL"] = REDIS_URL
    processes: list[Process] = []

    def start(name: str, *args: str, port: int | None = None) -> Process:
        log = tmp_path / f"{name}.log"
        with log.open("wb") as out:
            popen = subprocess.Popen(
                [*_rathaus(), *args],
                cwd=PROJECT_ROOT,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # the terminal's Ctrl-C reaches pytest only; the finalizer stops these
            )
        process = Process(name, popen, log, port)
        processes.append(process)
        return process

    try:
        web = []
        for name in ("web-a", "web-b"):
            port = _free_port()
            web.append(start(name, "serve", "--port", str(port), port=port))
        workers = [start(name, "worker") for name in ("worker-1", "worker-2")]
        deadline = time.monotonic() + START_SECONDS
        for process in web:
            _wait_until_up(process, lambda p=process: _answers_ready(p), deadline)
        for process in workers:
            _wait_until_up(process, lambda p=process: "delivery worker running" in p.output(), deadline)
        yield Cluster(web, workers, push, data_dir, redis)
    finally:
        push.release()
        for process in processes:
            process.stop()
        push.close()
        if redis:
            _forget_in_redis(REDIS_URL, tenant.id)
        for process in processes:  # shown by pytest when the test failed
            print(f"--- {process.name} (exit {process.popen.returncode}) ---\n{process.output()}")


# --- people ------------------------------------------------------------------------------------------------------


class Browser:
    """One person's browser: one cookie jar, each request sent to the instance a load balancer picked."""

    def __init__(self, host: str) -> None:
        self.client = httpx.AsyncClient(headers={"Host": host}, timeout=WAIT_SECONDS)

    async def get(self, instance: Process, path: str) -> httpx.Response:
        return await self.client.get(instance.origin + path)

    async def post(self, instance: Process, path: str, **kwargs: Any) -> httpx.Response:
        return await self.client.post(instance.origin + path, **kwargs)

    async def aclose(self) -> None:
        await self.client.aclose()


@dataclass
class Citizen:
    key: str  # the idempotency key the device made
    browser: Browser
    fields: dict[str, list[str]] = field(default_factory=dict)  # what the review page sends
    tracking: str = ""  # /r/<token>, from the answer to the submission
    device: dict[str, Any] = field(default_factory=dict)
    statuses: list[str] = field(default_factory=list)  # what the clerk moved the request to, in order

    @property
    def device_id(self) -> str:
        return str(self.device["endpoint"]).rsplit("/", 1)[1]


SERVICE_PATH = "/s/street-light"


async def fill_in(citizen: Citizen, form_on: Process, review_on: Process) -> None:
    """The form on one instance, its review page (the draft kept in the database) on another."""
    page = await citizen.browser.get(form_on, f"{SERVICE_PATH}/form")
    assert page.status_code == 200, page.text
    data = {"_csrf_token": csrf_token(page.text), "idempotency_key": citizen.key, **VALID_ANSWERS}
    step = await citizen.browser.post(form_on, f"{SERVICE_PATH}/form", data=data)
    assert step.status_code == 303 and step.headers["location"] == f"{SERVICE_PATH}/review/{citizen.key}", step.text
    review = await citizen.browser.get(review_on, step.headers["location"])
    assert review.status_code == 200, review.text
    citizen.fields = {}
    for name, value in hidden_fields(review.text):
        citizen.fields.setdefault(name, []).append(html.unescape(value))
    assert citizen.fields["idempotency_key"] == [citizen.key]


async def submit(citizen: Citizen, instance: Process) -> httpx.Response:
    return await citizen.browser.post(instance, f"{SERVICE_PATH}/submit", data=citizen.fields)


def accept_submission(citizen: Citizen, answer: httpx.Response) -> None:
    assert answer.status_code == 303, answer.text
    location = urlsplit(answer.headers["location"])
    assert location.path.startswith("/r/"), answer.headers["location"]
    assert not citizen.tracking or citizen.tracking == location.path, "a retry led to another request"
    citizen.tracking = location.path


def failed(outcome: httpx.Response | BaseException) -> bool:
    """A request the client has no answer to (the instance died under it), or an error page of a dying one."""
    if isinstance(outcome, httpx.TransportError):
        return True
    if isinstance(outcome, BaseException):
        raise outcome
    return outcome.status_code >= 500


async def follow(citizen: Citizen, instance: Process, push: PushService) -> None:
    """What the tracking page's script does once notifications are allowed."""
    page = await citizen.browser.get(instance, citizen.tracking)
    assert page.status_code == 200, page.text
    citizen.device = push.subscribe()
    answer = await citizen.browser.post(
        instance,
        "/push/subscriptions",
        json={"subscription": citizen.device, "token": citizen.tracking.rsplit("/", 1)[1]},
        headers={"X-CSRFToken": csrf_token(page.text)},
    )
    assert answer.status_code == 201, answer.text


async def sent_half_then_cut(
    citizen: Citizen, instance: Process, half_sent: asyncio.Event, cut: asyncio.Event
) -> httpx.Response:
    """The submission with only half its body sent when the connection breaks (a phone losing its network)."""
    body = urlencode(citizen.fields, doseq=True).encode()

    async def chunks() -> Any:
        yield body[: len(body) // 2]
        half_sent.set()  # asked for more: the first half is on the wire
        await cut.wait()
        yield body[len(body) // 2 :]

    headers = {"Content-Type": "application/x-www-form-urlencoded", "Content-Length": str(len(body))}
    return await citizen.browser.client.post(
        instance.origin + f"{SERVICE_PATH}/submit", content=chunks(), headers=headers
    )


VERSION_RE = re.compile(r'name="version" value="(\d+)"')


@dataclass
class Clerk:
    browser: Browser

    async def login(self, instance: Process, tenant: TenantFixture) -> None:
        page = await self.browser.get(instance, "/staff/login")
        data = {"_csrf_token": csrf_token(page.text), "email": tenant.clerk_email, "password": tenant.password}
        answer = await self.browser.post(instance, "/staff/login", data={**data, "next": "/staff"})
        assert answer.status_code == 303 and answer.headers["location"] == "/staff", answer.text

    async def status_form(self, instance: Process, case_id: uuid.UUID, to_status: str) -> dict[str, str]:
        """The case page's status form, filled in (it carries the case's version as shown)."""
        page = await self.browser.get(instance, f"/staff/cases/{case_id}")
        assert page.status_code == 200, page.text
        version = VERSION_RE.search(page.text)
        assert version, "the case page has no version"
        return {"_csrf_token": csrf_token(page.text), "version": version.group(1), "to_status": to_status}

    async def send(self, instance: Process, case_id: uuid.UUID, form: dict[str, str]) -> httpx.Response:
        return await self.browser.post(instance, f"/staff/cases/{case_id}/status", data={**form, "message": ""})

    async def move(self, instance: Process, case_id: uuid.UUID, to_status: str) -> None:
        answer = await self.send(instance, case_id, await self.status_form(instance, case_id, to_status))
        assert answer.status_code == 303, answer.text

    async def move_together(self, instance: Process, case_ids: list[uuid.UUID], to_status: str) -> None:
        """The inbox's bulk action: every status change (and its notification) in one transaction."""
        page = await self.browser.get(instance, "/staff")
        data = {"_csrf_token": csrf_token(page.text), "action": "status", "to_status": to_status, "message": ""}
        answer = await self.browser.post(instance, "/staff/bulk", data={**data, "case_ids": [str(i) for i in case_ids]})
        assert answer.status_code == 200 and answer.text.count('class="outcome-done"') == len(case_ids), answer.text


# --- the database, read by the test --------------------------------------------------------------------------


async def case_ids(db: SQLAlchemyAsyncConfig, tenant: TenantFixture) -> dict[str, list[tuple[uuid.UUID, str]]]:
    """Every case of the municipality by idempotency key: [(id, tracking path), ...]."""
    async with tenant_session(db, tenant.id) as session:
        rows = (await session.execute(select(Case.idempotency_key, Case.id, Case.tracking_token))).tuples()
        found: dict[str, list[tuple[uuid.UUID, str]]] = {}
        for key, case_id, token in rows:
            found.setdefault(key, []).append((case_id, f"/r/{token}"))
        return found


async def outbox(db: SQLAlchemyAsyncConfig, tenant: TenantFixture) -> list[OutboxMessage]:
    async with tenant_session(db, tenant.id) as session:
        return list(await session.scalars(select(OutboxMessage).order_by(OutboxMessage.created_at)))


async def pending(db: SQLAlchemyAsyncConfig, tenant: TenantFixture) -> dict[uuid.UUID, datetime.datetime | None]:
    """The municipality's undelivered rows and the end of each one's claim (None: not claimed)."""
    return {m.id: m.claimed_until for m in await outbox(db, tenant) if m.status == "pending"}


async def until(check: Callable[[], Awaitable[T]], what: str) -> T:
    """Polls ``check`` until it returns something true; fails after WAIT_SECONDS."""
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        result = await check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"still waiting after {WAIT_SECONDS:.0f} s for {what} (last: {result!r})")
        await asyncio.sleep(0.1)


def mail_counts(mail_dir: Path) -> Counter[uuid.UUID]:
    """How many e-mails went out per outbox row (each names its row in its Message-ID)."""
    counts: Counter[uuid.UUID] = Counter()
    for path in mail_dir.glob("*.eml") if mail_dir.exists() else []:
        message_id = email.message_from_bytes(path.read_bytes())["Message-ID"] or ""
        found = re.search(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", message_id)
        if found:
            counts[uuid.UUID(found.group(0))] += 1
    return counts


# --- the test ------------------------------------------------------------------------------------------------------


async def test_two_instances_and_two_workers_lose_nothing_when_one_of_each_is_killed(
    settings: Settings, tenant: TenantFixture, cluster: Cluster
) -> None:
    a, b = cluster.web
    worker_1, worker_2 = cluster.workers
    push = cluster.push
    db = alchemy_config(settings)
    began = datetime.datetime.now(datetime.UTC)
    clerk = Clerk(Browser(tenant.host))
    citizens = [Citizen(f"multi-instance-{i:02d}-{uuid.uuid4().hex[:12]}", Browser(tenant.host)) for i in range(15)]
    together, in_the_crash, afterwards = citizens[:6], citizens[6:14], citizens[14]
    ids: dict[str, uuid.UUID] = {}

    async def learn_ids() -> None:
        for key, cases in (await case_ids(db, tenant)).items():
            ids[key] = cases[0][0]

    async def move(instance: Process, citizen: Citizen, to_status: str) -> None:
        await clerk.move(instance, ids[citizen.key], to_status)
        citizen.statuses.append(to_status)

    try:
        # 1. Together: each request is filled in on one instance and sent from the other; the clerk uses both.
        async def take_part(i: int, citizen: Citizen) -> None:
            first, second = (a, b) if i % 2 == 0 else (b, a)
            await fill_in(citizen, first, second)
            accept_submission(citizen, await submit(citizen, second))
            await follow(citizen, first, push)

        await asyncio.gather(*(take_part(i, c) for i, c in enumerate(together)))
        await learn_ids()
        await clerk.login(a, tenant)
        await asyncio.gather(*(move((a, b)[i % 2], c, "in_review") for i, c in enumerate(together)))

        # 2. Web instance A dies with requests in flight on it; the clients send theirs again, to B.
        await asyncio.gather(*(fill_in(c, a, a) for c in in_the_crash))
        lost_answer, half_body, *batch = in_the_crash
        accept_submission(lost_answer, await submit(lost_answer, a))
        lost_tracking, lost_answer.tracking = lost_answer.tracking, ""  # the phone never saw the answer
        clerk_forms = [(c, await clerk.status_form(a, ids[c.key], "in_progress")) for c in together[:3]]
        half_sent, cut = asyncio.Event(), asyncio.Event()
        cut_off = asyncio.create_task(sent_half_then_cut(half_body, a, half_sent, cut))
        submissions = [asyncio.create_task(submit(c, a)) for c in batch]
        changes = [asyncio.create_task(clerk.send(a, ids[c.key], form)) for c, form in clerk_forms]
        await asyncio.wait_for(half_sent.wait(), WAIT_SECONDS)
        await asyncio.wait([*submissions, *changes], timeout=WAIT_SECONDS, return_when=asyncio.FIRST_COMPLETED)
        a.kill()
        cut.set()
        first_tries = await asyncio.gather(cut_off, *submissions, return_exceptions=True)
        change_tries = await asyncio.gather(*changes, return_exceptions=True)
        assert failed(first_tries[0]), "half a request cannot have been answered"
        sent_again = 1  # the citizen whose answer got lost
        for citizen, outcome in zip([half_body, *batch], first_tries, strict=True):
            if failed(outcome):
                sent_again += 1
                outcome = await submit(citizen, b)  # the same review page, so the same idempotency key
            accept_submission(citizen, outcome)
        accept_submission(lost_answer, await submit(lost_answer, b))
        assert lost_answer.tracking == lost_tracking, "the retry of a request that went through made another one"
        for (citizen, form), outcome in zip(clerk_forms, change_tries, strict=True):
            if failed(outcome):
                sent_again += 1
                # The same form again: applied now (303), or refused as changed meanwhile (409) because the
                # first one had gone through; either way the case moved once.
                outcome = await clerk.send(b, ids[citizen.key], form)
                assert outcome.status_code in (303, 409), outcome.text
            else:
                assert outcome.status_code == 303, outcome.text
            citizen.statuses.append("in_progress")
        await learn_ids()
        await asyncio.gather(*(follow(c, b, push) for c in in_the_crash))
        await asyncio.gather(*(move(b, c, "in_review") for c in in_the_crash))

        # 3. Worker 1 dies in the crash window: it has claimed a round and handed part of it to the push service,
        # which has not answered yet. Worker 2 is paused meanwhile, so that the round is worker 1's.
        await until(lambda: _nothing_pending(db, tenant), "the outbox to be delivered before the worker crash")
        worker_2.send(signal.SIGSTOP)
        push.hold()
        round_of_worker_1 = [*together[3:], *in_the_crash]
        await clerk.move_together(b, [ids[c.key] for c in round_of_worker_1], "in_progress")
        for citizen in round_of_worker_1:
            citizen.statuses.append("in_progress")
        bulk_rows = set(await pending(db, tenant))  # the push service answers none of them yet
        assert len(bulk_rows) == len(round_of_worker_1)
        await until(lambda: _held(push), "worker 1 to send its round to the push service")
        worker_1.kill()
        now = datetime.datetime.now(datetime.UTC)
        claimed = {i: end for i, end in (await pending(db, tenant)).items() if end is not None and end > now}
        assert claimed and set(claimed) <= bulk_rows, "worker 1 died with no claim"
        push.release()
        worker_2.send(signal.SIGCONT)
        await asyncio.gather(*(move(b, c, "completed") for c in together[:3]))
        # The survivor delivers everything but the dead worker's rows, which it leaves alone while their claim holds.
        await until(lambda: _only(db, tenant, set(claimed)), "worker 2 to deliver every row it may take")
        assert await pending(db, tenant) == claimed, "the survivor took rows whose claim had not run out"
        received_in_the_crash = _push_counts(push)
        # The claim runs out (here at once, instead of after RetryPolicy.claim_timeout, two minutes).
        async with tenant_session(db, tenant.id) as session:
            await session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id.in_(claimed))
                .values(claimed_until=datetime.datetime.now(datetime.UTC) - datetime.timedelta(seconds=1))
            )

        # 4. After both crashes: a new request, sent and followed through the instance left, and moved on.
        await fill_in(afterwards, b, b)
        accept_submission(afterwards, await submit(afterwards, b))
        await learn_ids()
        await follow(afterwards, b, push)
        await move(b, afterwards, "in_review")
        await until(lambda: _nothing_pending(db, tenant), "the outbox to be delivered after the crashes")

        # No submission lost or made twice: one case per idempotency key, the one whose link the citizen got.
        cases = await case_ids(db, tenant)
        assert sorted(cases) == sorted(c.key for c in citizens)
        for citizen in citizens:
            assert [path for _, path in cases[citizen.key]] == [citizen.tracking], citizen.key
        # Every status change once in the timeline, in the clerk's order.
        async with tenant_session(db, tenant.id) as session:
            events = (
                await session.execute(
                    select(CaseEvent.case_id, CaseEvent.to_status)
                    .where(CaseEvent.kind == "status_changed", CaseEvent.actor_kind == "staff")
                    .order_by(CaseEvent.created_at, CaseEvent.id)
                )
            ).tuples()
            timeline: dict[uuid.UUID, list[str]] = {}
            for case_id, to_status in events:
                timeline.setdefault(case_id, []).append(to_status)
            endpoints = dict(
                (await session.execute(select(PushSubscription.id, PushSubscription.endpoint))).tuples().all()
            )
        for citizen in citizens:
            assert timeline.get(ids[citizen.key], []) == citizen.statuses, citizen.key

        # In the outbox: a receipt per request and a push per status change, to the device following it; all sent.
        rows = await outbox(db, tenant)
        assert {(m.status, m.last_error) for m in rows} == {("sent", "")}
        owner = {ids[c.key]: c for c in citizens}
        pushes = [m for m in rows if m.channel == "push"]
        receipts = [m for m in rows if m.channel == "email"]
        assert len(rows) == len(pushes) + len(receipts)
        assert Counter(owner[m.case_id].key for m in receipts) == Counter(c.key for c in citizens)
        assert Counter(owner[m.case_id].key for m in pushes) == Counter({c.key: len(c.statuses) for c in citizens})
        row_of: dict[tuple[str, str], uuid.UUID] = {}  # (device, text) -> row
        for message in pushes:
            device_id = str(endpoints[message.subscription_id]).rsplit("/", 1)[1]
            assert device_id == owner[message.case_id].device_id
            row_of[(device_id, str(message.payload["body"]))] = message.id
        assert len(row_of) == len(pushes), "two pushes to one device say the same"

        # Received: every row; twice exactly the rows the dead worker had claimed and already handed to the push
        # service; once the rows it had claimed but not yet sent, and every other row; nothing that is no row.
        received = _push_counts(push)
        assert set(received) <= set(row_of), "a push that is no outbox row"
        delivered = Counter({row_of[k]: n for k, n in received.items()}) + mail_counts(cluster.data_dir / "mail")
        before_the_claim_ran_out = {row_of[k]: n for k, n in received_in_the_crash.items()}
        sent_before_dying = {i for i in claimed if before_the_claim_ran_out.get(i)}
        assert all(before_the_claim_ran_out[i] == 1 for i in sent_before_dying)
        assert sent_before_dying, "the kill did not land between sending and recording"
        if len(claimed) > SENDS_AT_ONCE:  # the rest of the round waited for a free slot when the worker died
            assert set(claimed) - sent_before_dying
        for message in rows:
            twice = message.id in sent_before_dying
            assert delivered[message.id] == (2 if twice else 1), (message.channel, message.payload["body"])
        assert not a.alive and not worker_1.alive and b.alive and worker_2.alive
        print(
            f"multi-instance: {len(citizens)} requests, {len(rows)} notifications; {sent_again} requests sent again "
            f"after web instance A died; worker 1 died with {len(claimed)} rows claimed, {len(sent_before_dying)} "
            f"of them handed to the push service (received twice); Redis {'on' if cluster.redis else 'off'}"
        )
    finally:
        for browser in [clerk.browser, *(c.browser for c in citizens)]:
            await browser.aclose()
        # The workers' receipt sweep (notifications/receipt.py) looks at every municipality, and the suite's other
        # tests leave cases without receipts on purpose. It first looks 30 s after the start, later than this test
        # usually ends; should it have run, what it queued for other municipalities goes, so later tests find the
        # outbox as they left it.
        async with unscoped_session(db) as session:
            await session.execute(
                delete(OutboxMessage).where(OutboxMessage.tenant_id != tenant.id, OutboxMessage.created_at >= began)
            )
        await db.get_engine().dispose()


async def _nothing_pending(db: SQLAlchemyAsyncConfig, tenant: TenantFixture) -> bool:
    return not await pending(db, tenant)


async def _only(db: SQLAlchemyAsyncConfig, tenant: TenantFixture, rows: set[uuid.UUID]) -> bool:
    return set(await pending(db, tenant)) <= rows


async def _held(push: GatedPushService) -> bool:
    return push.held > 0


def _push_counts(push: PushService) -> Counter[tuple[str, str]]:
    """Pushes the push service took, per (device, text); each decrypted and its VAPID signature checked."""
    counts: Counter[tuple[str, str]] = Counter()
    for r in list(push.received):
        assert r.status == 201 and not r.problems, (r.status, r.problems)
        counts[(r.device_id, str((r.payload or {}).get("body")))] += 1
    return counts
