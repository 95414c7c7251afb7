"""Anonymous uploads are bounded: count, size, pixels and rate are checked before anything is stored, photos are
cleaned off the event loop, and unsent draft files expire with their stored blobs."""

from __future__ import annotations

import asyncio
import datetime
import io
import threading
from pathlib import Path

import pytest
from litestar import Litestar
from PIL import Image
from sqlalchemy import func, select

from backend.cases import intake
from backend.cases.cleanup import purge_expired_drafts
from backend.cases.models import Attachment, Draft
from backend.core.db import alchemy_config, tenant_session
from tests.conftest import Person
from tests.factories import TenantFixture, jpeg_bytes
from tests.helpers import VALID_ANSWERS, Client, post_form, submit_case
from tests.integration.cases.conftest import Live, browser, csrf


def _stored(app: Litestar, tenant: TenantFixture) -> list[Path]:
    return list((app.state.settings.uploads_dir / str(tenant.id)).glob("*"))


def _png(width: int, height: int) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (width, height), (30, 140, 60)).save(buf, format="PNG")
    return buf.getvalue()


async def _post_pngs(client: Client, tenant: TenantFixture, pngs: list[bytes]) -> object:
    from tests.helpers import open_form

    token = await open_form(client, tenant)
    return await client.post(
        f"/s/{tenant.service_slug}/form",
        data={"_csrf_token": token, "idempotency_key": "pixels-key-0123456789", **VALID_ANSWERS},
        files=[("photos", (f"p{i}.png", data, "image/png")) for i, data in enumerate(pngs)],
    )


async def test_an_oversized_file_stops_the_step_before_anything_is_stored(
    client: Client, tenant: TenantFixture, app: Litestar
) -> None:
    too_big = b"\xff\xd8" + b"\x00" * (app.state.settings.max_upload_bytes + 10)
    page = await post_form(client, tenant, VALID_ANSWERS, files=[("ok.jpg", jpeg_bytes()), ("big.jpg", too_big)])
    assert page.status_code == 200
    assert "big.jpg" in page.text and 'id="photos-error"' in page.text
    assert not _stored(app, tenant)


async def test_a_step_over_the_pixel_cap_is_refused_with_a_clear_message_and_nothing_stored(
    client: Client, tenant: TenantFixture, app: Litestar
) -> None:
    big = _png(4500, 4500)  # 20.25 MP each, three of them: over the 60 MP of one step
    page = await _post_pngs(client, tenant, [big, big, big])
    assert page.status_code == 200  # type: ignore[attr-defined]
    text = page.text  # type: ignore[attr-defined]
    assert 'id="photos-error"' in text
    assert "60 megapixels" in text or "60 Megapixel" in text
    assert not _stored(app, tenant)


async def test_health_keeps_answering_while_a_large_photo_is_cleaned(
    live: Live, tenant: TenantFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The cleaner holds until a health check has been answered. Were the cleaning on the event loop,
    # the health check could not be answered while it holds: it would wait for the cleaner's timeout.
    cleaning, answered = threading.Event(), threading.Event()
    held: list[bool] = []
    real_clean = intake.clean_upload

    def held_clean(*args: object, **kwargs: object) -> object:
        cleaning.set()
        held.append(answered.wait(timeout=15))
        return real_clean(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(intake, "clean_upload", held_clean)
    with live() as server:
        async with browser(server, tenant) as citizen, browser(server, tenant) as monitor:
            token = await csrf(citizen, f"/s/{tenant.service_slug}/form")
            upload = asyncio.create_task(
                citizen.post(
                    f"/s/{tenant.service_slug}/form",
                    data={"_csrf_token": token, "idempotency_key": "health-key-0123456789", **VALID_ANSWERS},
                    files=[("photos", ("big.png", _png(1200, 900), "image/png"))],
                )
            )
            assert await asyncio.to_thread(cleaning.wait, 30)
            assert (await monitor.get("/health")).status_code == 200
            answered.set()
            page = await upload
    assert page.status_code == 303 and "/review/" in page.headers["location"]
    assert held == [True]


async def test_too_many_uploads_from_one_client_get_a_429_page_that_keeps_the_answers(
    client: Client, tenant: TenantFixture, app: Litestar, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(intake, "UPLOAD_FILES_PER_WINDOW", 3)
    first = await post_form(
        client, tenant, {**VALID_ANSWERS, "what": ""}, key="rate-key-0123456789abc", files=[("a.jpg", jpeg_bytes())] * 2
    )
    assert first.status_code == 200
    stored = _stored(app, tenant)
    assert len(stored) == 2
    limited = await post_form(
        client,
        tenant,
        {**VALID_ANSWERS, "what": "Laterne aus"},
        key="rate-key-0123456789abc",
        files=[("b.jpg", jpeg_bytes())] * 2,
    )
    assert limited.status_code == 429
    assert "many files in a short time" in limited.text or "in kurzer Zeit viele Dateien" in limited.text
    assert 'value="Hauptstraße 12"' in limited.text and "Laterne aus" in limited.text
    assert _stored(app, tenant) == stored


async def test_upload_limits_count_per_municipality(
    client: Client,
    tenant: TenantFixture,
    other_tenant: TenantFixture,
    person: Person,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(intake, "UPLOAD_FILES_PER_WINDOW", 1)
    assert (await post_form(client, tenant, VALID_ANSWERS, files=[("a.jpg", jpeg_bytes())])).status_code == 200
    async with person(other_tenant.host) as elsewhere:
        page = await post_form(elsewhere, other_tenant, VALID_ANSWERS, files=[("a.jpg", jpeg_bytes())])
    assert page.status_code == 200


async def test_expired_draft_files_are_removed_with_their_blobs_and_sent_ones_stay(
    client: Client, tenant: TenantFixture, app: Litestar
) -> None:
    await post_form(client, tenant, VALID_ANSWERS, key="left-behind-0123456789", files=[("a.jpg", jpeg_bytes())])
    await submit_case(client, tenant, key="sent-key-0123456789abc")
    assert len(_stored(app, tenant)) == 2
    db = alchemy_config(app.state.settings)  # the app's engine belongs to the test client's event loop

    assert await purge_expired_drafts(db, app.state.storage) == 0  # nothing is old yet
    later = datetime.datetime.now(datetime.UTC) + datetime.timedelta(hours=25)
    assert await purge_expired_drafts(db, app.state.storage, now=later) >= 1  # other tests' drafts too

    assert len(_stored(app, tenant)) == 1
    async with tenant_session(db, tenant.id) as session:
        left = await session.scalar(select(func.count(Attachment.id)).where(Attachment.case_id.is_(None)))
        sent = await session.scalar(select(func.count(Attachment.id)).where(Attachment.case_id.is_not(None)))
        drafts = await session.scalar(select(func.count(Draft.id)))
    await db.get_engine().dispose()
    assert (left, sent, drafts) == (0, 1, 0)
