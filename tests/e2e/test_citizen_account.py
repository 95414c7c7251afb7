"""A citizen signs in with a code from their e-mail (read from the test SMTP server), sees all their requests and
downloads their data; then adds a passkey and signs in with it. Every page visited is checked with axe-core.

Texts the app translates are matched in German and English, as in test_journey.py.
"""

from __future__ import annotations

import io
import json
import re
import zipfile
from dataclasses import replace
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from backend.core.db import alchemy_config
from backend.notifications.delivery import Deliverer
from backend.settings import Settings
from tests.e2e.conftest import PHONE, LiveServer, check_a11y, run_async
from tests.factories import TenantFixture
from tests.integration.notifications.test_email import Inbox, smtp  # noqa: F401  (the in-process SMTP server)

pytestmark = pytest.mark.browser

CONTACT = "clara.konto@example.org"
CODE_SUBJECT = re.compile(r"Anmeldecode|sign-in code")


def submit_request(page: Page, server: LiveServer, tenant: TenantFixture, what: str, email: str = CONTACT) -> str:
    """Send the street-light form with the contact address; returns the tracking path."""
    page.goto(server.url(tenant, "/s/street-light/form"))
    page.locator("#where__address").fill("Hauptstraße 12")
    page.locator("#what").fill(what)
    page.locator("#email").fill(email)
    page.locator("button[name=action][value=review]").click()
    page.locator("form[action='/s/street-light/submit'] button.button-primary").click()
    expect(page).to_have_url(re.compile(r"/r/[^/?]+\?new=1$"))
    path = page.locator(".confirmation .tracking-link a").get_attribute("href") or ""
    assert path.startswith("/r/"), path
    return path


def code_from_mail(settings: Settings, port: int, inbox: Inbox, tenant: TenantFixture, email: str = CONTACT) -> str:
    """Run one round of the outbox worker against the test SMTP server; the code from this citizen's mail."""
    mailing = replace(settings, smtp_host="127.0.0.1", smtp_port=port, smtp_security="none", smtp_from="r@example.org")

    async def once() -> None:
        db = alchemy_config(mailing)
        worker = Deliverer(db, mailing)
        try:
            await worker.run_once()
        finally:
            await worker.aclose()
            await db.get_engine().dispose()

    run_async(once())
    # The outbox may hold other tests' mails (a shared database): this municipality's code mail to this address.
    [mail] = [
        m for m in inbox.messages if m["To"] == email and tenant.name in m["From"] and CODE_SUBJECT.search(m["Subject"])
    ]
    found = re.search(r"^(\d{6})\s*$", mail.get_content(), re.MULTILINE)  # type: ignore[attr-defined]
    assert found, mail.get_content()  # type: ignore[attr-defined]
    return found.group(1)


