"""Lost link: the private link goes by e-mail to the case's contact address; the page never tells if one matched."""

from __future__ import annotations

import asyncio
import re
import threading
from dataclasses import replace
from typing import Any

import pytest
from sqlalchemy import delete

from backend.cases import lookup
from backend.core.db import alchemy_config, unscoped_session
from backend.core.ratelimit import MemoryRateLimiter, SQLRateLimiter
from backend.notifications.delivery import Deliverer
from backend.notifications.models import OutboxMessage
from backend.settings import Settings
from tests.conftest import Person, csrf_token
from tests.factories import TenantFixture
from tests.helpers import Client
from tests.integration.cases.conftest import Live, browser, csrf
from tests.integration.cases.test_feedback import english
from tests.integration.notifications.conftest import FAST, outbox, submit_case
from tests.integration.notifications.test_email import Inbox, smtp  # noqa: F401  (the in-process SMTP server)

SAME_ANSWER = "If we found a request with these details, we have sent you the link to it."


@pytest.fixture(autouse=True)
async def empty_outbox(settings: Settings) -> None:
    db = alchemy_config(settings)
    async with unscoped_session(db) as session:
        await session.execute(delete(OutboxMessage))
    await db.get_engine().dispose()


async def reference_of(client: Client, tracking: str) -> str:
    page = await client.get(tracking)
    match = re.search(r'data-reference="([^"]+)"', page.text)
    assert match
    return match.group(1)


async def ask(client: Client, reference: str, email: str) -> Any:
    page = await client.get("/find")
    assert page.status_code == 200
    return await client.post(
        "/find", data={"_csrf_token": csrf_token(page.text), "reference": reference, "email": email}
    )


async def forget_counts(client: Client, settings: Settings, tenant: TenantFixture, *emails: str) -> None:
    """Start the lost-link counters afresh (the app's own in memory, or the shared table on PostgreSQL)."""
    keys = [f"{tenant.id}:find:ip:testclient", *(f"{tenant.id}:find:email:{lookup.email_key(e)}" for e in emails)]
    limiter = client.app.state.limiter  # type: ignore[attr-defined]
    if isinstance(limiter, MemoryRateLimiter):
        for key in keys:
            await limiter.reset(key)
        return
    db = alchemy_config(settings)  # the app's engine belongs to the test client's own event loop
    try:
        for key in keys:
            await SQLRateLimiter(db.get_engine()).reset(key)
    finally:
        await db.get_engine().dispose()


async def test_find_page_asks_for_reference_and_email(client: Client, tenant: TenantFixture) -> None:
    english(client)
    page = await client.get("/find")
    assert page.status_code == 200
    assert 'name="reference"' in page.text and 'name="email"' in page.text and 'action="/find"' in page.text
    assert '<label for="find-reference">' in page.text and '<label for="find-email">' in page.text


async def test_the_link_is_mailed_in_the_cases_language_when_reference_and_address_match(
    client: Client,
    tenant: TenantFixture,
    settings: Settings,
    smtp: tuple[Inbox, int],  # noqa: F811
) -> None:
    tracking = await submit_case(client, tenant, photo=False)  # in German, contact anna@example.org
    reference = await reference_of(client, tracking)
    english(client)
    answer = await ask(client, reference.lower(), "  Anna@Example.ORG ")
    assert answer.status_code == 200
    assert SAME_ANSWER in answer.text
    [row] = await outbox(settings, tenant_id=tenant.id)
    assert (row.channel, row.email, row.language) == ("email", "anna@example.org", "de")
    assert row.payload["kind"] == "lost_link" and row.payload["url"] == tracking

    inbox, port = smtp
    mailing = replace(settings, smtp_host="127.0.0.1", smtp_port=port, smtp_security="none", smtp_from="r@example.org")
    worker = Deliverer(alchemy_config(mailing), mailing, policy=FAST)
    try:
        assert await worker.run_once() == 1
    finally:
        await worker.aclose()
        await worker.db.get_engine().dispose()
    [mail] = inbox.messages
    assert tenant.name in mail["From"]
    body = mail.get_content()  # type: ignore[attr-defined]
    assert f"{tracking}" in body and reference in body
    assert "Hallo" in body, "in the language the request was made in"


