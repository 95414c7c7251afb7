"""Forwarding a case: the clerk sends a private link by e-mail (through the outbox); the recipient sees what
they need without an account - the citizen's contact only if shared - and answers into the case's timeline as
an internal entry; expired, revoked and unknown links, other cases' files and other municipalities get nothing."""

from __future__ import annotations

import datetime
import hashlib
import html
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import replace
from email.message import Message
from typing import Any
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select, update

from backend.cases.models import Case
from backend.core.db import alchemy_config, unscoped_session
from backend.inbox.forwarding import ANSWERS_PER_WINDOW
from backend.inbox.models import CaseForward
from backend.notifications.delivery import Deliverer, RetryPolicy
from backend.notifications.models import OutboxMessage
from backend.settings import Settings
from tests.conftest import Person, csrf_token
from tests.factories import TenantFixture, jpeg_bytes
from tests.helpers import VALID_ANSWERS, Client, login, post_form, submit_from_review
from tests.integration.accounts.conftest import Mailbox
from tests.integration.accounts.conftest import mailbox as mailbox  # the in-process SMTP server, as a fixture here
from tests.integration.inbox.test_live import events, instance
from tests.integration.inbox.test_live import person as browser
from tests.integration.inbox.test_live import streaming as streaming  # a live stream that stays open, as a fixture

EN = {"Accept-Language": "en"}
ANSWERS = {**VALID_ANSWERS, "where__lat": "52.520008", "where__lon": "13.404954"}
LINK = re.compile(r"https?://([^/\s]+)(/x/[A-Za-z0-9_-]+)")

Deliver = Callable[[], Awaitable[Mailbox]]


@pytest.fixture
async def deliver(settings: Settings, mailbox: tuple[Mailbox, int]) -> AsyncIterator[Deliver]:
    """Run the outbox worker against the test SMTP server until nothing is due (other tests' mails included)."""
    box, port = mailbox
    mailing = replace(
        settings, smtp_host="127.0.0.1", smtp_port=port, smtp_security="none", smtp_from="rathaus@example.org"
    )
    worker = Deliverer(alchemy_config(mailing), mailing, policy=RetryPolicy(base_delay=0.01, max_delay=0.05))

    async def run() -> Mailbox:
        for _ in range(50):
            if not await worker.run_once():
                break
        return box

    yield run
    await worker.aclose()
    await worker.db.get_engine().dispose()


async def submit(client: Client, tenant: TenantFixture, key: str, *, photo: bool = True) -> str:
    """A citizen's request with a position and (by default) a photo; returns the tracking path."""
    review = await post_form(client, tenant, ANSWERS, key=key, files=[("lamp.jpg", jpeg_bytes())] if photo else None)
    assert review.status_code == 200, review.text
    done = await submit_from_review(client, tenant, review.text)
    assert done.status_code == 303
    return urlsplit(done.headers["location"]).path


async def clerk_of(client: Client, tenant: TenantFixture) -> Client:
    assert (await login(client, tenant.clerk_email, tenant.password)).status_code == 303
    return client


async def case_path(clerk: Client, reference: str) -> str:
    """The clerk's page of the case with this reference."""
    page = (await clerk.get("/staff", params={"q": reference})).text
    found = re.search(r'href="(/staff/cases/[0-9a-f-]{36})"', page)
    assert found, page
    return found.group(1)


async def reference_of(citizen: Client, tracking: str) -> str:
    found = re.search(r'data-reference="([^"]+)"', (await citizen.get(tracking)).text)
    assert found
    return found.group(1)


def forward_fields(tenant: TenantFixture, **overrides: str) -> dict[str, str]:
    base = {
        "email": f"bauhof@{tenant.slug}.example",
        "name": "Bauhof Nord",
        "message": "Bitte prüfen Sie die Laterne und melden Sie, wann sie repariert wird.",
        "days": "14",
    }
    return {**base, **overrides}


async def forward(clerk: Client, case: str, data: dict[str, str]) -> Any:
    page = await clerk.get(case)
    return await clerk.post(
        f"{case}/forward", data={**data, "_csrf_token": csrf_token(page.text)}, follow_redirects=False
    )


