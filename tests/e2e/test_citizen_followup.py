"""After sending: the phone lists its requests with their status, a lost link comes by e-mail, and a "no" to
"Was your request resolved?" reopens the case for the clerk. Every page visited is checked with axe-core.

Texts the app translates are matched in German and English, as in test_journey.py.
"""

from __future__ import annotations

import email
import email.policy
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Page, expect

from backend.core.db import alchemy_config
from backend.notifications.delivery import Deliverer
from backend.settings import Settings
from tests.e2e.conftest import DESKTOP, PHONE, LiveServer, check_a11y, run_async
from tests.factories import TenantFixture

pytestmark = pytest.mark.browser

CONTACT = "anna.follow@example.org"
RECEIVED = re.compile(r"Eingegangen|Received")
COMPLETED = re.compile(r"Erledigt|Completed|Abgeschlossen")
REOPENED = re.compile(r"Wieder aufgenommen|Reopened")
STAFF_REOPENED = re.compile(r"wieder geöffnet|Reopened by citizen")
NOT_SOLVED = "Die Laterne ist immer noch dunkel."
RECEIPT = re.compile(r"Wir haben Ihr Anliegen|We have received your request")


def submit_request(page: Page, server: LiveServer, tenant: TenantFixture) -> tuple[str, str]:
    """Fill in and send the street-light form; returns (reference, tracking path)."""
    page.goto(server.url(tenant, "/s/street-light/form"))
    page.locator("#where__address").fill("Hauptstraße 12")
    page.locator("#what").fill("Die Laterne leuchtet nicht.")
    page.locator("#email").fill(CONTACT)
    page.locator("button[name=action][value=review]").click()
    page.locator("form[action='/s/street-light/submit'] button.button-primary").click()
    expect(page).to_have_url(re.compile(r"/r/[^/?]+\?new=1$"))
    reference = (page.locator(".confirmation .reference").text_content() or "").strip()
    path = page.locator(".confirmation .tracking-link a").get_attribute("href") or ""
    assert reference and path.startswith("/r/"), (reference, path)
    return reference, path


def deliver_mail(settings: Settings) -> list[email.message.EmailMessage]:
    """Run one round of the outbox worker (no SMTP configured: mails land in the data dir) and read them."""
    before = set(settings.mail_dir.glob("*.eml")) if settings.mail_dir.exists() else set()

    async def once() -> None:
        db = alchemy_config(settings)
        worker = Deliverer(db, settings)
        try:
            await worker.run_once()
        finally:
            await worker.aclose()
            await db.get_engine().dispose()

    run_async(once())
    new = sorted(set(settings.mail_dir.glob("*.eml")) - before)
    return [email.message_from_bytes(Path(p).read_bytes(), policy=email.policy.default) for p in new]  # type: ignore[misc]


def wait_for_mail(settings: Settings, wanted: Callable[[Any], bool], rounds: int = 40) -> Any:
    """Deliver the outbox until exactly one mail that is ``wanted`` has gone out, and return it.

    Some mails are queued by a task that runs after the page has answered, so one round may come too early."""
    found: list[Any] = []
    for _ in range(rounds):
        found += [m for m in deliver_mail(settings) if wanted(m)]
        if found:
            break
        time.sleep(0.25)
    assert len(found) == 1, f"{len(found)} mails matched"
    return found[0]


def staff_login(page: Page, server: LiveServer, tenant: TenantFixture) -> None:
    page.goto(server.url(tenant, "/staff/login"))
    page.locator("#email").fill(tenant.clerk_email)
    page.locator("#password").fill(tenant.password)
    page.locator("form[action='/staff/login'] button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/staff/?$"))


def set_status(page: Page, status: str) -> None:
    form = page.locator("form[action$='/status']")
    form.locator("select[name=to_status]").select_option(status)
    form.locator("button[type=submit]").click()
    expect(page.locator(".notice")).to_be_visible()


