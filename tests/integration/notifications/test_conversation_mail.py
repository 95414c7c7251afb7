"""The receipt after a submission, how e-mails say to answer, and one-click unsubscribe (RFC 8058)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from email.message import Message
from typing import Any
from urllib.parse import urlsplit

import pytest
from sqlalchemy import delete

from backend.core.db import alchemy_config, unscoped_session
from backend.core.i18n import LANGUAGE_COOKIE
from backend.notifications.delivery import Deliverer
from backend.notifications.models import OutboxMessage
from backend.settings import Settings
from tests.conftest import Person
from tests.factories import REPORT_FORM, TenantFixture, jpeg_bytes, make_tenant
from tests.helpers import VALID_ANSWERS, Client, post_form, submit_from_review
from tests.helpers import submit_case as submit_with_receipt
from tests.integration.notifications.conftest import FAST, outbox
from tests.integration.notifications.test_email import Inbox, smtp  # noqa: F401  (the in-process SMTP server)

Mailer = Callable[[], Any]


@pytest.fixture
async def deliver(settings: Settings, smtp: tuple[Inbox, int]) -> AsyncIterator[Mailer]:  # noqa: F811
    """Run the worker once against the test SMTP server; returns the mails it received so far."""
    inbox, port = smtp
    mailing = replace(
        settings, smtp_host="127.0.0.1", smtp_port=port, smtp_security="none", smtp_from="rathaus@example.org"
    )
    worker = Deliverer(alchemy_config(mailing), mailing, policy=FAST)

    async def run() -> list[Message]:
        await worker.run_once()
        return inbox.messages

    yield run
    await worker.aclose()
    await worker.db.get_engine().dispose()


def body_of(mail: Message) -> str:
    return mail.get_content()  # type: ignore[attr-defined, no-any-return]


async def test_the_receipt_names_reference_service_date_and_link_in_the_cases_language(
    client: Client, tenant: TenantFixture, deliver: Mailer
) -> None:
    client.cookies.set(LANGUAGE_COOKIE, "en")
    tracking = await submit_with_receipt(client, tenant, photo=False)
    page = await client.get(tracking)
    reference = re.search(r'data-reference="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
    [mail] = await deliver()
    assert mail["To"] == "anna@example.org"
    assert tenant.name in mail["From"] and "rathaus@example.org" in mail["From"]
    assert reference in mail["Subject"] and "We have received your request" in mail["Subject"]
    body = body_of(mail)
    assert f"Reference number: {reference}" in body
    assert "Service: Broken street light" in body
    assert re.search(r"Received: \w+ \d+, \d{4}", body), body
    assert f"http://{tenant.slug}.localhost:8000{tracking}" in body


async def test_the_receipt_is_german_for_a_german_submission(
    client: Client, tenant: TenantFixture, deliver: Mailer
) -> None:
    await submit_with_receipt(client, tenant, photo=False)  # German is the citizens' default
    [mail] = await deliver()
    assert "Wir haben Ihr Anliegen" in mail["Subject"]
    assert "Leistung: Straßenlaterne defekt" in body_of(mail) and "Hallo" in body_of(mail)


async def test_a_retried_submission_queues_exactly_one_receipt(
    client: Client, tenant: TenantFixture, settings: Settings
) -> None:
    review = await post_form(client, tenant, VALID_ANSWERS, key="retried-key-0123456789abc")
    first = await submit_from_review(client, tenant, review.text)
    again = await submit_from_review(client, tenant, review.text)  # the answer was lost; the device sends again
    assert first.status_code == again.status_code == 303
    assert first.headers["location"] == again.headers["location"]
    receipts = [r for r in await outbox(settings, tenant_id=tenant.id) if r.payload.get("kind") == "receipt"]
    assert len(receipts) == 1


async def test_mails_carry_one_click_unsubscribe_and_say_how_to_answer(
    client: Client, tenant: TenantFixture, clerk_of: Any, deliver: Mailer
) -> None:
    tracking = await submit_with_receipt(client, tenant, photo=False)
    await (await clerk_of(tenant)).set_status("in_review")
    mails = await deliver()
    assert len(mails) == 2, "the receipt and the status change"
    for mail in mails:
        [address] = re.findall(r"^<(.+)>$", mail["List-Unsubscribe"])
        assert urlsplit(address).path == tracking + "/unsubscribe" and "sig=" in address
        assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        body = body_of(mail)
        assert f"{tracking}#reply" in body
        assert "do not reply" not in body and "nicht darauf" not in body


async def test_one_click_unsubscribe_stops_later_mails(
    client: Client, tenant: TenantFixture, clerk_of: Any, deliver: Mailer, person: Person, settings: Settings
) -> None:
    await submit_with_receipt(client, tenant, photo=False)
    [receipt] = await deliver()
    address = receipt["List-Unsubscribe"].strip("<>")
    target = urlsplit(address)
    async with person(tenant.host) as mail_client:  # no cookies, no CSRF token: as a mail client posts
        shown = await mail_client.get(f"{target.path}?{target.query}")
        assert shown.status_code == 200 and 'method="post"' in shown.text
        forged = await mail_client.post(
            f"{target.path}?sig=forged",
            content=b"List-Unsubscribe=One-Click",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        assert forged.status_code == 403
        done = await mail_client.post(
            f"{target.path}?{target.query}",
            content=b"List-Unsubscribe=One-Click",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        assert done.status_code == 200, done.text
    await (await clerk_of(tenant)).set_status("in_review")
    assert [r for r in await outbox(settings, tenant_id=tenant.id) if r.status == "pending"] == []
    assert len(await deliver()) == 1, "nothing after the receipt"


async def test_a_retry_after_the_receipt_was_lost_queues_it_once(
    client: Client, tenant: TenantFixture, settings: Settings
) -> None:
    """On PostgreSQL the receipt is written right after the case's one statement: a crash in between leaves
    the case without one, and the device's retry (same idempotency key) writes it."""
    review = await post_form(client, tenant, VALID_ANSWERS, key="lost-receipt-key-0123456")
    await submit_from_review(client, tenant, review.text)
    db = alchemy_config(settings)
    async with unscoped_session(db) as session:
        await session.execute(delete(OutboxMessage).where(OutboxMessage.tenant_id == tenant.id))
    await db.get_engine().dispose()
    for _ in range(2):
        assert (await submit_from_review(client, tenant, review.text)).status_code == 303
    receipts = [r for r in await outbox(settings, tenant_id=tenant.id) if r.payload.get("kind") == "receipt"]
    assert len(receipts) == 1


