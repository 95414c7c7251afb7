"""The worker that empties the outbox: claims due rows, sends pushes and e-mails, records what happened.

Several workers may run against PostgreSQL: rows are claimed with SKIP LOCKED and a claim deadline, so
no row is delivered twice at once, and the rows of a worker that died are picked up once its claim
runs out. Outcomes of a push (RFC 8030):

    201 (2xx)  delivered
    404, 410   the device unsubscribed: forget it (and e-mail instead if no other device follows)
    429        try again after Retry-After
    5xx, network errors   retry with exponential backoff and jitter, up to a limit, then "dead"
    other 4xx  "failed": logged, not retried

Webhooks (webhooks.py) follow the same rules (2xx delivered; 408, 429, 5xx and network errors retried; other
answers, redirects included, failed), and their address is checked again before each attempt.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import email.policy
import email.utils
import json
import logging
import random
import smtplib
import ssl
import time
import urllib.request
import uuid
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any, NamedTuple
from urllib.parse import urlsplit

import httpx
from advanced_alchemy.extensions.litestar import SQLAlchemyAsyncConfig
from pyreqwest.client import Client, ClientBuilder
from pyreqwest.exceptions import TransportError
from pyreqwest.proxy import ProxyBuilder
from sqlalchemy import delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core import i18n
from backend.core.db import unscoped_session
from backend.core.text import email_address
from backend.notifications.metrics import count_delivery
from backend.notifications.models import OutboxMessage, PushSubscription, VapidKey, WebhookEndpoint
from backend.notifications.push import PushError, PushRequest, VapidKeyPair, build_request, check_endpoint
from backend.notifications.services import email_fallback, in_language
from backend.notifications.staff_mail import PRIVATE_LINK_KINDS, SECRET_TEXT_KINDS
from backend.notifications.unsubscribe import token_of, unsubscribe_path
from backend.notifications.webhooks import WebhookAddressError, resolve, signed_headers
from backend.settings import Settings
from backend.tenants.models import Tenant
from backend.tenants.urls import primary_hosts, public_url

log = logging.getLogger("rathaus.delivery")
# Rows per round of the worker's loop: larger rounds spread the database's work over more messages (measured with
# bench/push_bench.py --batch: 250 beats 100, 500 is no faster than 250); a crashed worker's claim delays as many.
ROUND_SIZE = 250
# Pushes in flight at once per worker (the round's lanes; pyreqwest's limit).
PUSH_IN_FLIGHT = 64
# A round starts no send later than this many seconds before its claim runs out (a push may take 15 s).
SEND_MARGIN = 20.0
# How much of a push service's answer is read (an answer longer than this closes its connection).
_PUSH_ANSWER_BYTES = 4096


@dataclass(frozen=True)
class Outcome:
    status: str  # "sent" | "retry" | "gone" | "failed"
    error: str = ""
    retry_after: float | None = None
    code: int | None = None  # the HTTP status of the answer (kept for webhooks' delivery log)


class Claimed(NamedTuple):
    """What sending reads of a claimed outbox row: plain columns, not ORM entities. A broadcast claims rounds of 250,
    and loading them (and their devices) as entities cost about a tenth of a push's CPU time (bench/push_bench.py)."""

    id: uuid.UUID
    tenant_id: uuid.UUID
    channel: str
    subscription_id: uuid.UUID | None
    webhook_id: uuid.UUID | None
    email: str | None
    language: str
    payload: dict[str, Any]
    topic: str
    urgency: str
    ttl: int


class Device(NamedTuple):
    """What a push needs of the device it goes to."""

    id: uuid.UUID
    endpoint: str
    p256dh: str
    auth: str
    vapid_key_id: uuid.UUID


_CLAIMED = [getattr(OutboxMessage, name) for name in Claimed._fields]
_DEVICE = [getattr(PushSubscription, name) for name in Device._fields]


@dataclass(frozen=True)
class Job:
    message: Claimed
    device: Device | None
    key: VapidKeyPair | None
    tenant: Tenant | None
    link: str  # the absolute address of the page the notification is about
    endpoint: WebhookEndpoint | None = None

    @property
    def payload(self) -> dict[str, Any]:
        """What the device is sent: the stored payload with its link made absolute."""
        return {**self.message.payload, "url": self.link}


