"""An e-mail's subject reads exactly as written, whatever its length and umlauts, once a mail program decodes it."""

from __future__ import annotations

import email
import email.policy
import uuid

import pytest

from backend.notifications.delivery import compose_email
from backend.notifications.models import OutboxMessage
from backend.settings import Settings
from backend.tenants.models import Tenant


@pytest.mark.parametrize(
    "body",
    [
        "Ihr Anliegen 2026-00012 ist jetzt: Wird geprüft",
        "Ihr Anliegen 2026-00012 ist jetzt: Warten auf Ihre Angaben – die Gemeinde braucht Ihre Hilfe",
    ],
)
def test_subject_has_single_spaces_after_decoding(settings: Settings, body: str) -> None:
    tenant = Tenant(name="Stadt Musterstadt", slug="musterstadt", texts={})
    message = OutboxMessage(
        id=uuid.uuid4(), language="de", email="anna@example.org", payload={"body": body, "url": "/r/x"}
    )
    raw = compose_email(settings, tenant, message, "http://musterstadt.localhost/r/x").as_bytes()
    received = email.message_from_bytes(raw, policy=email.policy.default)
    assert received["Subject"] == f"Stadt Musterstadt: {body}"
    assert all(len(line) <= 998 for line in raw.split(b"\n"))
