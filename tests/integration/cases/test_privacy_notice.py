"""Before sending, the citizen reads what is collected (the form's fields), why, for how long (the municipality's
retention period) and whom to ask (its contact address), with the way to its privacy policy."""

from __future__ import annotations

import html

from backend.core.db import alchemy_config, tenant_session
from backend.settings import Settings
from backend.tenants.legal import Contact, LegalService
from tests.factories import TenantFixture
from tests.helpers import VALID_ANSWERS, Client, post_form
from tests.integration.cases.test_retention import _set_period


def _notice(page: str) -> str:
    start = page.index('class="privacy-notice"')
    return html.unescape(page[start : page.index("</section>", start)])


async def test_the_review_page_says_what_why_how_long_and_whom_to_ask(
    client: Client, settings: Settings, tenant: TenantFixture
) -> None:
    client.headers["Accept-Language"] = "en"
    db = alchemy_config(settings)
    try:
        async with tenant_session(db, tenant.id) as session:
            await LegalService(session, tenant.id).save_contact(
                Contact(address="Rathausplatz 1", email="datenschutz@musterstadt.example")
            )
    finally:
        await db.get_engine().dispose()
    review = await post_form(client, tenant, VALID_ANSWERS, key="privacy-notice-key-0123456789")
    assert review.status_code == 200
    notice = _notice(review.text)
    assert "What is broken?" in notice and "E-mail for updates" in notice and "Place" in notice
    assert tenant.name in notice
    assert "as long as handling your request and the law require" in notice
    assert "mailto:datenschutz@musterstadt.example" in notice and 'href="/privacy"' in notice

    await _set_period(settings, tenant, 180)
    again = await client.get(f"/s/{tenant.service_slug}/review/privacy-notice-key-0123456789")
    assert "anonymised after 180 days without activity" in _notice(again.text)

    client.headers["Accept-Language"] = "de"
    german = _notice((await client.get(f"/s/{tenant.service_slug}/review/privacy-notice-key-0123456789")).text)
    assert "Ihre Daten" in german and "Was ist kaputt?" in german and "180 Tagen" in german
