"""With RATHAUS_STORAGE_URL=s3://... every uploaded file lives in the bucket (moto's S3 server on loopback):
photos of a submission, their downloads for the citizen and the clerk, the draft cleanup, the logo and its icons,
the citizen's data download. Nothing is written to the local uploads folder."""

from __future__ import annotations

import datetime
import io
import json
import re
import zipfile
from urllib.parse import urlsplit

import pytest
from litestar import Litestar
from PIL import Image

from backend.app import create_app
from backend.cases.cleanup import purge_expired_drafts
from backend.cases.retention import anonymise_expired
from backend.core.db import alchemy_config
from backend.core.storage import storage_for
from backend.settings import Settings
from tests.conftest import Person, csrf_token
from tests.factories import TenantFixture, jpeg_bytes
from tests.helpers import VALID_ANSWERS, Client, login, post_form, submit_case, submit_from_review
from tests.integration.accounts.test_citizen_accounts import sign_in
from tests.integration.cases.test_feedback import clerk_closes
from tests.integration.cases.test_file_privacy import _case_id, _file_urls
from tests.integration.cases.test_retention import _set_period
from tests.s3server import BUCKET, PREFIX, stored_keys
from tests.s3server import client as s3_client

DOWNLOAD_HEADERS = {"content-type", "content-disposition", "content-length", "etag", "last-modified", "cache-control"}


@pytest.fixture
def app(s3_settings: Settings) -> Litestar:
    """The app of tests/conftest.py (and so its ``client``), with the uploads in the bucket."""
    return create_app(s3_settings)


def _nothing_local(settings: Settings, tenant: TenantFixture) -> bool:
    return not (settings.uploads_dir / str(tenant.id)).exists()


def _is_the_photo(body: bytes) -> bool:
    return Image.open(io.BytesIO(body)).format == "JPEG"


async def test_a_submitted_photo_is_kept_in_the_bucket_and_served_to_the_citizen_and_the_clerk(
    client: Client,
    tenant: TenantFixture,
    s3_settings: Settings,
    s3_endpoint: str,
) -> None:
    key = "s3-photo-key-0123456789abc"
    review = await post_form(client, tenant, VALID_ANSWERS, key=key, files=[("lamp.jpg", jpeg_bytes())])
    [stored] = stored_keys(s3_endpoint, str(tenant.id))
    assert stored.startswith(f"{PREFIX}/{tenant.id}/") and stored.endswith(".jpg")
    assert _nothing_local(s3_settings, tenant)

    [draft_url] = set(_file_urls(review.text, f"/s/{tenant.service_slug}/drafts/{key}/files/"))
    draft_file = await client.get(draft_url)
    assert draft_file.status_code == 200 and _is_the_photo(draft_file.content)
    assert set(draft_file.headers) >= DOWNLOAD_HEADERS
    assert draft_file.headers["content-disposition"] == 'inline; filename="lamp.jpg"'

    done = await submit_from_review(client, tenant, review.text)
    tracking = urlsplit(done.headers["location"]).path
    [case_url] = set(_file_urls((await client.get(tracking)).text, f"{tracking}/files/"))
    citizen_file = await client.get(case_url, headers={"accept-encoding": "identity"})
    assert citizen_file.status_code == 200 and citizen_file.content == draft_file.content
    assert citizen_file.headers["content-length"] == str(len(citizen_file.content))

    case_id = await _case_id(s3_settings, tenant, key)
    assert (await login(client, tenant.clerk_email, tenant.password)).status_code == 303
    [staff_url] = set(_file_urls((await client.get(f"/staff/cases/{case_id}")).text, f"/staff/cases/{case_id}/files/"))
    clerk_file = await client.get(staff_url)
    assert clerk_file.status_code == 200 and clerk_file.content == draft_file.content
    assert clerk_file.headers["etag"] == citizen_file.headers["etag"]
    assert stored_keys(s3_endpoint, str(tenant.id)) == [stored]  # one object, however often it is read

    # An object lost from the bucket is a 404, not an error page.
    s3_client(s3_endpoint).delete_object(Bucket=BUCKET, Key=stored)
    assert (await client.get(staff_url)).status_code == 404
    assert (await client.get(case_url)).status_code == 404