def test_citizen_finds_requests_again_and_reopens_an_unsolved_one(
    live_server: LiveServer, e2e_tenant: TenantFixture, open_context: Any, settings: Settings
) -> None:
    phone, page = open_context("citizen", **PHONE)
    reference, tracking = submit_request(page, live_server, e2e_tenant)
    check_a11y(page, "tracking page (new)")

    # The home page lists the request with its current status, fetched in one call.
    with page.expect_response(lambda r: r.url.endswith("/my-requests/status")) as answer:
        page.goto(live_server.url(e2e_tenant, "/"))
    assert answer.value.status == 200
    section = page.locator("[data-my-requests]")
    expect(section).to_be_visible()
    item = section.locator("li", has_text=reference)
    expect(item).to_have_count(1)
    expect(item.locator(".badge")).to_have_text(RECEIVED)
    expect(item.locator("a")).to_have_attribute("href", tracking)
    check_a11y(page, "home with my requests")

    # Another browser with this device's stored state lists it too.
    _, second = open_context("citizen-2", storage_state=phone.storage_state(), **PHONE)
    second.goto(live_server.url(e2e_tenant, "/"))
    expect(second.locator("[data-my-requests] li", has_text=reference)).to_have_count(1)
    check_a11y(second, "home in a second browser")
    # Removing it there takes it off that list only.
    second.locator("[data-my-requests] li", has_text=reference).locator("button").click()
    expect(second.locator("[data-my-requests] li")).to_have_count(0)
    expect(second.locator("[data-my-requests] [data-role=status]")).to_contain_text(reference)
    check_a11y(second, "home after removing")
    second.reload()
    expect(second.locator("[data-my-requests]")).to_be_hidden()

    # Lost link: ask for it, read it from the mail, follow it.
    page.locator("a[href='/find']").first.click()
    expect(page).to_have_url(re.compile(r"/find$"))
    check_a11y(page, "find form")
    page.locator("#find-reference").fill(reference)
    page.locator("#find-email").fill(CONTACT.upper())
    page.locator("form[action='/find'] button[type=submit]").click()
    expect(page.locator(".confirmation")).to_be_visible()
    check_a11y(page, "find answer")
    # The outbox may hold other tests' mails (a shared database): this municipality's one to this address.
    # The receipt of the submission went out in the same round: the lost link is the other one.
    # The lookup runs after the answer, so the mail may be queued a moment later.
    mail = wait_for_mail(
        settings, lambda m: m["To"] == CONTACT and e2e_tenant.name in m["From"] and not RECEIPT.search(m["Subject"])
    )
    link = re.search(r"https?://\S+/r/[A-Za-z0-9_-]+", mail.get_content())  # type: ignore[attr-defined]
    assert link, mail.get_content()  # type: ignore[attr-defined]
    assert urlsplit(link.group(0)).path == tracking
    page.goto(live_server.url(e2e_tenant, urlsplit(link.group(0)).path))
    expect(page.locator(".status-box")).to_be_visible()
    expect(page.locator("body")).to_contain_text(reference)
    check_a11y(page, "tracking page from the mailed link")

    # The clerk completes the request.
    _, desk = open_context("clerk", **DESKTOP)
    staff_login(desk, live_server, e2e_tenant)
    check_a11y(desk, "inbox")
    desk.locator("table.inbox a", has_text=reference).click()
    case_url = desk.url
    for status in ("in_review", "in_progress", "completed"):
        set_status(desk, status)

    # The citizen is asked whether it was solved, says no, and the case is reopened.
    page.goto(live_server.url(e2e_tenant, tracking))
    feedback = page.locator("#feedback")
    expect(feedback).to_be_visible()
    check_a11y(page, "tracking page asking for feedback")
    feedback.locator("#resolved-no").check()
    feedback.locator("#rating-2").check()
    feedback.locator("#feedback-comment").fill(NOT_SOLVED)
    feedback.locator("button[type=submit]").click()
    expect(page.locator(".status-label")).to_have_text(REOPENED)
    expect(page.locator(".timeline")).to_contain_text(NOT_SOLVED)
    expect(page.locator("#feedback [role=status]")).to_be_visible()
    check_a11y(page, "tracking page after reopening")

    # The home page shows the new status.
    page.goto(live_server.url(e2e_tenant, "/"))
    expect(page.locator("[data-my-requests] li", has_text=reference).locator(".badge")).to_have_text(REOPENED)
    check_a11y(page, "home after reopening")

    # The clerk sees the feedback on the case page and in the figures.
    desk.goto(case_url)
    expect(desk.locator(".facts .badge")).to_have_text(STAFF_REOPENED)
    expect(desk.locator("body")).to_contain_text(NOT_SOLVED)
    check_a11y(desk, "staff case page with feedback")
    desk.goto(live_server.url(e2e_tenant, "/staff/feedback"))
    expect(desk.locator("table.inbox tbody tr")).to_have_count(1)
    check_a11y(desk, "staff feedback figures")
