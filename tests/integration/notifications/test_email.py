"""E-mail fallback: a case with a contact address and no device gets the notification by e-mail over SMTP."""

from __future__ import annotations

import asyncio
import email
import email.policy
import email.utils
import socket
from collections.abc import Iterator
from dataclasses import replace
from email.message import Message
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from backend.core.db import alchemy_config
from backend.notifications.delivery import Deliverer
from backend.settings import Settings
from tests.factories import TenantFixture
from tests.helpers import Client
from tests.integration.notifications.conftest import FAST, outbox, submit_case


class Inbox:
    def __init__(self) -> None:
        self.messages: list[Message] = []
        self.envelopes: list[Any] = []
        self.refuse: int | None = None

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        if self.refuse:
            code, self.refuse = self.refuse, None
            return f"{code} try again later" if code < 500 else f"{code} mailbox unavailable"
        self.envelopes.append(envelope)
        self.messages.append(email.message_from_bytes(envelope.content, policy=email.policy.default))
        return "250 OK"


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    handler = Inbox()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    yield handler, port
    controller.stop()


async def test_status_change_is_mailed_when_no_device_follows(
    client: Client, tenant: TenantFixture, clerk_of, settings: Settings, smtp: tuple[Inbox, int]
) -> None:
    inbox, port = smtp
    tracking = await submit_case(client, tenant, photo=False)  # gives anna@example.org as contact
    await (await clerk_of(tenant)).set_status("in_review")
    [row] = await outbox(settings, tenant_id=tenant.id)
    assert (row.channel, row.email) == ("email", "anna@example.org")

    mailing = replace(
        settings, smtp_host="127.0.0.1", smtp_port=port, smtp_security="none", smtp_from="rathaus@example.org"
    )
    worker = Deliverer(alchemy_config(mailing), mailing, policy=FAST)
    try:
        assert await worker.run_once() == 1
    finally:
        await worker.aclose()
        await worker.db.get_engine().dispose()
    [mail] = inbox.messages
    assert inbox.envelopes[0].rcpt_tos == ["anna@example.org"]
    assert (
        mail["From"] == f'"{tenant.name}" <rathaus@example.org>'
        or mail["From"] == f"{tenant.name} <rathaus@example.org>"
    )
    assert "Wird geprüft" in " ".join(mail["Subject"].split())
    body = mail.get_content()  # type: ignore[attr-defined]
    assert f"http://{tenant.slug}.localhost:8000{tracking}" in body
    assert "Hallo" in body, "written in the language the citizen used"
    assert [r.status for r in await outbox(settings, tenant_id=tenant.id)] == ["sent"]


async def test_temporary_smtp_refusal_is_retried(
    client: Client, tenant: TenantFixture, clerk_of, settings: Settings, smtp: tuple[Inbox, int]
) -> None:
    inbox, port = smtp
    await submit_case(client, tenant, photo=False)
    await (await clerk_of(tenant)).set_status("in_review")
    inbox.refuse = 451
    mailing = replace(settings, smtp_host="127.0.0.1", smtp_port=port, smtp_security="none")
    worker = Deliverer(alchemy_config(mailing), mailing, policy=FAST)
    try:
        await worker.run_once()
        assert [r.status for r in await outbox(settings, tenant_id=tenant.id)] == ["pending"]
        await asyncio.sleep(0.2)
        await worker.run_once()
    finally:
        await worker.aclose()
        await worker.db.get_engine().dispose()
    assert len(inbox.messages) == 1
    assert [r.status for r in await outbox(settings, tenant_id=tenant.id)] == ["sent"]


async def test_no_contact_and_no_device_means_no_notification(
    client: Client, tenant: TenantFixture, clerk_of, settings: Settings
) -> None:
    from tests.helpers import VALID_ANSWERS, post_form, submit_from_review

    review = await post_form(client, tenant, {**VALID_ANSWERS, "email": ""}, key="no-contact-key-012345678")
    await submit_from_review(client, tenant, review.text)
    await (await clerk_of(tenant)).set_status("in_review")
    assert await outbox(settings, tenant_id=tenant.id) == []
