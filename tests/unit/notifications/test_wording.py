"""Every notification speaks the case's language, push text and e-mail alike; bad addresses never reach a header."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from backend.cases import workflow
from backend.cases.events import CaseUpdated
from backend.core import i18n
from backend.notifications.delivery import compose_email
from backend.notifications.models import OutboxMessage
from backend.notifications.services import KINDS, kind_of, notification_text, payload_for
from backend.settings import Settings
from backend.tenants.models import Tenant

SETTINGS = Settings(env="development", port=8123).with_defaults()
TENANT = Tenant(id=uuid.uuid4(), slug="musterstadt", name="Musterstadt", texts={})
LINK = "http://musterstadt.localhost:8123/r/token"


@pytest.fixture(autouse=True)
def translations() -> Iterator[None]:
    i18n.configure(SETTINGS.locales_dir)
    yield
    i18n.set_language("de")


def events(kind: str, language: str) -> list[CaseUpdated]:
    """Every event of this kind of notification: for a plain status change, each status it can name."""
    spec = KINDS[kind]
    if spec.status:
        statuses = [spec.status]
    elif spec.event == "status_changed":
        statuses = [s for s in workflow.STATUSES if kind_of_status(s) == kind]
    else:
        statuses = ["in_review"]
    return [
        CaseUpdated(
            tenant_id=TENANT.id,
            tenant_name=TENANT.name,
            case_id=uuid.uuid4(),
            reference="2026-00042",
            tracking_token="token",
            language=language,
            contact_email="anna@example.org",
            kind=spec.event,
            status=status,
        )
        for status in statuses
    ]


def kind_of_status(status: str) -> str | None:
    return kind_of(
        CaseUpdated(uuid.uuid4(), "", uuid.uuid4(), "", "", "de", None, kind="status_changed", status=status)
    )


def mail(event: CaseUpdated) -> tuple[str, list[str]]:
    message = OutboxMessage(
        id=uuid.uuid4(), email=event.contact_email, language=event.language, payload=payload_for(event)
    )
    composed = compose_email(SETTINGS, TENANT, message, LINK)
    body = composed.get_content().strip()  # type: ignore[attr-defined]
    return str(composed["Subject"]), body.split("\n\n")


@pytest.mark.parametrize("kind", list(KINDS))
def test_every_kind_of_notification_is_german_for_a_german_case_and_english_for_an_english_one(kind: str) -> None:
    german, english = events(kind, "de"), events(kind, "en")
    assert german, f"{kind} covers no event"
    for de, en in zip(german, english, strict=True):
        assert kind_of(de) == kind
        push_de, push_en = notification_text(de), notification_text(en)
        assert push_de != push_en, f"{kind} has no German text"
        assert "Anliegen" in push_de and "request" in push_en
        subject_de, body_de = mail(de)
        subject_en, body_en = mail(en)
        assert push_de in subject_de and push_en in subject_en
        assert body_de[0] == "Hallo," and body_en[0] == "Hello,"
        # Every paragraph but the link and the signature (the municipality's name) is translated.
        translated = [(d, e) for d, e in zip(body_de, body_en, strict=True) if d not in (LINK, TENANT.name)]
        assert translated and all(d != e for d, e in translated), translated
        assert LINK in body_de and LINK in body_en


@pytest.mark.parametrize(
    "address", ['"><script>alert(1)</script>@x.example', "anna@example.org\r\nBcc: evil@x.example", "", "anna"]
)
def test_the_mail_builder_refuses_a_malformed_address(address: str) -> None:
    message = OutboxMessage(id=uuid.uuid4(), email=address, language="de", payload={"body": "x", "url": "/r/t"})
    with pytest.raises(ValueError):
        compose_email(SETTINGS, TENANT, message, LINK)
