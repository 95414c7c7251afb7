"""A citizen submits a request from the form, reviews it, and follows it by its private link."""

from __future__ import annotations

import re

from litestar import Litestar

from tests.conftest import Person, csrf_token
from tests.factories import TenantFixture, jpeg_bytes
from tests.helpers import VALID_ANSWERS, Client, open_form, post_form, submit_case, submit_from_review


async def test_citizen_submits_request_and_follows_it_by_tracking_link(client: Client, tenant: TenantFixture) -> None:
    tracking = await submit_case(client, tenant)
    assert re.fullmatch(r"/r/[A-Za-z0-9_-]{20,}", tracking)

    page = await client.get(tracking + "?new=1")
    assert page.status_code == 200
    assert re.search(r'class="reference">\d{4}-\d{5}<', page.text)
    assert tracking in page.text  # the private link is shown on the confirmation
    assert "Hauptstraße 12" in page.text and "Die Laterne leuchtet seit Tagen nicht." in page.text
    photo = re.search(r'<img src="(/r/[^"]+/files/[^"]+)"', page.text)
    assert photo, "the submitted photo is shown"
    image = await client.get(photo.group(1))
    assert image.status_code == 200 and image.headers["content-type"] == "image/jpeg"


async def test_first_reference_numbers_count_up_per_municipality(
    person: Person, app: Litestar, tenant: TenantFixture, other_tenant: TenantFixture
) -> None:
    refs = []
    for t, key in ((tenant, "k" * 20), (tenant, "j" * 20), (other_tenant, "k" * 20)):
        async with person(t.host) as c:
            page = await c.get(await submit_case(c, t, key=key, photo=False))
            refs.append(re.search(r"<strong>(\d{4}-\d{5})</strong>", page.text).group(1))  # type: ignore[union-attr]
    assert refs[0].endswith("-00001") and refs[1].endswith("-00002") and refs[2].endswith("-00001")


async def test_same_submission_posted_twice_gives_one_case(client: Client, tenant: TenantFixture) -> None:
    review = await post_form(client, tenant, VALID_ANSWERS, key="double-tap-key-0123456789")
    first = await submit_from_review(client, tenant, review.text)
    second = await submit_from_review(client, tenant, review.text)  # double tap / retry after a lost answer
    assert first.status_code == second.status_code == 303
    assert first.headers["location"] == second.headers["location"]

    # A retry of the whole form with the same key says it was sent, and links to the same case.
    again = await post_form(client, tenant, VALID_ANSWERS, key="double-tap-key-0123456789")
    tracking = first.headers["location"].split("?")[0]
    assert f'href="{tracking}"' in again.text
    assert 'action="/s/' not in again.text.split("</header>")[-1]  # nothing to send again


async def test_validation_errors_keep_everything_the_citizen_entered(client: Client, tenant: TenantFixture) -> None:
    answers = {**VALID_ANSWERS, "what": "", "email": "not-an-address", "kind": "flicker"}
    page = await post_form(client, tenant, answers, files=[("lamp.jpg", jpeg_bytes())])
    assert page.status_code == 200
    html = page.text
    assert 'class="error-summary"' in html
    assert 'href="#what"' in html and 'href="#email"' in html
    assert 'id="what-error"' in html and 'aria-describedby="what-error"' in html
    assert 'value="not-an-address"' in html  # the wrong value is shown again to be corrected
    assert 'value="Hauptstraße 12"' in html and "vor der Bäckerei" in html
    assert re.search(r'value="flicker" checked', html)
    kept = re.findall(r'name="photos__keep" value="([^"]+)" checked', html)
    assert len(kept) == 1, "the uploaded photo is kept, not asked for again"

    fixed = await post_form(
        client,
        tenant,
        {**answers, "what": "Flackert abends.", "email": "anna@example.org", "photos__keep": kept[0]},
        token=csrf_token(html),
    )
    assert "/submit" in fixed.text and "Flackert abends." in fixed.text
    assert kept[0] in fixed.text  # the kept photo goes on to the review


