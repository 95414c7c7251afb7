"""Fixtures for the staff pages: a test SMTP server (aiosmtpd) and a worker that delivers the outbox to it."""

from __future__ import annotations

import email
import email.policy
import re
import socket
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import replace
from email.message import Message
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from backend.core.db import alchemy_config
from backend.notifications.delivery import Deliverer, RetryPolicy
from backend.settings import Settings
from tests.conftest import csrf_token
from tests.helpers import Client, login


class Mailbox:
    def __init__(self) -> None:
        self.messages: list[Message] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        self.messages.append(email.message_from_bytes(envelope.content, policy=email.policy.default))
        return "250 OK"

    def to(self, address: str) -> list[Message]:
        return [m for m in self.messages if m["To"] == address]


@pytest.fixture
def mailbox() -> Iterator[tuple[Mailbox, int]]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    handler = Mailbox()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    yield handler, port
    controller.stop()


Deliver = Callable[[], Awaitable[Mailbox]]


@pytest.fixture
def deliver(settings: Settings, mailbox: tuple[Mailbox, int]) -> Deliver:
    """Run the outbox worker once against the test SMTP server; returns the mailbox."""
    box, port = mailbox

    async def run() -> Mailbox:
        mailing = replace(
            settings, smtp_host="127.0.0.1", smtp_port=port, smtp_security="none", smtp_from="rathaus@example.org"
        )
        worker = Deliverer(alchemy_config(mailing), mailing, policy=RetryPolicy(base_delay=0.01, max_delay=0.05))
        try:
            await worker.run_once()
        finally:
            await worker.aclose()
            await worker.db.get_engine().dispose()
        return box

    return run


LINK = re.compile(r"https?://[^/\s]+(/staff/(?:invite|password/reset)/[A-Za-z0-9_\-]+)")


def link_in(mail: Message) -> str:
    """The path of the one-time link in a staff e-mail."""
    found = LINK.search(mail.get_content())  # type: ignore[attr-defined]
    assert found, mail.get_content()  # type: ignore[attr-defined]
    return found.group(1)


async def logged_in(client: Client, address: str, password: str) -> Client:
    assert (await login(client, address, password)).status_code == 303
    return client


async def post_page(client: Client, page: str, action: str, data: dict[str, Any]) -> Any:
    """Open ``page``, then send its form to ``action`` with the page's CSRF token (lists give repeated fields)."""
    shown = await client.get(page)
    assert shown.status_code == 200, shown.text
    return await client.post(action, data={"_csrf_token": csrf_token(shown.text), **data}, follow_redirects=False)
