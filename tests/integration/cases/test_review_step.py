"""The review step has its own address: the draft (answers and photos) is kept on the server under the device's key."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from tests.conftest import Person
from tests.factories import TenantFixture, jpeg_bytes
from tests.helpers import VALID_ANSWERS, Client, post_form, submit_from_review

KEY = "review-key-0123456789abcdef"


async def _to_review(client: Client, tenant: TenantFixture) -> str:
    response = await post_form(client, tenant, VALID_ANSWERS, key=KEY, files=[("lamp.jpg", jpeg_bytes())])
    assert response.status_code == 200
    path = urlsplit(str(response.url)).path
    assert path == f"/s/{tenant.service_slug}/review/{KEY}"
    return path


def _photo_urls(html: str) -> list[str]:
    return re.findall(r'(/s/[^"]+/drafts/[^"]+/files/[0-9a-f-]+)', html)


async def test_the_review_page_keeps_photos_on_reload_and_language_switch(
    client: Client, tenant: TenantFixture
) -> None:
    path = await _to_review(client, tenant)
    reloaded = await client.get(path)
    assert reloaded.status_code == 200
    assert reloaded.headers["cache-control"] == "no-store"
    assert "Hauptstraße 12" in reloaded.text
    photos = _photo_urls(reloaded.text)
    assert photos, "the photo is shown again after a reload"

    english = await client.get(f"/language/en?next={path}")
    assert urlsplit(str(english.url)).path == path
    assert 'lang="en"' in english.text and "Check your request" in english.text
    assert _photo_urls(english.text) == photos
    assert (await client.get(photos[0])).status_code == 200


async def test_the_form_reopens_a_draft_with_its_answers_and_photos(client: Client, tenant: TenantFixture) -> None:
    await _to_review(client, tenant)
    form = await client.get(f"/s/{tenant.service_slug}/form", params={"draft": KEY})
    assert form.status_code == 200
    assert 'value="Hauptstraße 12"' in form.text
    assert f'value="{KEY}"' in form.text
    assert len(re.findall(r'name="photos__keep" value="[^"]+" checked', form.text)) == 1
    assert "data-draft-restore" not in form.text  # the server's draft, not an older one on the device


async def test_back_to_the_review_after_sending_says_it_was_sent(client: Client, tenant: TenantFixture) -> None:
    path = await _to_review(client, tenant)
    review = await client.get(path)
    done = await submit_from_review(client, tenant, review.text)
    tracking = urlsplit(done.headers["location"]).path

    back = await client.get(path)
    assert back.status_code == 200
    assert f'href="{tracking}"' in back.text
    assert "Nothing has been sent yet" not in back.text and "Noch wurde nichts gesendet" not in back.text
    assert "/submit" not in back.text
    reopened = await client.get(f"/s/{tenant.service_slug}/form", params={"draft": KEY})
    assert f'href="{tracking}"' in reopened.text


async def test_a_review_address_without_a_draft_leads_back_to_the_form(client: Client, tenant: TenantFixture) -> None:
    response = await client.get(f"/s/{tenant.service_slug}/review/unknown-key-0123456789", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == f"/s/{tenant.service_slug}/form"


async def test_a_draft_is_not_shown_under_another_municipality(
    client: Client, tenant: TenantFixture, person: Person, other_tenant: TenantFixture
) -> None:
    path = await _to_review(client, tenant)
    async with person(other_tenant.host) as stranger:
        response = await stranger.get(path, follow_redirects=False)
    assert response.status_code == 303  # no draft of this key there: back to that municipality's form
