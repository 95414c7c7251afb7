"""The admins' page of undelivered notifications shows only their own municipality's."""

from __future__ import annotations

from sqlalchemy import update

from backend.core.db import alchemy_config, unscoped_session
from backend.notifications.models import OutboxMessage
from backend.settings import Settings
from tests.conftest import Person
from tests.factories import TenantFixture
from tests.helpers import Client, login, submit_case


async def dead_delivery(settings: Settings, tenant: TenantFixture, client: Client, clerk_of, marker: str) -> None:
    """A case of this municipality whose e-mail notification failed for good, with ``marker`` as its error."""
    await submit_case(client, tenant, photo=False)
    await (await clerk_of(tenant)).set_status("in_review")
    db = alchemy_config(settings)
    try:
        async with unscoped_session(db) as session:
            await session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.tenant_id == tenant.id)
                .values(status="dead", attempts=8, last_error=marker)
            )
    finally:
        await db.get_engine().dispose()


async def test_undelivered_notifications_page_lists_only_this_municipalitys_rows(
    client: Client, tenant: TenantFixture, other_tenant: TenantFixture, person: Person, clerk_of, settings: Settings
) -> None:
    await dead_delivery(settings, tenant, client, clerk_of, "mailbox-of-this-municipality-gone")
    async with person(other_tenant.host) as citizen:
        await dead_delivery(settings, other_tenant, citizen, clerk_of, "mailbox-of-another-municipality-gone")

    async with person(tenant.host) as admin:
        await login(admin, tenant.admin_email, tenant.password)
        page = await admin.get("/staff/deliveries")
    assert page.status_code == 200
    assert "mailbox-of-this-municipality-gone" in page.text
    assert "mailbox-of-another-municipality-gone" not in page.text

    async with person(other_tenant.host) as admin:
        await login(admin, other_tenant.admin_email, other_tenant.password)
        page = await admin.get("/staff/deliveries")
    assert "mailbox-of-another-municipality-gone" in page.text
    assert "mailbox-of-this-municipality-gone" not in page.text


async def test_undelivered_notifications_page_is_for_admins_only(tenant: TenantFixture, person: Person) -> None:
    async with person(tenant.host) as clerk:
        await login(clerk, tenant.clerk_email, tenant.password)
        assert (await clerk.get("/staff/deliveries")).status_code == 403