def test_citizen_signs_in_with_a_code_sees_all_requests_and_downloads_their_data(
    live_server: LiveServer,
    e2e_tenant: TenantFixture,
    open_context: Any,
    settings: Settings,
    smtp: tuple[Inbox, int],  # noqa: F811
) -> None:
    inbox, port = smtp
    _, page = open_context("citizen", accept_downloads=True, **PHONE)
    first = submit_request(page, live_server, e2e_tenant, "Die Laterne leuchtet nicht.")
    # The second from another device (this one would offer the first form's kept draft again).
    _, other_device = open_context("citizen-laptop", **PHONE)
    second = submit_request(other_device, live_server, e2e_tenant, "Die Laterne flackert.")
    # A request sent for a neighbour with their address, whose link this phone opened: the phone remembers it.
    _, neighbour = open_context("citizen-neighbour", **PHONE)
    third = submit_request(neighbour, live_server, e2e_tenant, "Der Mast ist umgefahren.", "nachbar@example.org")
    page.goto(live_server.url(e2e_tenant, third))

    # The footer's link leads to the sign-in page.
    page.goto(live_server.url(e2e_tenant, "/"))
    page.locator("footer a[href='/account']").click()
    expect(page).to_have_url(re.compile(r"/account/sign-in$"))
    check_a11y(page, "sign-in page")
    page.locator("#sign-in-email").fill(CONTACT)
    page.locator("form[action='/account/sign-in'] button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/account/sign-in/code$"))
    expect(page.locator("main")).to_contain_text(CONTACT)
    check_a11y(page, "code page")

    code = code_from_mail(settings, port, inbox, e2e_tenant)
    page.locator("#sign-in-code").fill(code)
    page.locator("form[action='/account/sign-in/code'] button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/account$"))
    expect(page.locator("main")).to_contain_text(CONTACT)
    # Both requests sent earlier with the now verified address, each linking to its tracking page.
    links = page.locator(".account-requests a")
    expect(links).to_have_count(2)
    assert {links.nth(i).get_attribute("href") for i in range(2)} == {first, second}
    check_a11y(page, "my requests")

    # The phone remembers one more request: the page offers to add it to the account.
    offer = page.locator("form[action='/account/device-requests']")
    expect(offer).to_be_visible()
    expect(offer).to_contain_text("1 Anliegen")
    check_a11y(page, "my requests with the device's offer")
    offer.locator("button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/account\?joined=1$"))
    expect(page.locator(".notice")).to_contain_text("1 Anliegen")
    expect(links).to_have_count(3)
    expect(page.locator("form[action='/account/device-requests']")).to_be_hidden()
    check_a11y(page, "my requests after adding the device's")

    with page.expect_download() as download_info:
        page.locator("a[href='/account/data.zip']").click()
    download = download_info.value
    assert download.suggested_filename.endswith(".zip")
    archive = zipfile.ZipFile(io.BytesIO(download.path().read_bytes()))
    data = json.loads(archive.read("data.json"))
    assert data["account"]["email"] == CONTACT
    assert {r["tracking_link"] for r in data["requests"]} == {first, second, third}

    # A request's link opens its tracking page.
    page.locator(f".account-requests a[href='{first}']").click()
    expect(page).to_have_url(re.compile(re.escape(first) + "$"))
    check_a11y(page, "tracking page from my requests")


def test_citizen_adds_a_passkey_and_signs_in_with_it(
    live_server: LiveServer,
    e2e_tenant: TenantFixture,
    open_context: Any,
    settings: Settings,
    smtp: tuple[Inbox, int],  # noqa: F811
) -> None:
    """Chromium's virtual authenticator stands for the phone's own (fingerprint or PIN, always confirmed)."""
    inbox, port = smtp
    email = "paula.passkey@example.org"
    context, page = open_context("citizen with a passkey", **PHONE)
    cdp = context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    authenticator = cdp.send(
        "WebAuthn.addVirtualAuthenticator",
        {
            "options": {
                "protocol": "ctap2",
                "transport": "internal",
                "hasResidentKey": True,
                "hasUserVerification": True,
                "isUserVerified": True,
                "automaticPresenceSimulation": True,
            }
        },
    )["authenticatorId"]

    page.goto(live_server.url(e2e_tenant, "/account/sign-in"))
    expect(page.locator("[data-passkey-section]")).to_be_visible()
    page.locator("#sign-in-email").fill(email)
    page.locator("form[action='/account/sign-in'] button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/account/sign-in/code$"))
    page.locator("#sign-in-code").fill(code_from_mail(settings, port, inbox, e2e_tenant, email))
    page.locator("form[action='/account/sign-in/code'] button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/account$"))

    add = page.locator("form[action='/account/passkeys']")
    expect(add).to_be_visible()
    expect(page.locator("[data-passkey-unsupported]")).to_be_hidden()
    check_a11y(page, "my requests with passkeys")
    add.locator("#passkey-name").fill("Mein Telefon")
    add.locator("button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/account\?passkey=added$"))
    expect(page.locator(".passkeys .card h3")).to_have_text("Mein Telefon")
    expect(page.locator("p.notice[role=status]")).to_be_visible()
    check_a11y(page, "my requests after adding a passkey")
    [credential] = cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator})["credentials"]
    assert credential["isResidentCredential"] and credential["rpId"] == e2e_tenant.host

    page.locator("form[action='/account/sign-out'] button").click()
    expect(page).to_have_url(re.compile(r"/account/sign-in\?signed_out=1$"))
    check_a11y(page, "sign-in page with a passkey")
    page.locator("form[action='/account/sign-in/passkey'] button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/account$"))
    expect(page.locator("main")).to_contain_text(email)
    expect(page.locator(".passkeys .card")).not_to_contain_text(re.compile(r"Noch nicht verwendet|Not used yet"))
