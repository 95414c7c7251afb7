"""What a citizen or a clerk types stays text wherever it appears: markup and script in every text field are
shown escaped on the citizen's pages, in the inbox and in the e-mails; a formula is never a formula in the CSV
export."""

from __future__ import annotations

import csv
import io
from dataclasses import replace
from urllib.parse import urlsplit

from backend.core.db import alchemy_config
from backend.notifications.delivery import Deliverer
from backend.settings import Settings
from tests.conftest import csrf_token
from tests.factories import TenantFixture
from tests.helpers import VALID_ANSWERS, Client, post_form, submit_from_review
from tests.integration.notifications.conftest import FAST
from tests.integration.notifications.test_email import Inbox
from tests.integration.notifications.test_email import smtp as smtp  # noqa: PLC0414  (the fixture)

SCRIPT = "<script>alert(1)</script>"
IMAGE = '"><img src=x onerror=alert(2)>'
TEMPLATE = "{{ 7*7 }}"
FORMULA = '=HYPERLINK("http://evil.example/","Klick")'
# The markup of the payloads, which must never reach a page or an e-mail as markup.
LIVE = ("<script>alert", "<img src=x", "onerror=alert(2)>")


def _inert(html: str, where: str) -> None:
    for live in LIVE:
        assert live not in html, f"{live!r} is live in {where}"


async def test_payloads_in_every_text_field_stay_text_everywhere(
    client: Client, person, tenant: TenantFixture, clerk_of, settings: Settings, smtp: tuple[Inbox, int]
) -> None:
    inbox, port = smtp
    answers = {
        **VALID_ANSWERS,
        "where__address": FORMULA,
        "where__description": IMAGE,
        "what": f"{SCRIPT} {IMAGE} {TEMPLATE}",
    }
    review = await post_form(client, tenant, answers, key="inert-payload-key-0123456789")
    assert review.status_code == 200
    _inert(review.text, "the review page")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in review.text and TEMPLATE in review.text
    done = await submit_from_review(client, tenant, review.text)
    assert done.status_code == 303
    tracking = urlsplit(done.headers["location"]).path

    page = await client.get(tracking)
    reply = await client.post(
        f"{tracking}/reply", data={"_csrf_token": csrf_token(page.text), "message": f"{IMAGE} {SCRIPT}"}
    )
    assert reply.status_code in (200, 303), reply.status_code

    clerk = await clerk_of(tenant)
    assert (await clerk.message(f"Antwort {SCRIPT} {IMAGE}")).status_code in (200, 303)
    for path in ("/staff", f"/staff?q={tenant.slug}", clerk.case_url):
        staff_page = await clerk.client.get(path)
        assert staff_page.status_code == 200
        _inert(staff_page.text, path)
    case_page = (await clerk.client.get(clerk.case_url)).text
    assert case_page.count("&lt;script&gt;alert(1)&lt;/script&gt;") >= 3, "answer, reply and message, escaped"

    citizen_page = (await client.get(tracking)).text
    _inert(citizen_page, "the tracking page")
    assert "Antwort &lt;script&gt;" in citizen_page

    export = await clerk.client.get("/staff/inbox.csv")
    assert export.status_code == 200
    rows = list(csv.reader(io.StringIO(export.text.lstrip("\ufeff")), delimiter=";"))
    cells = [cell for row in rows[1:] for cell in row]
    assert any(FORMULA in cell for cell in cells), "the address is exported"
    assert not [cell for cell in cells if cell[:1] in ("=", "+", "-", "@", "\t", "\r")], "a cell is a formula"

    mailing = replace(settings, smtp_host="127.0.0.1", smtp_port=port, smtp_security="none")
    worker = Deliverer(alchemy_config(mailing), mailing, policy=FAST)
    try:
        await worker.run_once()
    finally:
        await worker.aclose()
        await worker.db.get_engine().dispose()
    assert inbox.messages, "the clerk's message is mailed"
    for mail in inbox.messages:
        html = mail.get_body(preferencelist=("html",))  # type: ignore[attr-defined]
        if html is not None:
            _inert(html.get_content(), f"the e-mail {mail['Subject']!r}")
