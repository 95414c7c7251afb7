"""A service's workflow on the pages: a report closes in one step, required messages, the service's own wording."""

# ruff: noqa: F811 - the notification tests' fixtures are imported, then named as parameters
from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

import pytest
from sqlalchemy import select, update

from backend.cases.models import Case
from backend.cases.services import Actor, CaseService, MessageRequired
from backend.catalogue.models import Service
from backend.core.db import alchemy_config, tenant_session, unscoped_session
from backend.core.storage import LocalStorage
from backend.notifications.delivery import Deliverer
from backend.notifications.models import OutboxMessage
from backend.settings import Settings
from backend.tenants.models import Tenant
from backend.tenants.services import to_context
from tests.conftest import Person, csrf_token
from tests.factories import TenantFixture
from tests.helpers import Client, login, staff_post
from tests.integration.notifications.conftest import (  # noqa: F401 - fixtures
    FAST,
    clerk_of,
    deliverer,
    empty_outbox,
    follow,
    outbox,
    push,
    submit_case,
)
from tests.integration.notifications.test_email import Inbox, smtp  # noqa: F401 - the in-process SMTP server
from tests.pushservice import PushService

LABELS = {"in_review": {"de": "Wird vor Ort angeschaut", "en": "Being looked at on site"}}


async def set_workflow(settings: Settings, tenant: TenantFixture, flow: dict[str, Any] | None) -> None:
    db = alchemy_config(settings)
    try:
        async with unscoped_session(db) as session:
            await session.execute(
                update(Service)
                .where(Service.tenant_id == tenant.id, Service.slug == tenant.service_slug)
                .values(workflow=flow)
            )
    finally:
        await db.get_engine().dispose()


async def status_of(settings: Settings, tenant: TenantFixture) -> list[str]:
    db = alchemy_config(settings)
    try:
        async with unscoped_session(db) as session:
            return list(await session.scalars(select(Case.status).where(Case.tenant_id == tenant.id)))
    finally:
        await db.get_engine().dispose()


def status_options(html: str) -> set[str]:
    select_ = re.search(r'<select id="to_status".*?</select>', html, re.S)
    assert select_, "the case page offers a status change"
    return set(re.findall(r'<option value="([a-z_]+)"', select_.group(0)))


async def test_a_report_is_completed_in_one_step_from_the_case_page(
    client: Client,
    tenant: TenantFixture,
    clerk_of: Any,
    settings: Settings,
) -> None:
    await set_workflow(settings, tenant, {"preset": "report"})
    tracking = await submit_case(client, tenant, photo=False)
    clerk = await clerk_of(tenant)
    page = await clerk.client.get(clerk.case_url)
    assert {"in_review", "in_progress", "completed", "rejected"} <= status_options(page.text)
    done = await clerk.set_status("completed", "Die Laterne leuchtet wieder.")
    assert done.status_code == 303, done.text
    assert await status_of(settings, tenant) == ["completed"]
    citizen_page = (await client.get(tracking)).text
    assert "Erledigt" in citizen_page and "Die Laterne leuchtet wieder." in citizen_page


async def test_an_application_keeps_its_review_step(
    client: Client,
    tenant: TenantFixture,
    clerk_of: Any,
    settings: Settings,
) -> None:
    await set_workflow(settings, tenant, {"preset": "application"})
    await submit_case(client, tenant, photo=False)
    clerk = await clerk_of(tenant)
    assert status_options((await clerk.client.get(clerk.case_url)).text) == {"in_review", "rejected"}
    refused = await clerk.set_status("completed", "Erledigt.")
    assert refused.status_code == 409
    assert await status_of(settings, tenant) == ["submitted"]


async def test_a_status_that_needs_a_message_is_refused_without_one(
    client: Client,
    tenant: TenantFixture,
    clerk_of: Any,
    settings: Settings,
) -> None:
    await submit_case(client, tenant, photo=False)
    clerk = await clerk_of(tenant)
    refused = await clerk.set_status("rejected", "   ")
    assert refused.status_code == 422
    assert "error-summary" in refused.text
    assert "Abgelehnt" in refused.text, "the error names the status that needs a message"
    assert await status_of(settings, tenant) == ["submitted"]
    # The service's own choice: a report may be rejected without a word, but completed only with one.
    await set_workflow(settings, tenant, {"preset": "report", "message_required": ["completed"]})
    refused = await clerk.set_status("completed", "")
    assert refused.status_code == 422
    assert await status_of(settings, tenant) == ["submitted"]
    assert (await clerk.set_status("completed", "Repariert.")).status_code == 303
    assert await status_of(settings, tenant) == ["completed"]


async def test_a_rejection_without_a_message_is_refused_by_the_service_itself(
    client: Client, tenant: TenantFixture, settings: Settings
) -> None:
    """The check sits where statuses change, not only in the page: no other caller gets around it."""
    await submit_case(client, tenant, photo=False)
    db = alchemy_config(settings)
    try:
        async with tenant_session(db, tenant.id) as session:
            ctx = to_context(await session.get(Tenant, tenant.id))  # type: ignore[arg-type]
            cases = CaseService(session, ctx, LocalStorage(settings.uploads_dir))
            case_id = await session.scalar(select(Case.id).where(Case.tenant_id == tenant.id))
            with pytest.raises(MessageRequired):
                await cases.change_status(case_id, "rejected", Actor("staff", None, "Clara"), "")
    finally:
        await db.get_engine().dispose()