async def test_a_retry_whose_photo_now_belongs_to_the_case_still_queues_the_lost_receipt(
    person: Person, settings: Settings
) -> None:
    """A required photo moved to the case with the first attempt, so the retry's answers no longer validate: the
    key finds the case, the device is sent to it, and the receipt a crash lost is queued, once."""
    form = {"fields": [{**f, "required": True} if f["type"] == "file" else f for f in REPORT_FORM["fields"]]}
    town = await make_tenant(settings, form=form)
    async with person(town.host) as phone:
        review = await post_form(
            phone, town, VALID_ANSWERS, key="photo-retry-key-0123456789", files=[("lamp.jpg", jpeg_bytes())]
        )
        first = await submit_from_review(phone, town, review.text)
        assert first.status_code == 303
        db = alchemy_config(settings)
        async with unscoped_session(db) as session:
            await session.execute(delete(OutboxMessage).where(OutboxMessage.tenant_id == town.id))
        await db.get_engine().dispose()
        for _ in range(2):
            again = await submit_from_review(phone, town, review.text)
            assert again.status_code == 303 and again.headers["location"] == first.headers["location"]
    receipts = [r for r in await outbox(settings, tenant_id=town.id) if r.payload.get("kind") == "receipt"]
    assert len(receipts) == 1