async def test_editing_from_review_returns_to_the_filled_form(client: Client, tenant: TenantFixture) -> None:
    review = await post_form(client, tenant, VALID_ANSWERS)
    data = {
        **VALID_ANSWERS,
        "_csrf_token": csrf_token(review.text),
        "idempotency_key": "device-key-0123456789abcdef",
        "action": "edit",
    }
    form = await client.post(f"/s/{tenant.service_slug}/form", data=data)
    assert 'enctype="multipart/form-data"' in form.text
    assert "Die Laterne leuchtet seit Tagen nicht." in form.text


async def test_required_location_accepts_position_alone(client: Client, tenant: TenantFixture) -> None:
    answers = {"what": "Dunkel", "where__lat": "52.520008", "where__lon": "13.404954"}
    review = await post_form(client, tenant, answers)
    assert "/submit" in review.text
    assert "52.520008" in review.text


async def test_missing_location_gets_a_clear_error(client: Client, tenant: TenantFixture) -> None:
    page = await post_form(client, tenant, {"what": "Dunkel"})
    assert 'id="where-error"' in page.text


async def test_file_that_is_not_a_photo_is_refused_with_a_message(client: Client, tenant: TenantFixture) -> None:
    page = await post_form(client, tenant, VALID_ANSWERS, files=[("virus.jpg", b"MZ\x90\x00 not an image")])
    assert 'id="photos-error"' in page.text and "virus.jpg" in page.text
    assert "/submit" not in page.text


async def test_too_many_files_are_refused_before_any_is_stored(
    client: Client, tenant: TenantFixture, app: Litestar
) -> None:
    files = [(f"p{i}.jpg", jpeg_bytes(size=(64, 64))) for i in range(4)]  # the form allows 3
    page = await post_form(client, tenant, VALID_ANSWERS, files=files)
    assert 'id="photos-error"' in page.text
    assert "at most 3" in page.text or "höchstens 3" in page.text
    assert not re.findall(r'name="photos__keep"', page.text)
    assert not list(app.state.settings.uploads_dir.glob(f"{tenant.id}/*"))


async def test_oversized_upload_gets_a_clear_page(client: Client, tenant: TenantFixture, app: Litestar) -> None:
    token = await open_form(client, tenant)
    limit = app.state.settings.max_upload_bytes * app.state.settings.max_files * 2 + 2 * 1024 * 1024
    response = await client.post(
        f"/s/{tenant.service_slug}/form",
        data={"_csrf_token": token},
        files=[("photos", ("huge.jpg", b"\xff" * limit, "image/jpeg"))],
    )
    assert response.status_code == 413
    assert "too large" in response.text or "zu groß" in response.text


async def test_draft_files_of_another_draft_cannot_be_kept(client: Client, tenant: TenantFixture) -> None:
    first = await post_form(
        client,
        tenant,
        {**VALID_ANSWERS, "what": ""},
        key="draft-one-0123456789abc",
        files=[("lamp.jpg", jpeg_bytes())],
    )
    stolen = re.findall(r'name="photos__keep" value="([^"]+)"', first.text)[0]
    other = await post_form(client, tenant, {**VALID_ANSWERS, "photos__keep": stolen}, key="draft-two-0123456789abc")
    assert stolen not in other.text


async def test_citizen_can_withdraw_a_new_request(client: Client, tenant: TenantFixture) -> None:
    tracking = await submit_case(client, tenant, photo=False)
    page = await client.get(tracking + "/withdraw")
    response = await client.post(
        tracking + "/withdraw",
        data={"_csrf_token": csrf_token(page.text), "reason": "Hat sich erledigt"},
        follow_redirects=False,
    )
    assert response.status_code == 303
    after = await client.get(tracking)
    assert "Hat sich erledigt" in after.text
    assert "/withdraw" not in after.text