async def queued_link(settings: Settings, tenant: TenantFixture, email: str) -> str:
    """The private link's path in the outbox row of the newest forward e-mail to ``email`` (before it is sent)."""
    db = alchemy_config(settings)
    try:
        async with unscoped_session(db) as session:
            rows = list(
                await session.scalars(
                    select(OutboxMessage)
                    .where(OutboxMessage.tenant_id == tenant.id, OutboxMessage.email == email)
                    .order_by(OutboxMessage.created_at.desc())
                )
            )
    finally:
        await db.get_engine().dispose()
    forwards = [r for r in rows if (r.payload or {}).get("kind") == "case_forward"]
    assert forwards
    return str(forwards[0].payload["url"])


async def forwards_of(settings: Settings, tenant: TenantFixture) -> list[CaseForward]:
    db = alchemy_config(settings)
    try:
        async with unscoped_session(db) as session:
            return list(await session.scalars(select(CaseForward).where(CaseForward.tenant_id == tenant.id)))
    finally:
        await db.get_engine().dispose()


async def forwarded_case(
    person: Person, settings: Settings, tenant: TenantFixture, *, key: str, **overrides: str
) -> tuple[str, str, str, str]:
    """A submitted case forwarded by the clerk: (tracking path, reference, clerk's case path, link path)."""
    async with person(tenant.host) as citizen:
        tracking = await submit(citizen, tenant, key)
        reference = await reference_of(citizen, tracking)
    async with person(tenant.host) as clerk:
        await clerk_of(clerk, tenant)
        case = await case_path(clerk, reference)
        data = forward_fields(tenant, **overrides)
        assert (await forward(clerk, case, data)).status_code == 303
    return tracking, reference, case, await queued_link(settings, tenant, data["email"])


async def last_activity(settings: Settings, tenant: TenantFixture) -> datetime.datetime:
    db = alchemy_config(settings)
    try:
        async with unscoped_session(db) as session:
            return await session.scalar(select(Case.last_activity_at).where(Case.tenant_id == tenant.id))  # type: ignore[no-any-return]
    finally:
        await db.get_engine().dispose()


def body_of(mail: Message) -> str:
    return mail.get_content()  # type: ignore[attr-defined, no-any-return]


async def test_forwarding_mails_a_private_link_in_the_municipalitys_language_and_notes_it_in_the_timeline(
    person: Person, settings: Settings, tenant: TenantFixture, deliver: Deliver
) -> None:
    async with person(tenant.host) as citizen:
        tracking = await submit(citizen, tenant, "forward-mail-key-0123456789")
        reference = await reference_of(citizen, tracking)
    async with person(tenant.host) as clerk:
        await clerk_of(clerk, tenant)
        case = await case_path(clerk, reference)
        done = await forward(clerk, case, forward_fields(tenant))
        assert done.status_code == 303 and done.headers["location"].endswith("?done=forwarded#forward-title")
        # The clerk works in English; the e-mail is in the municipality's main language (German).
        page = await clerk.get(done.headers["location"], headers=EN)
        assert "The request has been forwarded." in page.text
        timeline = page.text[page.text.index('id="timeline-title"') :]
        entry = re.search(r'<li class="internal">(.*?)</li>', timeline, re.S)
        assert entry and "Forwarded to an external party" in entry.group(1) and "Clara Clerk" in entry.group(1)
        assert "Bauhof Nord &lt;bauhof@" in entry.group(1) and "Bitte prüfen Sie die Laterne" in entry.group(1)
        listing = page.text[page.text.index('id="forwards-title"') :]
        assert "Bauhof Nord &lt;bauhof@" in listing and "forward-open" in listing and "/revoke" in listing

    box = await deliver()
    [mail] = box.to(f"bauhof@{tenant.slug}.example")
    assert tenant.name in mail["From"] and "rathaus@example.org" in mail["From"]
    assert reference in mail["Subject"] and "bittet um Ihre Mithilfe" in mail["Subject"]
    body = body_of(mail)
    assert "Bitte prüfen Sie die Laterne" in body and "Straßenlaterne defekt" in body
    found = LINK.search(body)
    assert found and found.group(1) == f"{tenant.slug}.localhost:8000", body
    token = found.group(2).rsplit("/", 1)[1]
    assert "List-Unsubscribe" not in mail

    # Only a hash of the token is kept, and the outbox forgets the link once the e-mail is out.
    [stored] = await forwards_of(settings, tenant)
    assert stored.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert await queued_link(settings, tenant, f"bauhof@{tenant.slug}.example") == ""
    async with person(tenant.host) as outsider:
        assert (await outsider.get(found.group(2))).status_code == 200


