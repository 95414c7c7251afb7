"""A template update is offered, not applied; accepting it applies it.

The tests point the app at a catalogue folder of their own, adopt a template from it, then change the file
(as the platform does when it improves a standard service) and watch what the admin is offered.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import select

from backend.app import create_app
from backend.catalogue.models import FormVersion, Service
from backend.core.db import alchemy_config, tenant_session
from backend.settings import Settings
from tests.conftest import csrf_token
from tests.factories import TenantFixture
from tests.helpers import Client, login, submit_case

PAGE = "/staff/admin/catalogue"
UPDATE = f"{PAGE}/laterne/update"
EN = {"Accept-Language": "en"}

# A template with the test suite's report form, so tests.helpers can fill it in.
TEMPLATE = """
slug = "laterne"
department = "Bauhof"
processing_days = 5
keywords = "Laterne Licht"

[category]
de = "Straßen"
en = "Streets"

[name]
de = "Laterne melden"
en = "Report a lamp"

[summary]
de = "Eine dunkle Laterne melden."
en = "Report a dark lamp."

[description]
de = "Wir reparieren sie."
en = "We repair it."

[fees]
de = "kostenlos"
en = "free of charge"

[processing_time]
de = "etwa 1 Woche"
en = "about 1 week"

[[form.fields]]
name = "where"
type = "location"
required = true
label = { de = "Ort", en = "Place" }

[[form.fields]]
name = "what"
type = "textarea"
required = true
max_length = 500
label = { de = "Was ist kaputt?", en = "What is broken?" }

[[form.fields]]
name = "photos"
type = "file"
max_files = 3
label = { de = "Fotos", en = "Photos" }

[[form.fields]]
name = "kind"
type = "choice"
label = { de = "Art des Schadens", en = "Kind of damage" }
options = [
    { value = "dark", label = { de = "Leuchtet nicht", en = "Not lit" } },
    { value = "flicker", label = { de = "Flackert", en = "Flickers" } },
]

