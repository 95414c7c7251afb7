"""Uploaded files are private end to end: served without metadata, and only to those who may see them."""

from __future__ import annotations

import io
import re
import uuid
from urllib.parse import urlsplit

from PIL import Image
from sqlalchemy import select

from backend.cases.models import Case
from backend.catalogue.services import CatalogueService
from backend.core.db import alchemy_config, tenant_session, unscoped_session
from backend.settings import Settings
from backend.tenants.services import TenantService, to_context
from tests.factories import PASSWORD, REPORT_FORM, TenantFixture, jpeg_bytes
from tests.helpers import VALID_ANSWERS, Client, login, post_form, submit_from_review


def _gps_photo() -> bytes:
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"
    exif[0x8825] = {1: "N", 2: (52.0, 31.0, 12.0), 3: "E", 4: (13.0, 24.0, 36.0)}  # GPS position
    data = jpeg_bytes(exif=exif)
    assert Image.open(io.BytesIO(data)).getexif().get_ifd(0x8825), "the test photo carries a position"
    return data


def _assert_no_metadata(body: bytes) -> None:
    image = Image.open(io.BytesIO(body))
    assert not image.getexif(), "EXIF was served"
    assert b"Exif" not in body and b"PhoneMaker" not in body


def _file_urls(html: str, prefix: str) -> list[str]:
    return re.findall(rf'"({re.escape(prefix)}[0-9a-f-]+)"', html)


async def _case_id(settings: Settings, tenant: TenantFixture, key: str) -> uuid.UUID:
    db = alchemy_config(settings)
    try:
        async with tenant_session(db, tenant.id) as session:
            case_id = await session.scalar(select(Case.id).where(Case.idempotency_key == key))
    finally:
        await db.get_engine().dispose()
    assert case_id is not None
    return case_id


async def test_a_photo_with_a_gps_position_is_served_without_exif_everywhere(
    client: Client, tenant: TenantFixture, settings: Settings
) -> None:
    key = "gps-photo-key-0123456789"
    review = await post_form(client, tenant, VALID_ANSWERS, key=key, files=[("gps.jpg", _gps_photo())])
    draft_urls = _file_urls(review.text, f"/s/{tenant.service_slug}/drafts/{key}/files/")
    assert draft_urls
    _assert_no_metadata((await client.get(draft_urls[0])).content)

    done = await submit_from_review(client, tenant, review.text)
    tracking = urlsplit(done.headers["location"]).path
    page = await client.get(tracking)
    case_urls = _file_urls(page.text, f"{tracking}/files/")
    assert case_urls
    _assert_no_metadata((await client.get(case_urls[0])).content)

    case_id = await _case_id(settings, tenant, key)
    assert (await login(client, tenant.clerk_email, PASSWORD)).status_code == 303
    staff_page = await client.get(f"/staff/cases/{case_id}")
    staff_urls = _file_urls(staff_page.text, f"/staff/cases/{case_id}/files/")
    assert staff_urls
    _assert_no_metadata((await client.get(staff_urls[0])).content)


async def test_a_tracking_link_opens_only_its_own_cases_files(client: Client, tenant: TenantFixture) -> None:
    tracks = []
    for key in ("mine-key-0123456789abc", "theirs-key-0123456789abc"):
        review = await post_form(client, tenant, VALID_ANSWERS, key=key, files=[("p.jpg", jpeg_bytes())])
        tracks.append(urlsplit((await submit_from_review(client, tenant, review.text)).headers["location"]).path)
    mine, theirs = tracks
    their_file = _file_urls((await client.get(theirs)).text, f"{theirs}/files/")[0].rsplit("/", 1)[-1]
    assert (await client.get(f"{theirs}/files/{their_file}")).status_code == 200
    assert (await client.get(f"{mine}/files/{their_file}")).status_code == 404


async def test_a_draft_file_is_served_only_under_its_own_service(
    client: Client, tenant: TenantFixture, settings: Settings
) -> None:
    db = alchemy_config(settings)
    try:
        async with unscoped_session(db) as session:
            found = await TenantService(session).by_slug(tenant.slug)
            assert found is not None
            ctx = to_context(found)
        async with tenant_session(db, tenant.id) as session:
            await CatalogueService(session, ctx).create_service(
                slug="pothole",
                category={"de": "Straßen", "en": "Streets"},
                name={"de": "Schlagloch", "en": "Pothole"},
                summary={"de": "Melden Sie ein Schlagloch.", "en": "Report a pothole."},
                form=REPORT_FORM,
            )
    finally:
        await db.get_engine().dispose()
    key = "slug-key-0123456789abc"
    review = await post_form(client, tenant, VALID_ANSWERS, key=key, files=[("p.jpg", jpeg_bytes())])
    url = _file_urls(review.text, f"/s/{tenant.service_slug}/drafts/{key}/files/")[0]
    assert (await client.get(url)).status_code == 200
    assert (await client.get(url.replace(f"/s/{tenant.service_slug}/", "/s/pothole/"))).status_code == 404
    assert (await client.get(url.replace(f"/s/{tenant.service_slug}/", "/s/no-such-service/"))).status_code == 404