async def test_the_external_page_shows_the_case_but_not_the_contact_unless_shared(
    person: Person, settings: Settings, tenant: TenantFixture
) -> None:
    _, reference, _, link = await forwarded_case(person, settings, tenant, key="forward-page-key-0123456789")
    async with person(tenant.host) as outsider:
        page = await outsider.get(link, headers=EN)
        assert page.status_code == 200
        for header, value in (
            ("cache-control", "no-store"),
            ("x-robots-tag", "noindex, nofollow"),
            ("referrer-policy", "no-referrer"),
        ):
            assert page.headers[header] == value, header
        assert '<meta name="robots" content="noindex, nofollow">' in page.text
        assert tenant.name in page.text and reference in page.text and "Broken street light" in page.text
        assert "Bitte prüfen Sie die Laterne" in page.text
        assert "Hauptstraße 12" in page.text and "vor der Bäckerei" in page.text
        assert "https://www.openstreetmap.org/?mlat=52.520008&amp;mlon=13.404954" in page.text
        assert "Die Laterne leuchtet seit Tagen nicht." in page.text
        assert "anna@example.org" not in page.text and "Contact of the citizen" not in page.text
        assert 'name="_csrf_token"' in page.text and f'action="{link}/answer"' in page.text
        assert "rathaus_session" not in page.headers.get("set-cookie", ""), "no session for outsiders"
        photo = re.search(r'src="(' + re.escape(link) + r'/files/[0-9a-f-]{36})"', page.text)
        assert photo, page.text
        image = await outsider.get(photo.group(1))
        assert image.status_code == 200 and image.headers["content-type"] == "image/jpeg"
        assert image.headers["cache-control"] == "no-store"

    _, _, _, shared = await forwarded_case(
        person, settings, tenant, key="forward-share-key-0123456789", include_contact="on", email="firma@example.org"
    )
    async with person(tenant.host) as outsider:
        page = await outsider.get(shared, headers=EN)
        assert "anna@example.org" in page.text and "Contact of the citizen" in page.text


async def test_an_answer_lands_in_the_timeline_as_an_internal_entry_and_marks_the_forward_answered(
    person: Person, settings: Settings, tenant: TenantFixture
) -> None:
    tracking, _, case, link = await forwarded_case(person, settings, tenant, key="forward-answer-key-012345678")
    before = await last_activity(settings, tenant)
    async with person(tenant.host) as outsider:
        page = await outsider.get(link, headers=EN)
        token = csrf_token(page.text)
        empty = await outsider.post(f"{link}/answer", data={"_csrf_token": token, "message": "  "}, headers=EN)
        assert empty.status_code == 422 and "Please write your answer." in empty.text
        assert 'href="#answer-message"' in empty.text and 'aria-invalid="true"' in empty.text
        forged = await outsider.post(f"{link}/answer", data={"message": "ohne Token"}, follow_redirects=False)
        assert forged.status_code == 403
        sent = await outsider.post(
            f"{link}/answer",
            data={"_csrf_token": token, "message": "Reparatur ist für Donnerstag eingeplant."},
            follow_redirects=False,
        )
        assert sent.status_code == 303 and sent.headers["location"] == f"{link}?answered=1#answer-title"
        thanks = await outsider.get(sent.headers["location"], headers=EN)
        assert "your answer has been passed on" in thanks.text
        again = await outsider.post(
            f"{link}/answer", data={"_csrf_token": token, "message": "Erledigt."}, follow_redirects=False
        )
        assert again.status_code == 303, "further answers are allowed until the link expires"
    async with person(tenant.host) as clerk:
        await clerk_of(clerk, tenant)
        page = (await clerk.get(case, headers=EN)).text
        timeline = page[page.index('id="timeline-title"') :]
        entries = re.findall(r'<li class="internal">(.*?)</li>', timeline, re.S)
        answers = [e for e in entries if "Answer from Bauhof Nord" in e]
        assert len(answers) == 2
        assert "Erledigt." in answers[0] and "Reparatur ist für Donnerstag eingeplant." in answers[1]
        assert "forward-answered" in page
    assert await last_activity(settings, tenant) > before, "the case was touched: the inbox shows it as changed"
    [stored] = await forwards_of(settings, tenant)
    assert stored.answered_at is not None
    async with person(tenant.host) as citizen:
        assert "Donnerstag" not in (await citizen.get(tracking)).text, "the citizen never sees the answer"


