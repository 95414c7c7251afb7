"""The conversation on a case: the citizen answers or adds information, clerks write back, both with files."""

from __future__ import annotations

import re
from typing import Any

import pytest
from sqlalchemy import select

from backend.cases.models import Case
from backend.core.db import alchemy_config, unscoped_session
from backend.notifications.models import OutboxMessage
from backend.settings import Settings
from tests.conftest import Person, csrf_token
from tests.factories import TenantFixture, jpeg_bytes
from tests.helpers import Client, login, staff_post, submit_case
from tests.integration.cases.test_feedback import clerk_closes, english
from tests.unit.cases.test_pdfcheck import pdf

FILE_LINK = re.compile(r'href="(/r/[A-Za-z0-9_-]+/files/[0-9a-f-]{36})"')


@pytest.fixture(autouse=True)
def _citizen_reads_english(client: Client) -> None:
    english(client)


async def reply(
    client: Client, tracking: str, message: str = "", files: list[tuple[str, bytes, str]] | None = None
) -> Any:
    page = await client.get(tracking)
    upload = [("files", (name, content, kind)) for name, content, kind in (files or [])]
    return await client.post(
        tracking + "/reply",
        data={"_csrf_token": csrf_token(page.text), "message": message},
        files=upload or None,
        follow_redirects=False,
    )


class Clerk:
    def __init__(self, client: Client, case_url: str) -> None:
        self.client = client
        self.case_url = case_url

    async def status(self, to_status: str, message: str = "") -> Any:
        return await staff_post(
            self.client, self.case_url, self.case_url + "/status", {"to_status": to_status, "message": message}
        )

    async def message(self, body: str, files: list[tuple[str, bytes, str]], visibility: str = "public") -> Any:
        page = await self.client.get(self.case_url)
        return await self.client.post(
            self.case_url + "/messages",
            data={"_csrf_token": csrf_token(page.text), "visibility": visibility, "body": body},
            files=[("files", (name, content, kind)) for name, content, kind in files],
            follow_redirects=False,
        )


@pytest.fixture
async def clerk(person: Person, tenant: TenantFixture) -> Any:
    async with person(tenant.host) as client:
        english(client)
        await login(client, tenant.clerk_email, tenant.password)

        async def open_newest() -> Clerk:
            inbox = await client.get("/staff")
            case_url = re.search(r'href="(/staff/cases/[0-9a-f-]{36})"', inbox.text).group(1)  # type: ignore[union-attr]
            return Clerk(client, case_url)

        yield open_newest


async def case_row(settings: Settings, tracking: str) -> Case:
    db = alchemy_config(settings)
    try:
        async with unscoped_session(db) as session:
            token = tracking.rsplit("/", 1)[1]
            return (await session.scalars(select(Case).where(Case.tracking_token == token))).one()
    finally:
        await db.get_engine().dispose()


async def test_a_closed_case_refuses_replies(client: Client, tenant: TenantFixture, person: Person) -> None:
    tracking = await submit_case(client, tenant, photo=False)
    await clerk_closes(person, tenant)
    page = await client.get(tracking)
    assert 'action="' + tracking + '/reply"' not in page.text, "a closed case offers no answer form"
    refused = await reply(client, tracking, "One more thing")
    assert refused.status_code == 409
    assert "This request is closed, so it takes no more answers." in refused.text


async def test_an_empty_reply_is_refused_with_a_clear_error(client: Client, tenant: TenantFixture) -> None:
    tracking = await submit_case(client, tenant, photo=False)
    refused = await reply(client, tracking, "   ")
    assert refused.status_code == 422
    assert "Please write a message or add a photo or file." in refused.text
    assert 'aria-invalid="true"' in refused.text
    assert "Your message</p>" not in refused.text, "nothing was added to the history"


async def test_a_file_that_is_no_photo_is_refused_and_the_typed_text_kept(
    client: Client, tenant: TenantFixture
) -> None:
    tracking = await submit_case(client, tenant, photo=False)
    refused = await reply(client, tracking, "Here is the photo", [("lamp.jpg", b"not an image at all", "image/jpeg")])
    assert refused.status_code == 422
    assert "is not a photo we can read" in refused.text
    assert ">Here is the photo</textarea>" in refused.text


async def test_a_pdf_with_scripts_is_refused_as_on_the_form(client: Client, tenant: TenantFixture) -> None:
    from pypdf.generic import DictionaryObject, NameObject, TextStringObject

    def script(writer: Any) -> None:
        writer._root_object[NameObject("/OpenAction")] = DictionaryObject(
            {NameObject("/S"): NameObject("/JavaScript"), NameObject("/JS"): TextStringObject("app.alert(1)")}
        )

    tracking = await submit_case(client, tenant, photo=False)
    refused = await reply(client, tracking, "The form", [("form.pdf", pdf(script), "application/pdf")])
    assert refused.status_code == 422
    assert "contains scripts" in refused.text


