"""Contact and legal pages: a fresh municipality shows the templates filled with its data, an admin's own
wording replaces them per language, admins' text is never HTML, every page footer links them, and only
admins of this municipality may change them."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.conftest import csrf_token
from tests.factories import TenantFixture
from tests.helpers import Client, login

EN = {"Accept-Language": "en"}
DE = {"Accept-Language": "de"}
CONTACT = {
    "address": "Marktplatz 1\n12345 Neuhafen",
    "phone": "+49 1234 5678-0",
    "email": "rathaus@neuhafen.example",
    "opening_hours_de": "Mo–Fr 8–12 Uhr",
    "opening_hours_en": "Mon–Fri 8 am – 12 noon",
}


async def _post(client: Client, page: str, **fields: str) -> Any:
    form = await client.get(page, headers=EN)
    assert form.status_code == 200, form.text
    assert form.headers["cache-control"] == "no-store"
    return await client.post(
        page, data={"_csrf_token": csrf_token(form.text), **fields}, headers=EN, follow_redirects=False
    )


async def test_contact_details_are_saved_and_shown_on_the_contact_page(client: Client, tenant: TenantFixture) -> None:
    assert (await login(client, tenant.admin_email, tenant.password)).status_code == 303
    saved = await _post(client, "/staff/admin/contact", **CONTACT)
    assert saved.status_code == 303 and saved.headers["location"] == "/staff/admin/contact?saved=1"
    page = (await client.get("/contact", headers=EN)).text
    assert "Marktplatz 1<br>12345 Neuhafen" in page
    assert 'href="tel:+4912345678-0"' in page and 'href="mailto:rathaus@neuhafen.example"' in page
    assert "Mon–Fri 8 am – 12 noon" in page and "Mo–Fr" not in page
    assert "Mo–Fr 8–12 Uhr" in (await client.get("/contact", headers=DE)).text


async def test_bad_contact_details_are_refused_with_the_reasons_and_kept(client: Client, tenant: TenantFixture) -> None:
    assert (await login(client, tenant.admin_email, tenant.password)).status_code == 303
    refused = await _post(
        client, "/staff/admin/contact", **{**CONTACT, "address": "", "phone": "call me", "email": "not-an-address"}
    )
    assert refused.status_code == 422
    assert "Please enter the postal address" in refused.text
    assert "phone number" in refused.text and "valid e-mail address" in refused.text
    assert 'value="call me"' in refused.text and 'value="not-an-address"' in refused.text
    assert "Mon–Fri 8 am – 12 noon" in refused.text
    assert 'aria-describedby="email-error"' in refused.text
    assert "not-an-address" not in (await client.get("/contact")).text


async def test_a_fresh_municipality_shows_the_templates_filled_with_its_data(
    client: Client, tenant: TenantFixture
) -> None:
    imprint = (await client.get("/imprint", headers=DE)).text
    assert "Angaben gemäß § 5 DDG" in imprint and tenant.name in imprint
    assert "Information according to § 5 DDG" in (await client.get("/imprint", headers=EN)).text
    assert "Art. 6 Abs. 1 lit. e DSGVO" in (await client.get("/privacy", headers=DE)).text
    statement = (await client.get("/accessibility", headers=EN)).text
    assert "BITV 2.0" in statement and "Report a barrier" in statement
    # Once the contact details are in, the templates carry them.
    assert (await login(client, tenant.admin_email, tenant.password)).status_code == 303
    assert (await _post(client, "/staff/admin/contact", **CONTACT)).status_code == 303
    imprint = (await client.get("/imprint", headers=DE)).text
    assert "Marktplatz 1<br>\n12345 Neuhafen" in imprint
    assert '<a href="mailto:rathaus@neuhafen.example">rathaus@neuhafen.example</a>' in imprint
    form = (await client.get("/staff/admin/legal/imprint", headers=EN)).text
    assert "Angaben gemäß § 5 DDG" in form and "Information according to § 5 DDG" in form
    assert "The template, filled with your details." in form


async def test_an_edited_imprint_replaces_the_template_in_its_language_only(
    client: Client, tenant: TenantFixture
) -> None:
    assert (await login(client, tenant.admin_email, tenant.password)).status_code == 303
    english_template = re.search(
        r'<textarea id="body_en"[^>]*>(.*?)</textarea>', (await client.get("/staff/admin/legal/imprint")).text, re.S
    )
    assert english_template
    saved = await _post(
        client,
        "/staff/admin/legal/imprint",
        body_de="## Herausgeberin\n\nGemeinde am See\nSeestraße 2\n\nMehr unter https://see.example/info.",
        body_en="",
    )
    assert saved.status_code == 303 and saved.headers["location"] == "/staff/admin/legal/imprint?saved=1"
    german = (await client.get("/imprint", headers=DE)).text
    assert "<h2>Herausgeberin</h2>" in german and "Gemeinde am See<br>\nSeestraße 2" in german
    assert '<a href="https://see.example/info">https://see.example/info</a>.' in german
    assert "Angaben gemäß § 5 DDG" not in german
    assert "Information according to § 5 DDG" in (await client.get("/imprint", headers=EN)).text
    form = (await client.get("/staff/admin/legal/imprint", headers=EN)).text
    assert "Seestraße 2" in form and "Your own wording." in form
    # Emptied again, the page follows the template once more.
    assert (await _post(client, "/staff/admin/legal/imprint", body_de="", body_en="")).status_code == 303
    assert "Angaben gemäß § 5 DDG" in (await client.get("/imprint", headers=DE)).text


async def test_an_admin_cannot_put_html_on_the_legal_pages(client: Client, tenant: TenantFixture) -> None:
    assert (await login(client, tenant.admin_email, tenant.password)).status_code == 303
    body = '<script>alert(1)</script> <a href="javascript:alert(2)">x</a> <img src=x onerror=alert(3)>'
    assert (await _post(client, "/staff/admin/legal/privacy", body_de=body, body_en=body)).status_code == 303
    page = (await client.get("/privacy", headers=DE)).text
    assert "<script>alert" not in page and "<img" not in page and 'href="javascript' not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


async def test_the_accessibility_statement_needs_a_feedback_address_and_shows_it(
    client: Client, tenant: TenantFixture
) -> None:
    assert (await login(client, tenant.admin_email, tenant.password)).status_code == 303
    refused = await _post(
        client, "/staff/admin/legal/accessibility", feedback_email="nope", body_de="Eigene Erklärung", body_en=""
    )
    assert refused.status_code == 422 and "valid e-mail address" in refused.text
    assert "Eigene Erklärung" in refused.text and 'value="nope"' in refused.text
    saved = await _post(
        client,
        "/staff/admin/legal/accessibility",
        feedback_email="barrieren@neuhafen.example",
        body_de="Eigene Erklärung",
        body_en="",
    )
    assert saved.status_code == 303
    german = (await client.get("/accessibility", headers=DE)).text
    assert "Eigene Erklärung" in german and 'href="mailto:barrieren@neuhafen.example"' in german
    english = (await client.get("/accessibility", headers=EN)).text
    assert "Have you noticed a barrier? Write to us at" in english and "barrieren@neuhafen.example" in english


async def test_a_too_long_legal_text_is_refused(client: Client, tenant: TenantFixture) -> None:
    assert (await login(client, tenant.admin_email, tenant.password)).status_code == 303
    refused = await _post(client, "/staff/admin/legal/imprint", body_de="x" * 20_001, body_en="short")
    assert refused.status_code == 422 and "too long" in refused.text and "short" in refused.text


@pytest.mark.parametrize("path", ["/", "/contact", "/imprint", "/privacy", "/accessibility", "/staff/login"])
async def test_every_page_footer_links_the_contact_and_legal_pages(client: Client, path: str) -> None:
    page = await client.get(path, headers=EN)
    assert page.status_code == 200
    footer = page.text.split('<footer class="site-footer">', 1)[1]
    for link in ("/contact", "/imprint", "/privacy", "/accessibility"):
        assert f'<a href="{link}">' in footer


async def test_the_legal_pages_stay_small(client: Client) -> None:
    for path in ("/contact", "/imprint", "/privacy", "/accessibility"):
        page = await client.get(path, headers={**DE, "Accept-Encoding": "identity"})
        assert page.status_code == 200 and len(page.content) < 10_000, path


@pytest.mark.parametrize(
    "page", ["/staff/admin/contact", "/staff/admin/legal", "/staff/admin/legal/imprint", "/staff/admin/texts"]
)
async def test_a_clerk_cannot_open_or_save_the_contact_and_legal_pages(
    client: Client, tenant: TenantFixture, page: str
) -> None:
    assert (await login(client, tenant.clerk_email, tenant.password)).status_code == 303
    assert (await client.get(page, follow_redirects=False)).status_code == 403
    token = csrf_token((await client.get("/staff")).text)
    answer = await client.post(
        page, data={"_csrf_token": token, **CONTACT, "body_de": "Übernommen"}, follow_redirects=False
    )
    assert answer.status_code in (403, 405)
    assert "Übernommen" not in (await client.get("/imprint", headers=DE)).text
    assert "Marktplatz" not in (await client.get("/contact")).text


async def test_one_municipalitys_legal_pages_never_show_on_another(
    client: Client, tenant: TenantFixture, other_tenant: TenantFixture, person: Any
) -> None:
    assert (await login(client, tenant.admin_email, tenant.password)).status_code == 303
    assert (await _post(client, "/staff/admin/contact", **CONTACT)).status_code == 303
    assert (
        await _post(client, "/staff/admin/legal/imprint", body_de="Nur hier", body_en="Only here")
    ).status_code == 303
    async with person(other_tenant.host) as other:
        for path in ("/contact", "/imprint"):
            page = (await other.get(path, headers=DE)).text
            assert "Marktplatz" not in page and "Nur hier" not in page and other_tenant.name in page
