"""Retention: a municipality's closed cases are anonymised after its period without activity; what the statistics
need stays, personal data goes (contact, texts, place, files); open cases, recent ones and other municipalities'
are left alone. Admins set the period at /staff/admin/retention."""

from __future__ import annotations

import datetime
import re

from sqlalchemy import select, update

from backend.cases.models import Attachment, Case, CaseEvent, CaseFeedback
from backend.cases.retention import anonymise_expired
from backend.core.db import alchemy_config, unscoped_session
from backend.core.storage import LocalStorage
from backend.settings import Settings
from backend.tenants.models import Tenant
from tests.conftest import Person, csrf_token
from tests.factories import TenantFixture
from tests.helpers import Client, login, staff_post, submit_case
from tests.integration.cases.test_feedback import answer, clerk_closes

LATER = datetime.timedelta(days=31)


async def _set_period(settings: Settings, tenant: TenantFixture, days: int | None) -> None:
    db = alchemy_config(settings)
    try:
        async with unscoped_session(db) as session:
            await session.execute(update(Tenant).where(Tenant.id == tenant.id).values(retention_days=days))
            await session.commit()
    finally:
        await db.get_engine().dispose()


async def _anonymise(settings: Settings, now: datetime.datetime) -> int:
    db = alchemy_config(settings)
    try:
        return await anonymise_expired(db, LocalStorage(settings.uploads_dir), now=now)
    finally:
        await db.get_engine().dispose()


async def _case(
    settings: Settings, tracking: str
) -> tuple[Case, list[CaseEvent], list[Attachment], list[CaseFeedback]]:
    db = alchemy_config(settings)
    try:
        async with unscoped_session(db) as session:
            case = await session.scalar(select(Case).where(Case.tracking_token == tracking.rsplit("/", 1)[1]))
            assert case is not None
            events = list(await session.scalars(select(CaseEvent).where(CaseEvent.case_id == case.id)))
            files = list(await session.scalars(select(Attachment).where(Attachment.case_id == case.id)))
            feedback = list(await session.scalars(select(CaseFeedback).where(CaseFeedback.case_id == case.id)))
            return case, events, files, feedback
    finally:
        await db.get_engine().dispose()


async def test_a_closed_case_loses_its_personal_data_after_the_period_and_keeps_its_figures(
    client: Client, person: Person, settings: Settings, tenant: TenantFixture, other_tenant: TenantFixture
) -> None:
    await _set_period(settings, tenant, 30)
    closed = await submit_case(client, tenant, key="retention-closed-0123456789")
    async with person(tenant.host) as clerk:
        await login(clerk, tenant.clerk_email, tenant.password)
        case_url = re.search(r'href="(/staff/cases/[0-9a-f-]{36})"', (await clerk.get("/staff")).text).group(1)  # type: ignore[union-attr]
        message = {"visibility": "public", "body": "Der Bauhof kommt am Montag zur Hauptstraße."}
        assert (await staff_post(clerk, case_url, case_url + "/messages", message)).status_code == 303
    await clerk_closes(person, tenant, path=case_url)
    assert (await answer(client, closed, resolved="yes", rating="4", comment="Danke, Anna")).status_code == 303
    still_open = await submit_case(client, tenant, key="retention-open-0123456789", photo=False)
    elsewhere = await submit_case(client, other_tenant, key="retention-elsewhere-0123456789", photo=False)
    before, _events, files, _feedback = await _case(settings, closed)
    assert files and all((settings.uploads_dir / f.storage_key).exists() for f in files)

    # Within the period nothing happens; after it, the closed case alone.
    assert await _anonymise(settings, datetime.datetime.now(datetime.UTC)) == 0
    assert await _anonymise(settings, datetime.datetime.now(datetime.UTC) + LATER) == 1
    after, events, left, feedback = await _case(settings, closed)
    assert after.anonymised_at is not None
    assert after.answers == {"kind": "dark"}, "the form's choices stay for the statistics"
    assert (after.location, after.contact_email, after.summary) == (None, None, "")
    assert after.search_text == after.reference.lower()
    assert (after.status, after.service_id, after.created_at) == (before.status, before.service_id, before.created_at)
    assert all(e.body == "" for e in events) and len(events) >= 4, "the steps stay, their texts go"
    assert not left and not any((settings.uploads_dir / f.storage_key).exists() for f in files)
    assert [(f.rating, f.resolved, f.comment) for f in feedback] == [(4, True, "")]
    page = (await client.get(closed)).text
    assert "Hauptstraße" not in page and "Bauhof" not in page and "anna@example.org" not in page

    for untouched in (still_open, elsewhere):
        case, _e, _f, _fb = await _case(settings, untouched)
        assert case.anonymised_at is None and case.contact_email == "anna@example.org"
    assert await _anonymise(settings, datetime.datetime.now(datetime.UTC) + LATER) == 0, "done once"


async def test_without_a_period_closed_cases_are_kept(
    client: Client, person: Person, settings: Settings, tenant: TenantFixture
) -> None:
    tracking = await submit_case(client, tenant, key="retention-kept-0123456789", photo=False)
    await clerk_closes(person, tenant)
    assert await _anonymise(settings, datetime.datetime.now(datetime.UTC) + datetime.timedelta(days=4000)) == 0
    case, _e, _f, _fb = await _case(settings, tracking)
    assert case.anonymised_at is None


async def test_admins_set_the_period_with_clear_errors_and_clerks_cannot(
    person: Person, settings: Settings, tenant: TenantFixture
) -> None:
    page = "/staff/admin/retention"
    async with person(tenant.host) as admin:
        admin.headers["Accept-Language"] = "en"
        await login(admin, tenant.admin_email, tenant.password)
        shown = await admin.get(page)
        assert shown.status_code == 200 and 'name="retention_days" type="number"' in shown.text
        for wrong, says in (("abc", "whole number"), ("10", "between 30 and 3650"), ("99999", "between 30 and 3650")):
            refused = await admin.post(page, data={"_csrf_token": csrf_token(shown.text), "retention_days": wrong})
            assert refused.status_code == 422 and says in refused.text, wrong
            assert f'value="{wrong}"' in refused.text, "what was typed stays"
        saved = await admin.post(
            page, data={"_csrf_token": csrf_token(shown.text), "retention_days": "365"}, follow_redirects=False
        )
        assert saved.status_code == 303
        assert 'value="365"' in (await admin.get(page)).text
        cleared = await admin.post(
            page, data={"_csrf_token": csrf_token(shown.text), "retention_days": ""}, follow_redirects=False
        )
        assert cleared.status_code == 303
        assert 'value=""' in (await admin.get(page)).text
    async with person(tenant.host) as clerk:
        await login(clerk, tenant.clerk_email, tenant.password)
        assert (await clerk.get(page)).status_code == 403
