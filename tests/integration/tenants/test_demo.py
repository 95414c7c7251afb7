"""The demo towns are built from the standard catalogue; the demo itself defines no service."""

from __future__ import annotations

import asyncio
import secrets
from pathlib import Path

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import select

from backend.accounts.models import Department, DepartmentMember, Membership, User
from backend.app import create_app
from backend.cases.models import Case
from backend.catalogue.models import FormVersion, Service
from backend.catalogue.schemas import parse_definition
from backend.catalogue.templates import standard_catalogue
from backend.core.db import alchemy_config, unscoped_session
from backend.core.migrate import upgrade
from backend.demo import TENANTS, load_demo
from backend.settings import Settings
from backend.tenants.models import Tenant
from tests.conftest import TEST_SECRET


async def test_demo_towns_offer_their_services_from_the_standard_templates(tmp_path: Path) -> None:
    # The demo loads only into an empty database: its own SQLite file, whatever the suite runs on.
    settings = Settings(
        env="development", data_dir=tmp_path, base_domain="localhost", secret_key=TEST_SECRET, https=False,
        run_worker=False,
    ).with_defaults()  # fmt: skip
    await asyncio.to_thread(upgrade, settings.database_url)
    assert await load_demo(settings)
    db = alchemy_config(settings)
    try:
        async with unscoped_session(db) as session:
            rows = (
                await session.execute(
                    select(Tenant.slug, Tenant.state, Service, FormVersion)
                    .join(Service, Service.tenant_id == Tenant.id)
                    .join(FormVersion, FormVersion.id == Service.current_form_id)
                    .order_by(Tenant.slug, Service.position)
                )
            ).all()
            routing = (
                await session.execute(
                    select(Tenant.slug, Department.name, Service.slug)
                    .join(Department, Department.tenant_id == Tenant.id)
                    .join(Service, Service.department_id == Department.id)
                    .order_by(Tenant.slug, Department.name)
                )
            ).all()
            roles = (
                await session.execute(
                    select(User.email, Membership.role).join(Membership, Membership.user_id == User.id)
                )
            ).all()
            clerk_departments = list(
                await session.scalars(
                    select(Department.name)
                    .join(DepartmentMember, DepartmentMember.department_id == Department.id)
                    .join(User, User.id == DepartmentMember.user_id)
                    .where(User.email == "clerk@musterstadt.example")
                )
            )
    finally:
        await db.get_engine().dispose()
    # Two departments per town, every service routed to one of them; a supervisor beside clerk and admin.
    for town in TENANTS:
        routed = {(d, s) for t, d, s in routing if t == town.slug}
        assert {d for d, _ in routed} == {"Bauhof", "Bürgerbüro"}
        assert sorted(s for _, s in routed) == sorted(a.template for a in town.services)
        assert (f"supervisor@{town.slug}.example", "supervisor") in roles
    assert clerk_departments == ["Bauhof"]
    offered = {town.slug: [a.template for a in town.services] for town in TENANTS}
    assert {slug: [s.slug for t, _, s, _ in rows if t == slug] for slug in offered} == offered
    catalogue = standard_catalogue()
    for _town, state, service, _ in rows:
        t = catalogue[service.slug]
        assert (service.template_slug, service.template_version) == (t.slug, t.version)
        assert service.name == t.name and service.keywords == t.keywords and state in ("NW", "BW")

    def field(town: str, slug: str, name: str):  # type: ignore[no-untyped-def]
        [form] = [f for t, _, s, f in rows if t == town and s.slug == slug]
        return parse_definition(form.definition).field(name)

    # What each town words differently survives adoption; everything else is the template's.
    assert field("musterstadt", "sperrmuell", "anzahl").max == 20
    assert field("beispieldorf", "sperrmuell", "anzahl").max == 10
    assert field("beispieldorf", "sperrmuell", "anzahl").help["de"] == "Höchstens 10 Teile."
    [dog] = [s for t, _, s, _ in rows if t == "beispieldorf" and s.slug == "hundeanmeldung"]
    assert dog.fees["de"] == "60,00 € pro Jahr"
    [certificate] = [s for t, _, s, _ in rows if t == "musterstadt" and s.slug == "meldebescheinigung"]
    assert certificate.description["de"].endswith(
        "frühere Anschriften. Das Bürgerbüro im Rathaus öffnet Mo–Fr ab 8 Uhr."
    )

    async with AsyncTestClient(create_app(settings), base_url="http://musterstadt.localhost") as c:
        home = await c.get("/")
        assert home.status_code == 200 and "Stadt Musterstadt" in home.text and "Straßenlaterne defekt" in home.text
        form = await c.get("/s/bewohnerparkausweis/form")
        assert form.status_code == 200 and "Zone A – Altstadt" in form.text


async def test_the_demo_loads_on_postgresql_too(settings: Settings, tmp_path: Path) -> None:
    """On PostgreSQL a case is written by one SQL statement, which sees the database, not the session: the demo's
    services must be sent to with the departments they were routed to (the templates' own ones are gone)."""
    url = settings.database_url
    if not url.startswith("postgresql"):
        return  # the test above loads it into SQLite
    import asyncpg

    base, _, name = url.rpartition("/")
    demo_db = f"{name}_demo_{secrets.token_hex(4)}"
    admin = await asyncpg.connect(base.replace("postgresql+asyncpg://", "postgresql://") + "/postgres")
    try:
        await admin.execute(f'CREATE DATABASE "{demo_db}"')
    except asyncpg.InsufficientPrivilegeError:
        await admin.close()
        pytest.skip("the test database's user may not create another database (RATHAUS_TEST_POSTGRES_URL)")
    demo = Settings(
        env="development", data_dir=tmp_path, base_domain="localhost", secret_key=TEST_SECRET, https=False,
        run_worker=False, database_url=f"{base}/{demo_db}",
    ).with_defaults()  # fmt: skip
    try:
        await asyncio.to_thread(upgrade, demo.database_url)
        assert await load_demo(demo)
        db = alchemy_config(demo)
        try:
            async with unscoped_session(db) as session:
                cases = list(await session.scalars(select(Case)))
                routed = dict((await session.execute(select(Service.id, Service.department_id))).tuples().all())
        finally:
            await db.get_engine().dispose()
        assert cases and all(c.department_id == routed[c.service_id] for c in cases)
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{demo_db}" WITH (FORCE)')
        await admin.close()
