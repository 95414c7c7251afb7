"""The conversation, in the browser: a receipt after sending, the clerk asks for a photo, the citizen answers on
the tracking page with one (scaled down on the phone, sent with progress), the clerk sees "citizen replied"
and the photo, and completes; the citizen says it was not solved, and the case is reopened. Every page visited
is checked with axe-core.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

from backend.settings import Settings
from tests.e2e.conftest import DESKTOP, PHONE, LiveServer, check_a11y
from tests.e2e.test_citizen_followup import (
    NOT_SOLVED,
    REOPENED,
    STAFF_REOPENED,
    deliver_mail,
    set_status,
    staff_login,
)
from tests.e2e.test_journey import expect_photo_loaded
from tests.factories import TenantFixture

pytestmark = pytest.mark.browser

CONTACT = "berta.conversation@example.org"
QUESTION = "Bitte senden Sie ein Foto der Nummer am Laternenmast."
ANSWER = "Hier ist das Foto, die Nummer ist 17."
RECEIPT = re.compile(r"Wir haben Ihr Anliegen|We have received your request")
NEEDS_INFO = re.compile(r"braucht Angaben|needs information")
REPLIED = re.compile(r"Antwort eingegangen|Citizen replied")


def mails_to_me(settings: Settings, tenant: TenantFixture) -> list[Any]:
    """One worker round; the database is shared with other tests, so only this municipality's mails to us."""
    return [m for m in deliver_mail(settings) if m["To"] == CONTACT and tenant.name in m["From"]]


def test_citizen_answers_a_question_with_a_photo_and_the_clerk_sees_it(
    live_server: LiveServer, e2e_tenant: TenantFixture, open_context: Any, settings: Settings, photo: Path
) -> None:
    _, page = open_context("citizen", **PHONE)
    page.goto(live_server.url(e2e_tenant, "/s/street-light/form"))
    page.locator("#where__address").fill("Hauptstraße 12")
    page.locator("#what").fill("Die Laterne leuchtet nicht.")
    page.locator("#email").fill(CONTACT)
    page.locator("#photos").set_input_files(photo)
    check_a11y(page, "filled form")
    page.locator("button[name=action][value=review]").click()
    page.locator("form[action='/s/street-light/submit'] button.button-primary").click()
    expect(page).to_have_url(re.compile(r"/r/[^/?]+\?new=1$"))
    reference = (page.locator(".confirmation .reference").text_content() or "").strip()
    tracking = urlsplit(page.url).path
    check_a11y(page, "tracking page (new)")

    # The receipt: reference and private link, in German (the case's language).
    [receipt] = mails_to_me(settings, e2e_tenant)
    assert RECEIPT.search(receipt["Subject"]) and reference in receipt["Subject"]
    assert tracking in receipt.get_content() and receipt["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"

    # The clerk asks for a photo.
    _, desk = open_context("clerk", **DESKTOP)
    staff_login(desk, live_server, e2e_tenant)
    desk.locator("table.inbox a", has_text=reference).click()
    case_url = desk.url
    check_a11y(desk, "case page")
    set_status(desk, "in_review")
    form = desk.locator("form[action$='/status']")
    form.locator("select[name=to_status]").select_option("needs_info")
    form.locator("textarea[name=message]").fill(QUESTION)
    form.locator("button[type=submit]").click()
    expect(desk.locator(".notice")).to_be_visible()
    check_a11y(desk, "case page after asking")

    # The citizen gets the e-mail, with the way to answer.
    [asked] = [m for m in mails_to_me(settings, e2e_tenant) if NEEDS_INFO.search(m["Subject"])]
    answer_link = re.search(r"https?://\S+/r/[A-Za-z0-9_-]+#reply", asked.get_content())
    assert answer_link, asked.get_content()
    page.goto(live_server.url(e2e_tenant, urlsplit(answer_link.group(0)).path + "#reply"))
    question = page.locator("section.question")
    expect(question).to_contain_text(QUESTION)
    reply = page.locator("#reply")
    expect(reply).to_be_visible()
    assert question.bounding_box()["y"] < reply.bounding_box()["y"]  # type: ignore[index]
    check_a11y(page, "tracking page with the question")

    # The answer with a photo: scaled down on the phone and sent with progress, then the page shows it.
    page.locator("#message").fill(ANSWER)
    page.locator("#reply-files").set_input_files(photo)
    expect(page.locator("#reply-files-previews img")).to_have_count(1)
    check_a11y(page, "answer filled in")
    page.evaluate(
        """() => {
          window.__sizes = [];
          const send = XMLHttpRequest.prototype.send;
          XMLHttpRequest.prototype.send = function (body) {
            if (body instanceof FormData) {
              for (const [, value] of body.entries()) if (value instanceof File) window.__sizes.push(value.size);
            }
            return send.call(this, body);
          };
        }"""
    )
    page.locator("#reply button[type=submit]").click()
    expect(page.locator(".notice[role=status]").first).to_be_visible()
    sizes = page.evaluate("() => window.__sizes")
    assert len(sizes) == 1 and 0 < sizes[0] < photo.stat().st_size / 2, sizes
    expect(page.locator(".timeline")).to_contain_text(ANSWER)
    expect_photo_loaded(page, ".timeline .message-files")
    expect(page.locator("section.question")).to_have_count(0)  # back with the clerk
    check_a11y(page, "tracking page after answering")

    # The clerk sees "citizen replied" in the inbox and the photo on the case page, and completes.
    desk.goto(live_server.url(e2e_tenant, "/staff?citizen_replied=1"))
    row = desk.locator("table.inbox tr", has_text=reference)
    expect(row.locator(".badge-replied")).to_have_text(REPLIED)
    check_a11y(desk, "inbox filtered to replies")
    row.locator("a").click()
    expect(desk).to_have_url(case_url)
    expect(desk.locator(".timeline")).to_contain_text(ANSWER)
    expect_photo_loaded(desk, ".timeline .message-files")
    check_a11y(desk, "case page with the reply")
    for status in ("in_progress", "completed"):
        set_status(desk, status)
    check_a11y(desk, "case page completed")
    desk.goto(live_server.url(e2e_tenant, "/staff?citizen_replied=1"))
    expect(desk.locator("table.inbox tr", has_text=reference)).to_have_count(0)

    page.reload()
    expect(page.locator("#reply")).to_have_count(0)  # a closed case takes no more answers
    check_a11y(page, "tracking page completed")

    # Not solved after all: the citizen says so, and the case goes back to the clerk, reopened.
    feedback = page.locator("#feedback")
    expect(feedback).to_be_visible()
    feedback.locator("#resolved-no").check()
    feedback.locator("#feedback-comment").fill(NOT_SOLVED)
    feedback.locator("button[type=submit]").click()
    expect(page.locator(".status-label")).to_have_text(REOPENED)
    check_a11y(page, "tracking page reopened")
    desk.goto(case_url)
    expect(desk.locator(".facts .badge")).to_have_text(STAFF_REOPENED)
    expect(desk.locator("body")).to_contain_text(NOT_SOLVED)