@dataclass(frozen=True)
class Round:
    claimed: list[uuid.UUID]  # every row this round claimed
    jobs: list[Job]  # what is sent (empty if loading failed: the claims then run out)
    # Per job: a push's encrypted and signed request, or the Outcome that it must not be sent; None for the others.
    ready: list[PushRequest | Outcome | None]
    claimed_at: float  # time.monotonic() just before the claim


@dataclass(frozen=True)
class RetryPolicy:
    base_delay: float = 15.0
    max_delay: float = 3600.0
    max_attempts: int = 8
    claim_timeout: float = 120.0

    def backoff(self, attempts: int) -> float:
        """Exponential backoff with jitter: roughly base·2^(n−1), spread so retries do not stampede."""
        delay = min(self.base_delay * 2 ** max(attempts - 1, 0), self.max_delay)
        return delay * random.uniform(0.5, 1.0)


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def _retry_after(value: str | None, default: float = 60.0) -> float:
    if not value:
        return default
    try:
        return max(0.0, float(value))
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
            return max(0.0, (when - _now()).total_seconds())
        except (TypeError, ValueError):
            return default


class Deliverer:
    def __init__(
        self,
        db: SQLAlchemyAsyncConfig,
        settings: Settings,
        *,
        client: httpx.AsyncClient | None = None,
        policy: RetryPolicy | None = None,
        concurrency: int = 8,
        push_in_flight: int | None = None,
    ) -> None:
        self.db = db
        self.settings = settings
        self.policy = policy or RetryPolicy()
        self._own_client = client is None
        # Webhooks: one pooled client; no redirects (a receiver names its final address).
        self.client = client or httpx.AsyncClient(
            timeout=httpx.Timeout(15.0, connect=5.0),
            limits=httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency),
            follow_redirects=False,
        )
        self._concurrency = concurrency
        # Pushes in flight at once: a push service answers in tens of milliseconds, so a worker with 8 would send
        # fewer than 200 a second (bench/push_bench.py --latency 0.05); e-mails and webhooks keep ``concurrency``.
        self._push_in_flight = push_in_flight or max(concurrency, PUSH_IN_FLIGHT)
        # Push: pyreqwest (Rust's reqwest and hyper), made in the worker's event loop at the first push. A push costs
        # the sending process half of what it costs through aiohttp and a tenth of httpx (bench/push_bench.py), and a
        # broadcast sends one per device.
        self._push_client: Client | None = None
        self._slots = asyncio.Semaphore(concurrency)
        self._keys: dict[uuid.UUID, VapidKeyPair] = {}

    async def aclose(self) -> None:
        if self._own_client:
            await self.client.aclose()
        if self._push_client is not None:
            await self._push_client.close()
            self._push_client = None

    def _push_session(self) -> Client:
        if self._push_client is None:
            builder = (
                ClientBuilder()
                .max_connections(self._push_in_flight)
                .timeout(datetime.timedelta(seconds=15))
                .connect_timeout(datetime.timedelta(seconds=5))
                .follow_redirects(False)
                .user_agent("Rathaus-Push/1")
                .no_proxy()
            )
            # An operator's HTTP(S)_PROXY and NO_PROXY, as every other outgoing request of the worker uses them.
            proxies = urllib.request.getproxies_environment()
            for scheme in ("http", "https"):
                if proxies.get(scheme):
                    builder = builder.proxy(
                        getattr(ProxyBuilder, scheme)(proxies[scheme]).no_proxy(proxies.get("no") or None)
                    )
            self._push_client = builder.build()
        return self._push_client

    # --- the loop ------------------------------------------------------------------------------------

    async def run_forever(self, stop: asyncio.Event, idle: float = 1.0, limit: int = ROUND_SIZE) -> None:
        """Deliver until ``stop`` is set. While one round is sent, the next is claimed and loaded (when the last
        claim was full, so more is likely waiting): the database's work overlaps the sending instead of pausing it."""
        ahead: asyncio.Task[Round | None] | None = None
        recording: asyncio.Task[None] | None = None
        try:
            while not stop.is_set():
                round_ = await (ahead if ahead is not None else self._fetch_safely(limit))
                ahead = None
                if round_ is None:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(stop.wait(), timeout=idle)
                    continue
                if len(round_.claimed) >= limit:
                    ahead = asyncio.create_task(self._fetch_safely(limit))
                outcomes = await self._send_round(round_)
                # The outcomes are written while the next round is sent; one round's at a time, in order.
                if recording is not None:
                    await recording
                recording = asyncio.create_task(self._record(round_, outcomes))
        finally:
            if recording is not None:
                await recording
            if ahead is not None:
                # Claimed but not sent: handed back at once, so nobody waits for the claim to run out.
                left = await ahead
                if left is not None:
                    with contextlib.suppress(Exception):
                        await self._release(left.claimed)

    async def run_once(self, limit: int = 100) -> int:
        """Claim due rows, deliver them, record the outcomes; returns how many were handled.

        Database work is batched (one claim that loads the rows, one load of what they refer to, one write per
        round); only the sending runs per message, concurrently.
        """
        round_ = await self._fetch_safely(limit)
        if round_ is None:
            return 0
        await self._deliver(round_)
        return len(round_.claimed)

    async def _fetch_safely(self, limit: int) -> Round | None:
        """The next round, or None when nothing is due (or the database could not be asked: the loop goes on)."""
        try:
            return await self._fetch(limit)
        except Exception:  # keep the worker alive through a database hiccup
            log.exception("delivery round failed")
            return None

    async def _fetch(self, limit: int) -> Round | None:
        claimed_at = time.monotonic()
        async with unscoped_session(self.db) as session:
            messages = await self._claim(session, limit)
            if not messages:
                return None
            claimed = [m.id for m in messages]
            try:
                jobs = await self._prepare(session, messages)
            except Exception:
                # The claims run out and a later round tries again; nothing is lost.
                log.exception("delivery round of %s messages failed", len(claimed))
                return Round(claimed, [], [], claimed_at)
        # Every push of the round is encrypted and signed here, in one go, and only then sent: the crypto runs with its
        # code and tables warm instead of between the network's callbacks, and while the previous round waits for its
        # answers (bench/push_bench.py).
        ready = [self._push_request(job) if job.message.channel == "push" else None for job in jobs]
        return Round(claimed, jobs, ready, claimed_at)

    def _send_until(self, round_: Round) -> float:
        """When a round stops starting sends (time.monotonic): early enough that a send started before it ends, and is
        recorded, before the claim runs out and another worker may take the row."""
        timeout = self.policy.claim_timeout
        return round_.claimed_at + max(timeout - SEND_MARGIN, timeout / 2)

    async def _deliver(self, round_: Round) -> None:
        await self._record(round_, await self._send_round(round_))

    async def _send_round(self, round_: Round) -> list[Outcome | None]:
        """Send the round's messages; an outcome per job, None for one handed back unsent."""
        jobs, ready = round_.jobs, round_.ready
        outcomes: list[Outcome | None] = [None] * len(jobs)
        turns = iter(range(len(jobs)))
        send_until = self._send_until(round_)

        async def lane() -> None:
            # Lanes take the round's messages one after the other, without a waiting task per message: as many
            # pushes in flight as the worker allows (e-mails and webhooks wait for one of their fewer slots). Past
            # send_until (a slow push service) the rest is handed back unsent, for the next round.
            for i in turns:
                if time.monotonic() >= send_until:
                    return
                outcomes[i] = await self._send(jobs[i], ready[i])

        lanes = self._push_in_flight if any(job.message.channel == "push" for job in jobs) else self._concurrency
        await asyncio.gather(*(lane() for _ in range(min(lanes, len(jobs)))))
        return outcomes

    async def _record(self, round_: Round, outcomes: list[Outcome | None]) -> None:
        """Write the round's outcomes in one transaction and hand back what was not sent."""
        try:
            pairs = list(zip(round_.jobs, outcomes, strict=True))
            async with unscoped_session(self.db) as session:
                recorded = await self._record_all(session, [(job, out) for job, out in pairs if out is not None])
            left = [job.message.id for job, out in pairs if out is None]
            if left:
                log.warning("%s messages of a round handed back unsent: the round took too long", len(left))
                await self._release(left)
            for channel, outcome in recorded:  # counted once the outcomes are committed
                count_delivery(channel, outcome)
        except Exception:
            # The claims run out and a later round tries again; nothing is lost.
            log.exception("delivery round of %s messages failed", len(round_.claimed))

    async def _release(self, claimed: list[uuid.UUID]) -> None:
        async with unscoped_session(self.db) as session:
            await session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id.in_(claimed), OutboxMessage.status == "pending")
                .values(claimed_until=None)
                .execution_options(synchronize_session=False)
            )
            await session.commit()

    async def claim(self, limit: int) -> list[Claimed]:
        """Claim up to ``limit`` due rows and return them."""
        async with unscoped_session(self.db) as session:
            return await self._claim(session, limit)

    async def _claim(self, session: AsyncSession, limit: int) -> list[Claimed]:
        """Claim up to ``limit`` due rows and return them, committed (so no other worker takes them)."""
        now = _now()
        due = or_(OutboxMessage.claimed_until.is_(None), OutboxMessage.claimed_until < now)
        query = (
            select(OutboxMessage.id)
            .where(OutboxMessage.status == "pending", OutboxMessage.next_attempt_at <= now, due)
            # A disabled municipality sends nothing; its messages wait until it is enabled again.
            .where(OutboxMessage.tenant_id.in_(select(Tenant.id).where(Tenant.active.is_(True))))
            .order_by(OutboxMessage.next_attempt_at)
            .limit(limit)
        )
        if session.bind.dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        candidates = list(await session.scalars(query))
        if not candidates:
            await session.rollback()
            return []
        # The claim itself is conditional, so two workers can never both win the same row; it returns the rows.
        rows = await session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id.in_(candidates), OutboxMessage.status == "pending", due)
            .values(claimed_until=now + datetime.timedelta(seconds=self.policy.claim_timeout))
            .returning(*_CLAIMED)
            .execution_options(synchronize_session=False)
        )
        messages = [Claimed._make(row) for row in rows]
        await session.commit()
        return messages

    # --- one message -----------------------------------------------------------------------------------

    async def _prepare(self, session: AsyncSession, messages: list[Claimed]) -> list[Job]:
        """Everything the sending needs, loaded up front so sending never waits on the database."""
        device_ids = {m.subscription_id for m in messages if m.channel == "push" and m.subscription_id}
        devices: dict[uuid.UUID, Device] = {}
        if device_ids:
            found = await session.execute(select(*_DEVICE).where(PushSubscription.id.in_(device_ids)))
            devices = {row.id: Device._make(row) for row in found}
        tenant_ids = {m.tenant_id for m in messages}
        tenants = {t.id: t for t in await session.scalars(select(Tenant).where(Tenant.id.in_(tenant_ids)))}
        hosts = await primary_hosts(session, tenant_ids)
        endpoint_ids = {m.webhook_id for m in messages if m.channel == "webhook" and m.webhook_id}
        endpoints = {
            e.id: e for e in await session.scalars(select(WebhookEndpoint).where(WebhookEndpoint.id.in_(endpoint_ids)))
        }
        jobs = []
        for message in messages:
            device = devices.get(message.subscription_id) if message.subscription_id else None
            key = await self._key(session, device.vapid_key_id) if device else None
            tenant = tenants.get(message.tenant_id)
            path = str((message.payload or {}).get("url") or "/")
            link = public_url(self.settings, tenant.slug, hosts.get(tenant.id), path) if tenant else path
            endpoint = endpoints.get(message.webhook_id) if message.webhook_id else None
            jobs.append(Job(message, device, key, tenant, link, endpoint))
        return jobs

    async def _send(self, job: Job, ready: PushRequest | Outcome | None) -> Outcome:
        """Send one message; a push comes with its request made by _push_request (or the Outcome that it must not be
        sent)."""
        if isinstance(ready, Outcome):
            return ready
        try:
            if isinstance(ready, PushRequest):
                return await self._push(ready)
            async with self._slots:
                if job.message.channel == "webhook":
                    return await self._webhook(job)
                return await self._email(job)
        except Exception as exc:  # one bad message must not stop the others
            log.exception("sending outbox message %s failed", job.message.id)
            return Outcome("retry", f"unexpected error: {type(exc).__name__}")

    def _push_request(self, job: Job) -> PushRequest | Outcome:
        """The encrypted and signed request of a push, or the Outcome that it must not be sent."""
        device, message = job.device, job.message
        if device is None or job.key is None:
            return Outcome("gone", "subscription no longer exists")
        try:
            check_endpoint(device.endpoint, self.settings.push_endpoint_allowlist)
            return build_request(
                endpoint=device.endpoint,
                p256dh=device.p256dh,
                auth=device.auth,
                payload=job.payload,
                key=job.key,
                subject=self.settings.vapid_subject,
                ttl=message.ttl,
                urgency=message.urgency,
                topic=message.topic,
            )
        except PushError as exc:
            return Outcome("failed", f"not sent: {exc}")
        except Exception as exc:  # one bad message must not stop the others
            log.exception("preparing outbox message %s failed", job.message.id)
            return Outcome("retry", f"unexpected error: {type(exc).__name__}")

    async def _push(self, request: PushRequest) -> Outcome:
        try:
            sending = (
                self._push_session()
                .post(request.url)
                .headers(request.headers)
                .body_bytes(request.body)
                .streamed_read_buffer_limit(_PUSH_ANSWER_BYTES)
                .build_streamed()
            )
            async with sending as response:
                code = response.status
                retry_after = response.get_header("retry-after")
                # A push service answers in a few words at most: reading them lets the connection serve the next
                # push; a refusal's text is kept (short) with the message.
                start = await response.body_reader.read(_PUSH_ANSWER_BYTES)
                text = bytes(start or b"").decode("utf-8", "replace")[:200]
        except (TransportError, TimeoutError) as exc:
            return Outcome("retry", f"network error: {type(exc).__name__}: {exc}"[:300])
        if 200 <= code < 300:
            return Outcome("sent")
        if code in (404, 410):
            return Outcome("gone", f"push service answered {code}")
        if code == 429:
            return Outcome("retry", "push service answered 429", _retry_after(retry_after))
        if code >= 500:
            return Outcome("retry", f"push service answered {code}")
        log.warning("push to %s refused with %s: %s", request.url.split("/")[2], code, text)
        return Outcome("failed", f"push service answered {code}: {text}")

    async def _webhook(self, job: Job) -> Outcome:
        endpoint, message = job.endpoint, job.message
        if endpoint is None:
            return Outcome("failed", "the endpoint no longer exists")
        try:
            # Checked again now (DNS may have changed since the admin saved it); the request goes to that address.
            target = await resolve(
                endpoint.url,
                production=self.settings.is_production,
                allow_private=self.settings.webhook_allow_private,
            )
        except WebhookAddressError as exc:
            if exc.reason == "unresolvable":
                return Outcome("retry", f"not sent: {exc}")
            return Outcome("failed", f"not sent: address not allowed ({exc})")
        payload = message.payload or {}
        body = json.dumps(payload.get("body", {}), ensure_ascii=False, separators=(",", ":")).encode()
        headers = signed_headers(endpoint.secret, str(payload.get("webhook_id", "")), int(time.time()), body)
        headers["host"] = target.host_header
        headers["user-agent"] = "Rathaus-Webhooks/1"
        try:
            # Streamed: only the start of an answer is read, however much a receiver sends.
            async with self.client.stream(
                "POST", target.url, content=body, headers=headers, extensions={"sni_hostname": target.server_name}
            ) as response:
                code, retry_after = response.status_code, response.headers.get("retry-after")
                start = b""
                if not 200 <= code < 300:
                    async for chunk in response.aiter_bytes():
                        start += chunk
                        if len(start) >= 200:
                            break
        except httpx.HTTPError as exc:
            return Outcome("retry", f"network error: {type(exc).__name__}: {exc}"[:300])
        if 200 <= code < 300:
            return Outcome("sent", code=code)
        text = start[:200].decode("utf-8", "replace").strip()
        answer = f"answered {code}: {text}" if text else f"answered {code}"
        if code in (408, 429):
            return Outcome("retry", answer, _retry_after(retry_after), code=code)
        if code >= 500:
            return Outcome("retry", answer, code=code)
        return Outcome("failed", answer, code=code)

    async def _key(self, session: AsyncSession, key_id: uuid.UUID) -> VapidKeyPair | None:
        if key_id not in self._keys:
            key = await session.get(VapidKey, key_id)
            if key is None:
                return None
            self._keys[key_id] = VapidKeyPair(private_pem=key.private_pem, public_key=key.public_key)
        return self._keys[key_id]

    async def _email(self, job: Job) -> Outcome:
        tenant, message = job.tenant, job.message
        if tenant is None or not message.email:
            return Outcome("failed", "no recipient")
        try:
            mail = compose_email(self.settings, tenant, message, job.link)
        except ValueError as exc:
            return Outcome("failed", f"not sent: {exc}")
        try:
            await asyncio.to_thread(send_email, self.settings, mail)
        except smtplib.SMTPResponseException as exc:
            if 500 <= exc.smtp_code < 600:
                return Outcome("failed", f"SMTP {exc.smtp_code}: {exc.smtp_error!r}")
            return Outcome("retry", f"SMTP {exc.smtp_code}")
        except (OSError, smtplib.SMTPException) as exc:
            return Outcome("retry", f"SMTP: {type(exc).__name__}: {exc}")
        return Outcome("sent")

    async def _record_all(self, session: AsyncSession, results: list[tuple[Job, Outcome]]) -> list[tuple[str, str]]:
        """Write every outcome of the round in one transaction (the rows were loaded in another session); returns
        (channel, outcome) of each, ``dead`` for a retry that used up the attempts."""
        now = _now()
        # The usual outcome, a push delivered, is written for the whole round in one statement; the rest row by row.
        delivered = [job.message.id for job, outcome in results if _plainly_delivered(job, outcome)]
        if delivered:
            await session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id.in_(delivered))
                .values(
                    status="sent",
                    sent_at=now,
                    attempts=OutboxMessage.attempts + 1,
                    claimed_until=None,
                    last_error="",
                    updated_at=now,
                )
                .execution_options(synchronize_session=False)
            )
        recorded: list[tuple[str, str]] = [("push", "sent")] * len(delivered)
        others = [(job, outcome) for job, outcome in results if not _plainly_delivered(job, outcome)]
        if not others:
            return recorded
        rows = {
            m.id: m
            for m in await session.scalars(
                select(OutboxMessage).where(OutboxMessage.id.in_([job.message.id for job, _ in others]))
            )
        }
        for job, outcome in others:
            message = rows.get(job.message.id)
            if message is None:
                continue
            message.attempts += 1
            message.claimed_until = None
            message.last_error = outcome.error[:1000]
            if message.channel == "webhook":
                message.response_code = outcome.code
            if outcome.status == "sent":
                message.status, message.sent_at = "sent", now
            elif outcome.status == "gone":
                message.status = "gone"
                if job.device is not None:
                    await session.execute(delete(PushSubscription).where(PushSubscription.id == job.device.id))
                await email_fallback(session, message)
            elif outcome.status == "failed":
                message.status = "failed"
            elif message.attempts >= self.policy.max_attempts:
                message.status = "dead"
                log.warning(
                    "outbox message %s is dead after %s attempts: %s", message.id, message.attempts, outcome.error
                )
            else:
                delay = (
                    outcome.retry_after if outcome.retry_after is not None else self.policy.backoff(message.attempts)
                )
                message.next_attempt_at = now + datetime.timedelta(seconds=delay)
            if message.status != "pending" and (message.payload or {}).get("kind") in PRIVATE_LINK_KINDS:
                # Its link opens an account or a case: not kept once the e-mail is out (or never will be).
                message.payload = {**message.payload, "url": ""}
                if message.payload.get("kind") in SECRET_TEXT_KINDS:
                    message.payload = {**message.payload, "details": []}
            recorded.append((message.channel, "dead" if message.status == "dead" else outcome.status))
        return recorded