async def test_answers_through_one_link_are_limited(person: Person, settings: Settings, tenant: TenantFixture) -> None:
    _, _, _, link = await forwarded_case(person, settings, tenant, key="forward-limit-key-0123456789")
    async with person(tenant.host) as outsider:
        token = csrf_token((await outsider.get(link)).text)
        codes = [
            (
                await outsider.post(
                    f"{link}/answer", data={"_csrf_token": token, "message": f"Antwort {i}"}, follow_redirects=False
                )
            ).status_code
            for i in range(ANSWERS_PER_WINDOW + 1)
        ]
        assert codes == [303] * ANSWERS_PER_WINDOW + [429]


async def test_revoked_expired_and_unknown_links_show_a_neutral_page(
    person: Person, settings: Settings, tenant: TenantFixture
) -> None:
    _, reference, case, link = await forwarded_case(person, settings, tenant, key="forward-gone-key-01234567890")
    _, _, _, expiring = await forwarded_case(
        person, settings, tenant, key="forward-expire-key-0123456789", email="firma@example.org"
    )
    async with person(tenant.host) as outsider:
        photo = re.search(r'src="(' + re.escape(link) + r'/files/[^"]+)"', (await outsider.get(link)).text)
        assert photo
    async with person(tenant.host) as clerk:
        await clerk_of(clerk, tenant)
        page = (await clerk.get(case)).text
        revoke = re.search(r'action="(' + re.escape(case) + r'/forwards/[0-9a-f-]{36}/revoke)"', page)
        assert revoke
        done = await clerk.post(revoke.group(1), data={"_csrf_token": csrf_token(page)}, follow_redirects=False)
        assert done.status_code == 303
        page = (await clerk.get(done.headers["location"], headers=EN)).text
        assert "The link has been revoked." in page and "forward-revoked" in page
        assert "Forward link revoked" in page and f'action="{revoke.group(1)}"' not in page
    db = alchemy_config(settings)
    try:
        async with unscoped_session(db) as session:
            await session.execute(
                update(CaseForward)
                .where(CaseForward.recipient_email == "firma@example.org", CaseForward.tenant_id == tenant.id)
                .values(expires_at=datetime.datetime.now(datetime.UTC) - datetime.timedelta(minutes=1))
            )
    finally:
        await db.get_engine().dispose()
    async with person(tenant.host) as outsider:
        token = csrf_token((await outsider.get("/find")).text)
        unknown = "/x/" + "A" * 43
        pages = {}
        for path, code in ((link, 410), (expiring, 410), (unknown, 404)):
            answer = await outsider.get(path, headers=EN)
            assert answer.status_code == code, path
            assert answer.headers["cache-control"] == "no-store" and "noindex" in answer.headers["x-robots-tag"]
            assert reference not in answer.text and "Bauhof" not in answer.text
            pages[path] = answer.text.replace(path, "")  # the language links name the page itself
            posted = await outsider.post(
                f"{path}/answer", data={"_csrf_token": token, "message": "zu spät"}, follow_redirects=False
            )
            assert posted.status_code == code, path
        assert len(set(pages.values())) == 1, "the three pages say the same"
        assert (await outsider.get(photo.group(1))).status_code == 404
    async with person(tenant.host) as clerk:
        await clerk_of(clerk, tenant)
        assert "zu spät" not in (await clerk.get(case)).text


async def test_files_of_another_case_are_refused(person: Person, settings: Settings, tenant: TenantFixture) -> None:
    _, _, _, link = await forwarded_case(person, settings, tenant, key="forward-files-key-0123456789")
    async with person(tenant.host) as citizen:
        other = await submit(citizen, tenant, "forward-other-key-0123456789")
        other_photo = re.search(r'src="/r/[^/]+/files/([0-9a-f-]{36})"', (await citizen.get(other)).text)
        assert other_photo
    async with person(tenant.host) as outsider:
        assert (await outsider.get(f"{link}/files/{other_photo.group(1)}")).status_code == 404