async def test_an_answer_to_a_question_goes_back_to_the_clerk_marked_citizen_replied(
    client: Client, tenant: TenantFixture, clerk: Any, settings: Settings
) -> None:
    tracking = await submit_case(client, tenant, photo=False)
    desk = await clerk()
    await desk.status("in_review")
    await desk.status("needs_info", "Please send a photo of the lamp post number.")

    page = await client.get(tracking)
    question = page.text.index("Please send a photo of the lamp post number.")
    assert question < page.text.index('id="reply"') < page.text.index("Withdraw this request"), (
        "the question and the answer form lead; withdrawing comes after"
    )

    sent = await reply(client, tracking, "Number 17, photo attached.", [("post.jpg", jpeg_bytes(), "image/jpeg")])
    assert sent.status_code == 303, sent.text
    case = await case_row(settings, tracking)
    assert case.status == "in_review" and case.citizen_replied_at is not None

    page = await client.get(sent.headers["location"])
    assert "your message has been sent" in page.text
    assert "Number 17, photo attached." in page.text
    [photo] = FILE_LINK.findall(page.text)
    shown = await client.get(photo)
    assert shown.status_code == 200 and shown.headers["content-type"] == "image/jpeg"

    marked = await desk.client.get("/staff?citizen_replied=1")
    assert desk.case_url in marked.text and "Citizen replied" in marked.text
    staff_page = await desk.client.get(desk.case_url)
    assert "Message from the citizen" in staff_page.text and "Number 17, photo attached." in staff_page.text
    assert re.search(re.escape(desk.case_url) + r"/files/[0-9a-f-]{36}", staff_page.text), "the clerk sees the photo"

    assert (await case_row(settings, tracking)).citizen_replied_at is None, "opening the case clears the mark"
    after = await desk.client.get("/staff?citizen_replied=1")
    assert desk.case_url not in after.text


async def test_a_reply_to_an_open_case_keeps_its_status_and_marks_it(
    client: Client, tenant: TenantFixture, settings: Settings
) -> None:
    tracking = await submit_case(client, tenant, photo=False)
    sent = await reply(client, tracking, "I forgot: the lamp flickers at night.")
    assert sent.status_code == 303
    case = await case_row(settings, tracking)
    assert case.status == "submitted" and case.citizen_replied_at is not None


async def test_replies_are_rate_limited_per_client(client: Client, tenant: TenantFixture) -> None:
    from backend.cases.conversation import REPLIES_PER_WINDOW

    tracking = await submit_case(client, tenant, photo=False)
    for n in range(REPLIES_PER_WINDOW):
        assert (await reply(client, tracking, f"Note {n}")).status_code == 303
    slowed = await reply(client, tracking, "One too many")
    assert slowed.status_code == 429
    assert ">One too many</textarea>" in slowed.text


async def test_clerk_attachments_are_shown_to_the_citizen(client: Client, tenant: TenantFixture, clerk: Any) -> None:
    tracking = await submit_case(client, tenant, photo=False)
    desk = await clerk()
    sent = await desk.message(
        "Here is the permit and a photo.",
        [("permit.pdf", pdf(), "application/pdf"), ("site.jpg", jpeg_bytes(), "image/jpeg")],
    )
    assert sent.status_code == 303, sent.text
    page = await client.get(tracking)
    links = FILE_LINK.findall(page.text)
    assert len(set(links)) == 2
    kinds = {(await client.get(link)).headers["content-type"] for link in set(links)}
    assert kinds == {"application/pdf", "image/jpeg"}


async def test_files_are_not_taken_with_an_internal_note(
    client: Client, tenant: TenantFixture, clerk: Any, settings: Settings
) -> None:
    tracking = await submit_case(client, tenant, photo=False)
    desk = await clerk()
    stored = {p for p in settings.uploads_dir.rglob("*") if p.is_file()}
    refused = await desk.message("Internal photo", [("site.jpg", jpeg_bytes(), "image/jpeg")], visibility="internal")
    assert refused.status_code == 422
    assert "Files can only be sent with a message to the citizen." in refused.text
    assert {p for p in settings.uploads_dir.rglob("*") if p.is_file()} == stored, (
        "a refused message leaves no file behind"
    )
    assert not FILE_LINK.findall((await client.get(tracking)).text)


async def test_the_tracking_page_switches_emails_off_and_on(
    client: Client, tenant: TenantFixture, clerk: Any, settings: Settings
) -> None:
    tracking = await submit_case(client, tenant, photo=False)
    case = await case_row(settings, tracking)

    async def toggle(value: str) -> Any:
        page = await client.get(tracking)
        assert 'action="' + tracking + '/emails"' in page.text
        return await client.post(
            tracking + "/emails", data={"_csrf_token": csrf_token(page.text), "emails": value}, follow_redirects=False
        )

    async def mails() -> int:
        db = alchemy_config(settings)
        try:
            async with unscoped_session(db) as session:
                rows = await session.scalars(
                    select(OutboxMessage).where(OutboxMessage.case_id == case.id, OutboxMessage.channel == "email")
                )
                return len([r for r in rows if r.payload.get("kind") != "receipt"])
        finally:
            await db.get_engine().dispose()

    assert (await toggle("off")).status_code == 303
    page = await client.get(tracking)
    assert "E-mails are switched off" in page.text
    desk = await clerk()
    await desk.status("in_review")
    assert await mails() == 0, "no e-mail once switched off"

    assert (await toggle("on")).status_code == 303
    await desk.status("in_progress")
    assert await mails() == 1