def _plainly_delivered(job: Job, outcome: Outcome) -> bool:
    """A push that arrived and whose row keeps its payload: recorded with the others of its round at once."""
    return (
        outcome.status == "sent"
        and job.message.channel == "push"
        and (job.message.payload or {}).get("kind") not in PRIVATE_LINK_KINDS
    )


# --- e-mail ----------------------------------------------------------------------------------------------


# Folding a long subject before a word with an umlaut leaves two spaces in what readers see ("Wird  geprüft",
# a flaw of Python's folder); our subjects are short enough to need no folding (998: the SMTP line limit).
MAIL_POLICY = email.policy.default.clone(max_line_length=998)


def compose_email(settings: Settings, tenant: Tenant, message: Claimed, link: str) -> EmailMessage:
    """The notification as an e-mail; ValueError if the recipient is not a well-formed address, which
    therefore never reaches a header. ``link`` is the absolute address of the case's page."""
    payload: dict[str, Any] = message.payload
    recipient = email_address(message.email or "")
    texts = tenant.texts or {}

    def own(name: str, default: str) -> str:
        """A municipality may word its e-mails itself (texts["email_greeting"] = {"de": ..., "en": ...})."""
        return (texts.get(name) or {}).get(message.language) or default

    token = token_of(str(payload.get("url", "")))
    # The unsubscribe link lives on the same public address as the case's page.
    origin = "{0.scheme}://{0.netloc}".format(urlsplit(link))
    unsubscribe = origin + unsubscribe_path(settings.secret_key, token) if token else ""
    with in_language(message.language):
        subject = f"{tenant.name}: {payload.get('body', '')}"
        if payload.get("kind") in PRIVATE_LINK_KINDS:
            lines = [
                i18n.gettext("Hello,"),
                *[str(line) for line in payload.get("details") or []],
                link,
                *[str(line) for line in payload.get("after") or []],
                tenant.name,
            ]
            mail = EmailMessage(policy=MAIL_POLICY)
            mail["From"] = email.utils.formataddr((tenant.name, settings.smtp_from))
            mail["To"] = recipient
            mail["Subject"] = subject
            mail["Date"] = email.utils.formatdate(localtime=False)
            mail["Message-ID"] = email.utils.make_msgid(idstring=str(message.id), domain=settings.base_domain)
            mail["Auto-Submitted"] = "auto-generated"
            mail.set_content("\n\n".join(lines))
            return mail
        lines = [
            own("email_greeting", i18n.gettext("Hello,")),
            str(payload.get("body", "")),
            *[str(line) for line in payload.get("details") or []],
            i18n.gettext("You can see the details and the whole history of your request here:"),
            link,
        ]
        if token:
            lines += [
                i18n.gettext(
                    "To answer or to add information or photos, please use the form on that page "
                    "(replies to this e-mail do not reach the town hall):"
                ),
                f"{link}#reply",
                i18n.gettext("No more e-mails about this request: %(link)s", link=unsubscribe),
            ]
        lines += [
            i18n.gettext("You receive this e-mail because you gave your address with your request."),
            own("email_signature", tenant.name),
        ]
        body = "\n\n".join(lines)
    mail = EmailMessage(policy=MAIL_POLICY)
    mail["From"] = email.utils.formataddr((tenant.name, settings.smtp_from))
    mail["To"] = recipient
    mail["Subject"] = subject
    mail["Date"] = email.utils.formatdate(localtime=False)
    mail["Message-ID"] = email.utils.make_msgid(idstring=str(message.id), domain=settings.base_domain)
    mail["Auto-Submitted"] = "auto-generated"
    if token:
        # RFC 8058 one-click unsubscribe: the mail client POSTs to the address, switching e-mails off for this case.
        mail["List-Unsubscribe"] = f"<{unsubscribe}>"
        mail["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    mail.set_content(body)
    return mail


def send_email(settings: Settings, mail: EmailMessage) -> None:
    """Send over SMTP, or without SMTP settings write the message into <data dir>/mail for the operator."""
    if not settings.smtp_host:
        settings.mail_dir.mkdir(parents=True, exist_ok=True)
        name = f"{_now():%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}.eml"
        (settings.mail_dir / name).write_bytes(bytes(mail))
        return
    context = ssl.create_default_context()
    smtp: smtplib.SMTP
    if settings.smtp_security == "tls":
        smtp = smtplib.SMTP_SSL(settings.smtp_host, settings.smtp_port, timeout=30, context=context)
    else:
        smtp = smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=30)
    with smtp:
        if settings.smtp_security == "starttls":
            smtp.starttls(context=context)
        if settings.smtp_username:
            smtp.login(settings.smtp_username, settings.smtp_password or "")
        smtp.send_message(mail)