async def test_the_draft_cleanup_deletes_the_objects_of_expired_drafts_and_keeps_sent_ones(
    client: Client,
    tenant: TenantFixture,
    app: Litestar,
    s3_endpoint: str,
) -> None:
    await post_form(client, tenant, VALID_ANSWERS, key="s3-left-behind-0123456789", files=[("a.jpg", jpeg_bytes())])
    [left_behind] = stored_keys(s3_endpoint, str(tenant.id))
    review = await post_form(
        client, tenant, VALID_ANSWERS, key="s3-sent-key-0123456789ab", files=[("b.jpg", jpeg_bytes())]
    )
    assert (await submit_from_review(client, tenant, review.text)).status_code == 303
    assert len(stored_keys(s3_endpoint, str(tenant.id))) == 2

    db = alchemy_config(app.state.settings)
    try:
        later = datetime.datetime.now(datetime.UTC) + datetime.timedelta(hours=25)
        assert await purge_expired_drafts(db, app.state.storage, now=later) >= 1
    finally:
        await db.get_engine().dispose()
    left = stored_keys(s3_endpoint, str(tenant.id))
    assert len(left) == 1 and left_behind not in left


async def test_the_logo_is_kept_in_the_bucket_and_draws_the_icons(
    client: Client,
    tenant: TenantFixture,
    s3_settings: Settings,
    s3_endpoint: str,
) -> None:
    assert (await login(client, tenant.admin_email, tenant.password)).status_code == 303
    page = await client.get("/staff/admin/branding", headers={"Accept-Language": "en"})
    logo = io.BytesIO()
    Image.new("RGB", (300, 300), (250, 200, 0)).save(logo, format="PNG")
    saved = await client.post(
        "/staff/admin/branding",
        data={
            "_csrf_token": csrf_token(page.text),
            "name": "Stadt Eimer",
            "primary_color": "#0b6e4f",
            "primary_color_text": "#0b6e4f",
            "accent_color": "#005a9c",
            "accent_color_text": "#005a9c",
        },
        files={"logo": ("logo.png", logo.getvalue(), "image/png")},
        follow_redirects=False,
    )
    assert saved.status_code == 303, saved.text
    [stored] = stored_keys(s3_endpoint, str(tenant.id))
    assert stored.endswith(".png") and _nothing_local(s3_settings, tenant)

    home = (await client.get("/")).text
    logo_src = re.search(r'class="brand-logo" src="(/logo\?v=[0-9a-f]+)"', home)
    assert logo_src, home
    served = await client.get(logo_src.group(1))
    assert served.status_code == 200 and served.headers["content-type"] == "image/png"
    manifest = (await client.get("/manifest.webmanifest")).json()
    icon = await client.get(manifest["icons"][0]["src"])
    assert icon.status_code == 200
    drawn = Image.open(io.BytesIO(icon.content)).convert("RGB")
    assert drawn.getpixel((drawn.width // 2, drawn.height // 2)) == (250, 200, 0)  # the logo from the bucket

    page = await client.get("/staff/admin/branding", headers={"Accept-Language": "en"})
    removed = await client.post(
        "/staff/admin/branding/remove-logo", data={"_csrf_token": csrf_token(page.text)}, follow_redirects=False
    )
    assert removed.status_code == 303
    assert stored_keys(s3_endpoint, str(tenant.id)) == []


async def test_the_citizen_s_data_download_holds_the_files_from_the_bucket(
    client: Client,
    tenant: TenantFixture,
    s3_settings: Settings,
    s3_endpoint: str,
) -> None:
    review = await post_form(
        client, tenant, VALID_ANSWERS, key="s3-zip-case-0123456789ab", files=[("lamp.jpg", jpeg_bytes())]
    )
    assert (await submit_from_review(client, tenant, review.text)).status_code == 303
    [stored] = stored_keys(s3_endpoint, str(tenant.id))
    await sign_in(client, s3_settings, tenant)
    answer = await client.get("/account/data.zip")
    assert answer.status_code == 200
    archive = zipfile.ZipFile(io.BytesIO(answer.content))
    [request] = json.loads(archive.read("data.json"))["requests"]
    [listed] = request["attachments"]
    photo = archive.read(listed["file"])
    assert photo == s3_client(s3_endpoint).get_object(Bucket=BUCKET, Key=stored)["Body"].read()


async def test_retention_deletes_the_objects_of_an_anonymised_case(
    client: Client,
    person: Person,
    tenant: TenantFixture,
    s3_settings: Settings,
    s3_endpoint: str,
) -> None:
    await _set_period(s3_settings, tenant, 30)
    await submit_case(client, tenant, key="s3-retention-0123456789ab")
    assert len(stored_keys(s3_endpoint, str(tenant.id))) == 1
    await clerk_closes(person, tenant)
    db = alchemy_config(s3_settings)
    try:
        later = datetime.datetime.now(datetime.UTC) + datetime.timedelta(days=31)
        assert await anonymise_expired(db, storage_for(s3_settings), now=later) >= 1
    finally:
        await db.get_engine().dispose()
    assert stored_keys(s3_endpoint, str(tenant.id)) == []