[[form.fields]]
name = "email"
type = "email"
contact = true
label = { de = "E-Mail für Rückfragen", en = "E-mail for updates" }
"""

NEW_FIELD = """
[[form.fields]]
name = "mast"
type = "text"
max_length = 20
label = { de = "Mastnummer", en = "Pole number" }
"""


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    folder = tmp_path / "standard"
    folder.mkdir()
    (folder / "laterne.toml").write_text(TEMPLATE, "utf-8")
    return folder


def change_template(folder: Path, *, fees: str = "5 Euro", field: bool = True) -> None:
    """The platform improves the template: new fees, a longer description field, one more field."""
    text = TEMPLATE.replace('de = "kostenlos"\nen = "free of charge"', f'de = "{fees}"\nen = "{fees}"')
    if field:
        text = text.replace("max_length = 500", "max_length = 800") + NEW_FIELD
    (folder / "laterne.toml").write_text(text, "utf-8")


@pytest.fixture
async def admin(settings: Settings, tenant: TenantFixture, folder: Path) -> AsyncIterator[Client]:
    app: Litestar = create_app(dataclasses.replace(settings, catalogue_dir=folder))
    async with AsyncTestClient(app, base_url=f"http://{tenant.host}") as client:
        assert (await login(client, tenant.admin_email, tenant.password)).status_code == 303
        page = await client.get(PAGE, headers=EN)
        adopted = await client.post(
            f"{PAGE}/laterne/adopt", data={"_csrf_token": csrf_token(page.text)}, follow_redirects=False
        )
        assert adopted.status_code == 303
        yield client


async def _service(settings: Settings, tenant: TenantFixture) -> tuple[Service, list[FormVersion]]:
    db = alchemy_config(settings)
    try:
        async with tenant_session(db, tenant.id) as session:
            service = await session.scalar(select(Service).where(Service.slug == "laterne"))
            assert service is not None
            versions = list(
                await session.scalars(
                    select(FormVersion).where(FormVersion.service_id == service.id).order_by(FormVersion.version)
                )
            )
            return service, versions
    finally:
        await db.get_engine().dispose()


async def _override_locally(settings: Settings, tenant: TenantFixture, **values: Any) -> None:
    """What the municipality words its own way (as its service editor would save it)."""
    db = alchemy_config(settings)
    try:
        async with tenant_session(db, tenant.id) as session:
            service = await session.scalar(select(Service).where(Service.slug == "laterne"))
            for key, value in values.items():
                setattr(service, key, value)
    finally:
        await db.get_engine().dispose()


def _card(html: str) -> str:
    match = re.search(r'<li class="panel" id="template-laterne">(.*?)</li>', html, re.S)
    assert match
    return match.group(1)


async def _decide(client: Client, decision: str, **extra: str) -> Any:
    page = await client.get(UPDATE, headers=EN)
    version = re.search(r'name="version" value="([0-9a-f]+)"', page.text)
    data = {"_csrf_token": csrf_token(page.text), "decision": decision, "version": version.group(1) if version else ""}
    return await client.post(UPDATE, data={**data, **extra}, headers=EN, follow_redirects=False)


async def test_a_template_update_is_offered_not_applied_and_accepting_it_applies_it(
    admin: Client, folder: Path, settings: Settings, tenant: TenantFixture
) -> None:
    citizen_tenant = dataclasses.replace(tenant, service_slug="laterne")
    tracking = await submit_case(admin, citizen_tenant, key="old-form-version-0123456789")
    assert "Adopted" in _card((await admin.get(PAGE, headers=EN)).text)
    await _override_locally(
        settings, tenant, fees={"de": "3 Euro", "en": "3 euros"}, processing_time={"de": "2 Tage", "en": "2 days"}
    )

    change_template(folder)
    card = _card((await admin.get(PAGE, headers=EN)).text)
    assert "Update available" in card and f'href="{UPDATE}"' in card
    # Offered, not applied: the service and its form are as before.
    service, versions = await _service(settings, tenant)
    assert service.fees == {"de": "3 Euro", "en": "3 euros"} and len(versions) == 1
    assert "Mastnummer" not in (await admin.get("/s/laterne/form")).text

    page = await admin.get(UPDATE, headers=EN)
    assert page.status_code == 200 and page.headers["cache-control"] == "no-store"
    what_changed = page.text[page.text.index("What changed") : page.text.index("would replace")]
    assert "Fees" in what_changed and "free of charge" in what_changed and "5 Euro" in what_changed
    assert "What is broken?" in what_changed and "Maximum length" in what_changed
    assert "500" in what_changed and "800" in what_changed
    assert "Pole number" in what_changed and "New in the standard service." in what_changed
    assert "Processing time" not in what_changed
    replaced = page.text[page.text.index("would replace") :]
    assert "3 euros" in replaced and "2 days" not in replaced  # only overrides of changed parts

    accepted = await _decide(admin, "accept")
    assert accepted.status_code == 303
    assert "was taken over" in (await admin.get(accepted.headers["location"], headers=EN)).text
    service, versions = await _service(settings, tenant)
    assert service.fees == {"de": "5 Euro", "en": "5 Euro"}
    assert service.processing_time == {"de": "2 Tage", "en": "2 days"}  # not changed by the template: kept
    assert [v.version for v in versions] == [1, 2] and service.current_form_id == versions[1].id
    assert "Mastnummer" in (await admin.get("/s/laterne/form")).text
    assert "Mastnummer" not in str(versions[0].definition)
    assert "Adopted" in _card((await admin.get(PAGE, headers=EN)).text)
    # The case made on the first version still shows, to the citizen and in the inbox.
    old_case = await admin.get(tracking)
    assert old_case.status_code == 200 and "Die Laterne leuchtet seit Tagen nicht." in old_case.text
    inbox = (await admin.get("/staff")).text
    case_link = re.search(r"/staff/cases/[0-9a-f-]{36}", inbox)
    assert case_link
    staff_view = await admin.get(case_link.group(0))
    assert staff_view.status_code == 200 and "Die Laterne leuchtet seit Tagen nicht." in staff_view.text


async def test_dismissing_keeps_the_content_until_the_template_changes_again(
    admin: Client, folder: Path, settings: Settings, tenant: TenantFixture
) -> None:
    change_template(folder)
    dismissed = await _decide(admin, "dismiss")
    assert dismissed.status_code == 303
    assert "not offered again" in (await admin.get(dismissed.headers["location"], headers=EN)).text
    assert "Update available" not in _card((await admin.get(PAGE, headers=EN)).text)
    service, versions = await _service(settings, tenant)
    assert service.fees["en"] == "free of charge" and len(versions) == 1
    # The page still lets the admin change their mind, without offering to dismiss again.
    page = await admin.get(UPDATE, headers=EN)
    assert "You chose to keep your content" in page.text and 'value="dismiss"' not in page.text

    change_template(folder, fees="7 Euro")
    assert "Update available" in _card((await admin.get(PAGE, headers=EN)).text)
    page = (await admin.get(UPDATE, headers=EN)).text
    assert "7 Euro" in page and "free of charge" in page  # compared with the content adopted


async def test_a_decision_on_an_outdated_page_or_a_wrong_decision_changes_nothing(
    admin: Client, folder: Path, settings: Settings, tenant: TenantFixture
) -> None:
    up_to_date = await admin.get(UPDATE, headers=EN)
    assert "up to date" in up_to_date.text and 'value="accept"' not in up_to_date.text
    assert (await _decide(admin, "accept")).status_code == 422
    change_template(folder)
    wrong = await _decide(admin, "maybe")
    assert wrong.status_code == 422 and "Please choose whether" in wrong.text
    page = await admin.get(UPDATE, headers=EN)
    token = csrf_token(page.text)
    change_template(folder, fees="9 Euro")  # changed again while the admin looked at the older update
    stale = await admin.post(
        UPDATE,
        data={"_csrf_token": token, "decision": "accept", "version": "0000000000000000"},
        headers=EN,
        follow_redirects=False,
    )
    assert stale.status_code == 409 and "changed while you were looking" in stale.text and "9 Euro" in stale.text
    service, versions = await _service(settings, tenant)
    assert service.fees["en"] == "free of charge" and len(versions) == 1


async def test_a_service_adopted_before_snapshots_is_compared_with_its_current_content(
    admin: Client, folder: Path, settings: Settings, tenant: TenantFixture
) -> None:
    await _override_locally(settings, tenant, template_snapshot=None, fees={"de": "3 Euro", "en": "3 euros"})
    change_template(folder, field=False)
    page = await admin.get(UPDATE, headers=EN)
    assert "compared with your service as it is now" in page.text
    assert "3 euros" in page.text and "5 Euro" in page.text and "Pole number" not in page.text
    assert (await _decide(admin, "accept")).status_code == 303
    service, versions = await _service(settings, tenant)
    assert service.fees == {"de": "5 Euro", "en": "5 Euro"} and service.template_snapshot is not None
    assert len(versions) == 1  # the form did not change: no new version


WORKFLOW = """
[workflow]
preset = "{preset}"
{extra}
"""


def with_workflow(preset: str, extra: str = "") -> str:
    """The template with a [workflow] table (before the form's fields, as TOML wants top-level tables)."""
    head, fields = TEMPLATE.split("[[form.fields]]", 1)
    return head + WORKFLOW.format(preset=preset, extra=extra) + "\n[[form.fields]]" + fields


async def test_adopting_copies_the_workflow_and_an_update_shows_and_takes_over_a_changed_one(
    settings: Settings, tenant: TenantFixture, folder: Path
) -> None:
    (folder / "laterne.toml").write_text(with_workflow("application"), "utf-8")
    app: Litestar = create_app(dataclasses.replace(settings, catalogue_dir=folder))
    async with AsyncTestClient(app, base_url=f"http://{tenant.host}") as admin:
        assert (await login(admin, tenant.admin_email, tenant.password)).status_code == 303
        page = await admin.get(PAGE, headers=EN)
        adopted = await admin.post(
            f"{PAGE}/laterne/adopt", data={"_csrf_token": csrf_token(page.text)}, follow_redirects=False
        )
        assert adopted.status_code == 303
        service, _versions = await _service(settings, tenant)
        assert service.workflow == {"preset": "application"}, "adopting copies the template's workflow"

        labels = 'labels = { completed = { de = "Repariert", en = "Repaired" } }'
        (folder / "laterne.toml").write_text(with_workflow("report", labels), "utf-8")
        assert "Update available" in _card((await admin.get(PAGE, headers=EN)).text)
        page = await admin.get(UPDATE, headers=EN)
        what_changed = page.text[page.text.index("What changed") :]
        assert "Workflow" in what_changed
        assert re.search(r"<th scope=\"row\">Workflow</th><td>Application</td><td>Report</td>", what_changed)
        assert "Wording of “Completed” (English)" in what_changed and "Repaired" in what_changed
        service, _versions = await _service(settings, tenant)
        assert service.workflow == {"preset": "application"}, "offered, not applied"

        assert (await _decide(admin, "accept")).status_code == 303
        service, _versions = await _service(settings, tenant)
        assert service.workflow == {
            "preset": "report",
            "labels": {"completed": {"de": "Repariert", "en": "Repaired"}},
        }
