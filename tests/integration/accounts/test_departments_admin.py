"""The departments page: create, rename, members, services routed to it, delete only when empty; standard
templates bring their department."""

from __future__ import annotations

import re
import uuid

import pytest
from sqlalchemy import select

from backend.accounts.models import Department
from backend.catalogue.models import Service
from backend.catalogue.services import CatalogueService
from backend.catalogue.templates import template
from backend.core.db import alchemy_config, tenant_session
from backend.settings import Settings
from backend.tenants.services import TenantService, to_context
from tests.factories import DEPARTMENT, TenantFixture
from tests.helpers import Client
from tests.integration.accounts.conftest import logged_in, post_page

LIST = "/staff/admin/departments"


@pytest.fixture(autouse=True)
def _english(client: Client) -> None:
    client.headers["Accept-Language"] = "en"


async def _create(client: Client, name: str) -> str:
    made = await post_page(client, LIST, LIST, {"name": name})
    assert made.status_code == 303, made.text
    found = re.search(r"/staff/admin/departments/([0-9a-f-]{36})", made.headers["location"])
    assert found
    return found.group(1)


async def _ids(client: Client, page: str, prefix: str) -> list[str]:
    return re.findall(rf'id="{prefix}-([0-9a-f-]{{36}})"', (await client.get(page)).text)


async def test_an_admin_creates_a_department_with_members_and_services(client: Client, tenant: TenantFixture) -> None:
    await logged_in(client, tenant.admin_email, tenant.password)
    page = f"{LIST}/{await _create(client, 'Bauhof')}"
    members = await _ids(client, page, "member")
    services = await _ids(client, page, "service")
    assert len(members) == 2 and len(services) == 1
    saved = await post_page(client, page, page, {"name": "Bauhof Nord", "members": members[:1], "services": services})
    assert saved.status_code == 303
    shown = (await client.get(page)).text
    assert 'value="Bauhof Nord"' in shown
    assert f'value="{members[0]}" checked' in shown and f'value="{services[0]}" checked' in shown
    listed = (await client.get(LIST)).text
    assert re.search(r"Bauhof Nord</a></td><td>1</td><td>1</td>", listed)


@pytest.mark.parametrize("name", ["", "   ", "x" * 121])
async def test_a_bad_name_is_refused_with_the_value_kept(client: Client, tenant: TenantFixture, name: str) -> None:
    await logged_in(client, tenant.admin_email, tenant.password)
    answer = await post_page(client, LIST, LIST, {"name": name})
    assert answer.status_code == 422 and 'id="name-error"' in answer.text
    assert f'value="{name.strip()[:121]}"' in answer.text


async def test_names_are_unique_regardless_of_case_also_when_renaming(client: Client, tenant: TenantFixture) -> None:
    await logged_in(client, tenant.admin_email, tenant.password)
    await _create(client, "Bauhof")
    twice = await post_page(client, LIST, LIST, {"name": "bauhof"})
    assert twice.status_code == 422 and "already a department" in twice.text
    other = f"{LIST}/{await _create(client, 'Bürgerbüro')}"
    renamed = await post_page(client, other, other, {"name": "BAUHOF"})
    assert renamed.status_code == 422 and 'value="BAUHOF"' in renamed.text


async def test_bad_member_or_service_ids_are_refused(client: Client, tenant: TenantFixture) -> None:
    await logged_in(client, tenant.admin_email, tenant.password)
    page = f"{LIST}/{await _create(client, 'Bauhof')}"
    for data in ({"members": ["nonsense"]}, {"services": [str(uuid.uuid4())]}):
        answer = await post_page(client, page, page, {"name": "Bauhof", **data})
        assert answer.status_code == 422 and 'id="members-error"' in answer.text


async def test_a_department_with_members_or_services_is_not_deleted_and_says_why(
    client: Client, tenant: TenantFixture
) -> None:
    await logged_in(client, tenant.admin_email, tenant.password)
    page = f"{LIST}/{await _create(client, 'Bauhof')}"
    members = await _ids(client, page, "member")
    await post_page(client, page, page, {"name": "Bauhof", "members": members[:1]})
    refused = await post_page(client, page, f"{page}/delete", {})
    assert refused.status_code == 422 and "still has 1 member(s)" in refused.text
    await post_page(client, page, page, {"name": "Bauhof"})
    deleted = await post_page(client, page, f"{page}/delete", {})
    assert deleted.status_code == 303
    assert (await client.get(page)).status_code == 404
    assert "Bauhof" not in (await client.get(LIST)).text


async def test_unknown_department_ids_are_404(client: Client, tenant: TenantFixture) -> None:
    await logged_in(client, tenant.admin_email, tenant.password)
    assert (await client.get(f"{LIST}/{uuid.uuid4()}")).status_code == 404


async def test_adopting_a_standard_service_routes_it_to_the_template_department(
    tenant: TenantFixture, settings: Settings
) -> None:
    db = alchemy_config(settings)
    try:
        async with tenant_session(db, tenant.id) as session:
            ctx = to_context(await TenantService(session).by_slug(tenant.slug))  # type: ignore[arg-type]
            catalogue = CatalogueService(session, ctx)
            pothole = await catalogue.adopt(template("schlagloch"))
            light = await catalogue.adopt(template("strassenlaterne-defekt"))
        async with tenant_session(db, tenant.id) as session:
            # Besides the factory's own department (tests.factories.DEPARTMENT), the template's, made once.
            [bauhof] = list(await session.scalars(select(Department).where(Department.name != DEPARTMENT)))
            assert bauhof.name == template("schlagloch").department == "Bauhof"
            routed = {s.slug: s.department_id for s in await session.scalars(select(Service))}
            assert routed[pothole.slug] == bauhof.id
            assert routed[light.slug] == bauhof.id, "a second service of the same department reuses it"
    finally:
        await db.get_engine().dispose()