async def test_the_services_wording_reaches_the_tracking_page_my_requests_push_and_email(
    client: Client,
    tenant: TenantFixture,
    push: PushService,
    deliverer: Deliverer,
    clerk_of: Any,
    settings: Settings,
    smtp: tuple[Inbox, int],
) -> None:
    await set_workflow(settings, tenant, {"preset": "report", "labels": LABELS})
    followed = await submit_case(client, tenant, key="followed-case-0123456789", photo=False)
    device = push.subscribe()
    assert (await follow(client, followed, device)).status_code == 201
    mailed = await submit_case(client, tenant, key="mailed-case-01234567890", photo=False)
    for tracking in (followed, mailed):
        ref = re.search(r"<strong>(\d{4}-\d{5})</strong>", (await client.get(tracking)).text).group(1)  # type: ignore[union-attr]
        clerk = await clerk_of(tenant, ref)
        assert (await clerk.set_status("in_review")).status_code == 303

    page = (await client.get(followed)).text
    assert "Wird vor Ort angeschaut" in page and "Wird geprüft" not in page
    token = followed.rsplit("/", 1)[1]
    statuses = (await client.post("/my-requests/status", json={"tokens": [token]})).json()
    assert statuses[token]["label"] == "Wird vor Ort angeschaut"

    await deliverer.run_once()
    [got] = push.delivered(device)
    assert got.payload is not None and got.payload["body"].endswith("ist jetzt: Wird vor Ort angeschaut")

    [mail_row] = [r for r in await outbox(settings, tenant_id=tenant.id) if r.channel == "email"]
    assert "Wird vor Ort angeschaut" in mail_row.payload["body"]
    inbox, port = smtp
    mailing = replace(settings, smtp_host="127.0.0.1", smtp_port=port, smtp_security="none")
    db = alchemy_config(settings)
    async with unscoped_session(db) as session:  # sent once more, now over SMTP
        await session.execute(update(OutboxMessage).where(OutboxMessage.id == mail_row.id).values(status="pending"))
    await db.get_engine().dispose()
    worker = Deliverer(alchemy_config(mailing), mailing, policy=FAST)
    try:
        await worker.run_once()
    finally:
        await worker.aclose()
        await worker.db.get_engine().dispose()
    [mail] = inbox.messages
    assert "Wird vor Ort angeschaut" in " ".join(mail["Subject"].split())


async def test_the_admin_chooses_the_workflow_on_the_services_settings_page(
    person: Person, client: Client, tenant: TenantFixture, settings: Settings
) -> None:
    db = alchemy_config(settings)
    async with unscoped_session(db) as session:
        service_id = await session.scalar(
            select(Service.id).where(Service.tenant_id == tenant.id, Service.slug == tenant.service_slug)
        )
    await db.get_engine().dispose()
    url = f"/staff/admin/services/{service_id}"
    async with person(tenant.host) as admin:
        await login(admin, tenant.admin_email, tenant.password)
        page = await admin.get(url)
        assert page.status_code == 200
        assert 'name="workflow_preset" value="report"' in page.text
        assert 'name="message_required" value="rejected" checked' in page.text, "the defaults are shown"
        fields = dict(re.findall(r'<input id="([a-z_]+)" name="\1" type="text" value="([^"]*)"', page.text))
        form = {name: value for name, value in fields.items()}
        form |= {
            name: re.search(rf'<textarea id="{name}" name="{name}"[^>]*>([^<]*)</textarea>', page.text).group(1)  # type: ignore[union-attr]
            for name in ("description_de", "description_en", "fees_de", "fees_en")
        }
        too_long = "x" * 61
        data = {
            **form,
            "workflow_preset": "report",
            "message_required": ["completed"],
            "status_completed_de": "Repariert",
            "status_completed_en": too_long,
        }
        refused = await admin.post(url, data={"_csrf_token": csrf_token(page.text), **data})
        assert refused.status_code == 422
        assert 'href="#status_completed_en"' in refused.text, "the summary links to the field"
        assert 'value="Repariert"' in refused.text, "nothing typed is lost"
        data["status_completed_en"] = "Repaired"
        saved = await admin.post(url, data={"_csrf_token": csrf_token(refused.text), **data}, follow_redirects=False)
        assert saved.status_code == 303, saved.text
        shown = (await admin.get(url)).text
        checked = re.findall(r'<input type="radio"[^>]*name="workflow_preset" value="(\w+)"[^>]*checked', shown)
        assert checked == ["report"], "the chosen preset is checked"
        assert 'id="status_completed_de" name="status_completed_de" type="text" lang="de" value="Repariert"' in shown
    async with unscoped_session(db := alchemy_config(settings)) as session:
        stored = await session.scalar(select(Service.workflow).where(Service.id == service_id))
    await db.get_engine().dispose()
    assert stored == {
        "preset": "report",
        "message_required": ["completed"],
        "labels": {"completed": {"de": "Repariert", "en": "Repaired"}},
    }
    await submit_case(client, tenant, photo=False)
    async with person(tenant.host) as clerk:
        await login(clerk, tenant.clerk_email, tenant.password)
        case_url = re.search(r'href="(/staff/cases/[0-9a-f-]{36})"', (await clerk.get("/staff")).text).group(1)  # type: ignore[union-attr]
        assert "completed" in status_options((await clerk.get(case_url)).text)
        done = await staff_post(clerk, case_url, case_url + "/status", {"to_status": "completed", "message": "Fertig."})
        assert done.status_code == 303
