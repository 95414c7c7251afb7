"""A municipality with two departments for the case-handling tests.

The factory's municipality routes its street-light service to the department "Straßenbetrieb", where Clara
Clerk works. Here it gets a second department, "Bürgerbüro", with a parking service and its own clerk
(Bernd), a supervisor (Sabine) and a deactivated clerk (Dora, of the Straßenbetrieb).
"""

from __future__ import annotations

import dataclasses
import re
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from backend.accounts.departments import DepartmentService
from backend.accounts.models import User
from backend.accounts.services import AccountService
from backend.accounts.staff import StaffService
from backend.cases.models import Case, CaseEvent
from backend.catalogue.services import CatalogueService
from backend.core.db import alchemy_config, tenant_session, unscoped_session
from backend.settings import Settings
from backend.tenants.services import TenantService, to_context
from tests.conftest import csrf_token
from tests.factories import DEPARTMENT, PASSWORD, REPORT_FORM, TenantFixture
from tests.helpers import Client, submit_case

PARKING = "parking"


@dataclass(frozen=True)
class Town:
    tenant: TenantFixture
    streets: str  # the department of the street-light service (Clara's)
    office: str  # the Bürgerbüro (Bernd's), with the parking service
    parking_id: str
    clerk_id: str
    admin_id: str
    bernd_id: str
    sabine_id: str
    dora_id: str  # deactivated
    bernd_email: str
    sabine_email: str

    @property
    def parking(self) -> TenantFixture:
        """The same municipality, its forms sent to the parking service (see tests.helpers)."""
        return dataclasses.replace(self.tenant, service_slug=PARKING)


async def make_town(settings: Settings, tenant: TenantFixture) -> Town:
    db = alchemy_config(settings)
    slug = tenant.slug
    try:
        async with tenant_session(db, tenant.id) as session:
            ctx = to_context(await TenantService(session).by_slug(slug))  # type: ignore[arg-type]
            names = {"de": "Anwohnerparken", "en": "Resident parking"}
            parking = await CatalogueService(session, ctx).create_service(
                slug=PARKING, category=names, name=names, form=REPORT_FORM
            )
            accounts = AccountService(session, ctx)
            bernd = await accounts.add_staff(f"bernd@{slug}.example", PASSWORD, "Bernd Büro", "clerk")
            sabine = await accounts.add_staff(f"supervisor@{slug}.example", PASSWORD, "Sabine Super", "supervisor")
            dora = await accounts.add_staff(f"dora@{slug}.example", PASSWORD, "Dora Draußen", "clerk")
            departments = DepartmentService(session, ctx)
            office = await departments.create("Bürgerbüro")
            await departments.save(office, "Bürgerbüro", [bernd.id], [parking.id])
            streets = await departments.named(DEPARTMENT)
            await departments.set_departments_of(dora.id, [streets.id])
            await StaffService(session, ctx).set_active(dora.id, False)
            users = dict((await session.execute(select(User.email, User.id))).tuples().all())
        return Town(
            tenant=tenant,
            streets=str(streets.id),
            office=str(office.id),
            parking_id=str(parking.id),
            clerk_id=str(users[tenant.clerk_email]),
            admin_id=str(users[tenant.admin_email]),
            bernd_id=str(bernd.id),
            sabine_id=str(sabine.id),
            dora_id=str(dora.id),
            bernd_email=f"bernd@{slug}.example",
            sabine_email=f"supervisor@{slug}.example",
        )
    finally:
        await db.get_engine().dispose()


async def case_of(settings: Settings, tracking: str) -> Case:
    """The case behind a tracking path /r/<token>, as it is in the database now."""
    db = alchemy_config(settings)
    try:
        async with unscoped_session(db) as session:
            found = await session.scalar(select(Case).where(Case.tracking_token == tracking.rsplit("/", 1)[-1]))
            assert found is not None
            return found  # type: ignore[no-any-return]
    finally:
        await db.get_engine().dispose()


async def events_of(settings: Settings, case_id: uuid.UUID) -> list[CaseEvent]:
    db = alchemy_config(settings)
    try:
        async with unscoped_session(db) as session:
            rows = await session.scalars(
                select(CaseEvent).where(CaseEvent.case_id == case_id).order_by(CaseEvent.created_at, CaseEvent.id)
            )
            return list(rows)
    finally:
        await db.get_engine().dispose()


async def new_case(client: Client, tenant: TenantFixture, settings: Settings, photo: bool = False) -> Case:
    tracking = await submit_case(client, tenant, key=f"handling-{uuid.uuid4().hex}", photo=photo)
    return await case_of(settings, tracking)


def version_in(html: str) -> str:
    found = re.search(r'name="version" value="(\d+)"', html)
    assert found, "the page's forms carry no version"
    return found.group(1)


async def act(client: Client, case_id: uuid.UUID, action: str, data: dict[str, Any] | None = None) -> Any:
    """Open the case page and send one of its forms, with the page's CSRF token and version."""
    page = await client.get(f"/staff/cases/{case_id}")
    assert page.status_code == 200, page.status_code
    form = {"_csrf_token": csrf_token(page.text), "version": version_in(page.text), **(data or {})}
    return await client.post(f"/staff/cases/{case_id}/{action}", data=form, follow_redirects=False)