async def test_a_link_of_one_municipality_is_404_on_another_host(
    person: Person, settings: Settings, tenant: TenantFixture, other_tenant: TenantFixture
) -> None:
    _, reference, _, link = await forwarded_case(person, settings, tenant, key="forward-iso-key-012345678901")
    async with person(tenant.host) as outsider:
        photo = re.search(r'src="(' + re.escape(link) + r'/files/[^"]+)"', (await outsider.get(link)).text)
        assert photo
    async with person(other_tenant.host) as stranger:
        token = csrf_token((await stranger.get("/find")).text)
        page = await stranger.get(link)
        assert page.status_code == 404 and reference not in page.text
        posted = await stranger.post(
            f"{link}/answer", data={"_csrf_token": token, "message": "x"}, follow_redirects=False
        )
        assert posted.status_code == 404
        assert (await stranger.get(photo.group(1))).status_code == 404


async def test_a_clerk_of_another_municipality_can_neither_forward_nor_revoke(
    person: Person, settings: Settings, tenant: TenantFixture, other_tenant: TenantFixture
) -> None:
    _, _, case, link = await forwarded_case(person, settings, tenant, key="forward-iso2-key-01234567890")
    async with person(tenant.host) as clerk:
        await clerk_of(clerk, tenant)
        revoke = re.search(
            r'action="(' + re.escape(case) + r'/forwards/[0-9a-f-]{36}/revoke)"', (await clerk.get(case)).text
        )
        assert revoke
    async with person(other_tenant.host) as stranger:
        await clerk_of(stranger, other_tenant)
        token = csrf_token((await stranger.get("/staff")).text)
        forwarded = await stranger.post(
            f"{case}/forward", data={**forward_fields(other_tenant), "_csrf_token": token}, follow_redirects=False
        )
        assert forwarded.status_code == 404
        revoked = await stranger.post(revoke.group(1), data={"_csrf_token": token}, follow_redirects=False)
        assert revoked.status_code == 404
    assert len(await forwards_of(settings, tenant)) == 1
    assert len(await forwards_of(settings, other_tenant)) == 0
    async with person(tenant.host) as outsider:
        assert (await outsider.get(link)).status_code == 200


async def test_a_forward_form_with_mistakes_is_shown_again_with_the_values_and_sends_nothing(
    person: Person, settings: Settings, tenant: TenantFixture
) -> None:
    async with person(tenant.host) as citizen:
        reference = await reference_of(citizen, await submit(citizen, tenant, "forward-form-key-01234567890"))
    async with person(tenant.host) as clerk:
        await clerk_of(clerk, tenant)
        case = await case_path(clerk, reference)
        page = (await clerk.get(case, headers=EN)).text
        assert 'id="forward-days"' in page and 'value="14"' in page
        assert 'id="forward-include_contact" name="include_contact" value="on" aria' in page, "off by default"
        refused = await clerk.post(
            f"{case}/forward",
            data={"_csrf_token": csrf_token(page), "email": "kein-mail", "name": "Bauhof", "message": "", "days": "61"},
            headers=EN,
        )
        assert refused.status_code == 422
        for field in ("email", "message", "days"):
            assert f'href="#forward-{field}"' in refused.text and f'id="forward-{field}-error"' in refused.text
        assert 'value="kein-mail"' in refused.text and 'value="Bauhof"' in refused.text and 'value="61"' in refused.text
        assert "at most 60 days" in html.unescape(refused.text) or "from 1 to 60" in refused.text
    assert await forwards_of(settings, tenant) == []


async def test_an_answer_reaches_the_clerks_live_stream(streaming: Settings, tenant: TenantFixture) -> None:
    with instance(streaming) as server:
        async with browser(server, tenant) as phone:
            reference = await reference_of(
                phone, await submit(phone, tenant, "forward-live-key-0123456789", photo=False)
            )
        async with browser(server, tenant) as clerk:
            await clerk_of(clerk, tenant)
            case = await case_path(clerk, reference)
            assert (await forward(clerk, case, forward_fields(tenant))).status_code == 303
        link = await queued_link(streaming, tenant, f"bauhof@{tenant.slug}.example")
        async with events(server, tenant) as stream:
            async with browser(server, tenant) as outsider:
                token = csrf_token((await outsider.get(link)).text)
                answer = await outsider.post(f"{link}/answer", data={"_csrf_token": token, "message": "Erledigt."})
                assert answer.status_code == 200 and "answered=1" in str(answer.url)
            heard = await stream.next_event()
            assert (heard["case"], heard["change"]) == (case.rsplit("/", 1)[1], "external_answer")