async def test_no_match_gets_the_same_answer_and_no_mail(
    client: Client, tenant: TenantFixture, other_tenant: TenantFixture, person: Person, settings: Settings
) -> None:
    english(client)
    tracking = await submit_case(client, tenant, photo=False)
    reference = await reference_of(client, tracking)
    match = await ask(client, reference, "anna@example.org")
    wrong_address = await ask(client, reference, "someone@example.org")
    wrong_reference = await ask(client, "1999-99999", "anna@example.org")
    async with person(other_tenant.host) as elsewhere:
        english(elsewhere)
        other_town = await ask(elsewhere, reference, "anna@example.org")

    def page(response: Any) -> str:
        return re.sub(r'name="_csrf_token" value="[^"]+"|content="[^"]+"', "", response.text)

    assert match.status_code == wrong_address.status_code == wrong_reference.status_code == other_town.status_code
    assert page(match) == page(wrong_address) == page(wrong_reference)
    assert SAME_ANSWER in other_town.text
    rows = await outbox(settings)
    assert [(r.tenant_id, r.payload["kind"]) for r in rows] == [(tenant.id, "lost_link")], "mail only on a match"


async def test_the_answer_goes_out_before_the_lookup_so_its_time_never_tells_a_match(
    live: Live, tenant: TenantFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The lookup is held until the test has the answer. Were it awaited before answering, the answer
    # would wait for the hold's timeout, and a match would answer later than a miss.
    started, released = threading.Event(), threading.Event()
    held: list[bool] = []
    real_lookup = lookup.send_lost_link

    async def held_lookup(*args: Any) -> None:
        started.set()
        held.append(await asyncio.to_thread(released.wait, 15))
        await real_lookup(*args)

    monkeypatch.setattr(lookup, "send_lost_link", held_lookup)
    with live() as server:
        async with browser(server, tenant) as phone:
            token = await csrf(phone, "/find")
            for email in ("anna@example.org", "nobody@example.org"):
                started.clear()
                released.clear()
                answer = await phone.post("/find", data={"_csrf_token": token, "reference": "AB-1234", "email": email})
                assert answer.status_code == 200 and 'role="status"' in answer.text
                assert not released.is_set()
                assert await asyncio.to_thread(started.wait, 15), "the lookup still runs, after the answer"
                released.set()
    assert held == [True, True]


async def test_empty_fields_are_explained_without_a_lookup(client: Client, tenant: TenantFixture) -> None:
    english(client)
    response = await ask(client, "", "not-an-address")
    assert response.status_code == 422
    assert "Please enter the reference number" in response.text
    assert 'aria-invalid="true"' in response.text


async def test_lost_link_is_rate_limited_per_address(client: Client, tenant: TenantFixture) -> None:
    english(client)
    answers = [(await ask(client, f"2026-0000{i}", "Anna@example.org")).status_code for i in range(4)]
    assert answers == [200, 200, 200, 429], "the fourth ask for one address within the hour is refused"
    assert (await ask(client, "2026-00001", "ANNA@EXAMPLE.ORG")).status_code == 429, "addresses compare case-blind"
    assert (await ask(client, "2026-00001", "bert@example.org")).status_code == 200


async def test_lost_link_is_rate_limited_per_client(client: Client, tenant: TenantFixture) -> None:
    english(client)
    answers = [(await ask(client, "2026-00001", f"person{i}@example.org")).status_code for i in range(11)]
    assert answers == [200] * 10 + [429]
    limited = await ask(client, "2026-00001", "fresh@example.org")
    assert limited.status_code == 429
    assert "Please wait an hour" in limited.text
