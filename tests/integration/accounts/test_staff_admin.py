"""The staff page: admins invite people by e-mail into a role and departments, change them, deactivate them
and send them reset links; the last admin stays; clerks, supervisors and other municipalities get nothing."""

from __future__ import annotations

import re

import pytest

from backend.accounts.departments import DepartmentService, case_scope, department_ids_of
from backend.core.db import alchemy_config, tenant_session
from backend.settings import Settings
from backend.tenants.services import TenantService, to_context
from tests.conftest import csrf_token
from tests.factories import TenantFixture
from tests.helpers import Client, login
from tests.integration.accounts.conftest import Deliver, link_in, logged_in, post_page

NEW_PASSWORD = "lantern-river-organ-1987"


@pytest.fixture(autouse=True)
def _english(client: Client) -> None:
    client.headers["Accept-Language"] = "en"


async def _department(settings: Settings, tenant: TenantFixture, name: str) -> str:
    db = alchemy_config(settings)
    try:
        async with tenant_session(db, tenant.id) as session:
            ctx = to_context(await TenantService(session).by_slug(tenant.slug))  # type: ignore[arg-type]
            return str((await DepartmentService(session, ctx).create(name)).id)
    finally:
        await db.get_engine().dispose()


async def _user_id(client: Client, address: str) -> str:
    page = (await client.get("/staff/admin/staff")).text
    found = re.search(r'href="/staff/admin/staff/([0-9a-f-]{36})">[^<]*</a></td>\s*<td>' + re.escape(address), page)
    assert found, page
    return found.group(1)


async def test_an_invited_clerk_gets_the_link_by_e_mail_and_works_in_the_chosen_department(
    client: Client, tenant: TenantFixture, settings: Settings, deliver: Deliver, person
) -> None:
    bauhof = await _department(settings, tenant, "Bauhof")
    await logged_in(client, tenant.admin_email, tenant.password)
    address = f"neu@{tenant.slug}.example"
    sent = await post_page(
        client,
        "/staff/admin/staff",
        "/staff/admin/staff/invite",
        {"email": address, "role": "clerk", "departments": [bauhof]},
    )
    assert sent.status_code == 303
    listed = await client.get(sent.headers["location"])
    assert "/staff/invite/" in listed.text, "the link is shown once to the admin as a fallback"
    assert "/staff/invite/" not in (await client.get("/staff/admin/staff")).text, "and only once"
    assert "Invitation pending" in listed.text and "Bauhof" in listed.text

    [mail] = (await deliver()).to(address)
    path = link_in(mail)
    assert path.startswith("/staff/invite/") and tenant.name in mail["Subject"]
    async with person(tenant.host) as newcomer:
        page = await newcomer.get(path)
        assert page.status_code == 200 and address in page.text
        done = await newcomer.post(
            path,
            data={"_csrf_token": csrf_token(page.text), "password": NEW_PASSWORD, "password_repeat": NEW_PASSWORD},
            follow_redirects=False,
        )
        assert done.status_code == 303
        assert (await newcomer.get("/staff", follow_redirects=False)).status_code == 200
    user_id = await _user_id(client, address)
    db = alchemy_config(settings)
    try:
        async with tenant_session(db, tenant.id) as session:
            import uuid

            assert {str(d) for d in await department_ids_of(session, uuid.UUID(user_id))} == {bauhof}
            assert await case_scope(session, uuid.UUID(user_id), "clerk") == {uuid.UUID(bauhof)}
            assert await case_scope(session, uuid.UUID(user_id), "supervisor") is None
    finally:
        await db.get_engine().dispose()


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"email": "not an address", "role": "clerk"}, "email"),
        ({"email": "x@example.org", "role": "emperor"}, "role"),
        ({"email": "x@example.org", "role": "clerk", "departments": ["not-an-id"]}, "departments"),
        (
            {"email": "x@example.org", "role": "clerk", "departments": ["00000000-0000-0000-0000-000000000000"]},
            "departments",
        ),
    ],
)
async def test_a_bad_invitation_is_refused_with_the_values_kept(
    client: Client, tenant: TenantFixture, data: dict[str, object], field: str
) -> None:
    await logged_in(client, tenant.admin_email, tenant.password)
    answer = await post_page(client, "/staff/admin/staff", "/staff/admin/staff/invite", data)
    assert answer.status_code == 422
    assert f'id="{field}-error"' in answer.text
    assert f'value="{data["email"]}"' in answer.text
    assert "x@example.org" not in (await client.get("/staff/admin/staff")).text.split("Invite someone")[0]


async def test_inviting_someone_who_is_already_staff_here_is_refused(client: Client, tenant: TenantFixture) -> None:
    await logged_in(client, tenant.admin_email, tenant.password)
    answer = await post_page(
        client, "/staff/admin/staff", "/staff/admin/staff/invite", {"email": tenant.clerk_email, "role": "admin"}
    )
    assert answer.status_code == 422 and "already on the staff" in answer.text


async def test_role_and_departments_change_and_bad_values_are_refused(
    client: Client, tenant: TenantFixture, settings: Settings
) -> None:
    bauhof = await _department(settings, tenant, "Bauhof")
    await logged_in(client, tenant.admin_email, tenant.password)
    clerk = await _user_id(client, tenant.clerk_email)
    page = f"/staff/admin/staff/{clerk}"
    bad = await post_page(client, page, page, {"role": "king", "departments": [bauhof]})
    assert bad.status_code == 422 and 'id="role-error"' in bad.text
    assert f'value="{bauhof}" checked' in bad.text, "the chosen departments are kept"
    good = await post_page(client, page, page, {"role": "supervisor", "departments": [bauhof]})
    assert good.status_code == 303
    shown = (await client.get(page)).text
    assert '<option value="supervisor" selected' in shown and f'value="{bauhof}" checked' in shown
    listed = (await client.get("/staff/admin/staff")).text
    assert "Supervisor" in listed


async def test_the_last_admin_can_neither_demote_nor_deactivate_themselves(
    client: Client, tenant: TenantFixture
) -> None:
    await logged_in(client, tenant.admin_email, tenant.password)
    me = await _user_id(client, tenant.admin_email)
    page = f"/staff/admin/staff/{me}"
    demoted = await post_page(client, page, page, {"role": "clerk"})
    assert demoted.status_code == 422 and "last administrator" in demoted.text
    gone = await post_page(client, page, f"{page}/deactivate", {})
    assert gone.status_code == 422 and "last administrator" in gone.text
    assert (await client.get("/staff/admin", follow_redirects=False)).status_code == 200


async def test_a_deactivated_person_is_logged_out_and_cannot_log_in_until_reactivated(
    client: Client, tenant: TenantFixture, person
) -> None:
    await logged_in(client, tenant.admin_email, tenant.password)
    clerk_id = await _user_id(client, tenant.clerk_email)
    async with person(tenant.host) as clerk:
        await logged_in(clerk, tenant.clerk_email, tenant.password)
        page = f"/staff/admin/staff/{clerk_id}"
        assert (await post_page(client, page, f"{page}/deactivate", {})).status_code == 303
        assert "Deactivated" in (await client.get(page)).text
        assert (await clerk.get("/staff", follow_redirects=False)).status_code in (302, 303, 401)
        refused = await login(clerk, tenant.clerk_email, tenant.password)
        assert refused.status_code == 200 and "error-summary" in refused.text
        assert (await post_page(client, page, f"{page}/reactivate", {})).status_code == 303
        assert (await login(clerk, tenant.clerk_email, tenant.password)).status_code == 303


async def test_the_admin_sends_a_working_password_reset_link(
    client: Client, tenant: TenantFixture, deliver: Deliver, person
) -> None:
    await logged_in(client, tenant.admin_email, tenant.password)
    clerk_id = await _user_id(client, tenant.clerk_email)
    page = f"/staff/admin/staff/{clerk_id}"
    assert (await post_page(client, page, f"{page}/password-reset", {})).status_code == 303
    [mail] = (await deliver()).to(tenant.clerk_email)
    path = link_in(mail)
    assert path.startswith("/staff/password/reset/")
    async with person(tenant.host) as clerk:
        form = await clerk.get(path)
        assert form.status_code == 200
        done = await clerk.post(
            path,
            data={"_csrf_token": csrf_token(form.text), "password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD},
            follow_redirects=False,
        )
        assert done.status_code == 303
        assert (await login(clerk, tenant.clerk_email, NEW_PASSWORD)).status_code == 303


@pytest.mark.parametrize("role", ["clerk", "supervisor"])
async def test_clerks_and_supervisors_are_refused_on_the_staff_and_department_pages(
    client: Client, tenant: TenantFixture, settings: Settings, role: str
) -> None:
    department = await _department(settings, tenant, "Bauhof")
    await logged_in(client, tenant.admin_email, tenant.password)
    clerk_id = await _user_id(client, tenant.clerk_email)
    page = f"/staff/admin/staff/{clerk_id}"
    assert (await post_page(client, page, page, {"role": role})).status_code == 303
    token = csrf_token((await client.get("/staff")).text)
    await client.post("/staff/logout", data={"_csrf_token": token})
    await logged_in(client, tenant.clerk_email, tenant.password)
    token = csrf_token((await client.get("/staff")).text)
    for path in ("/staff/admin/staff", page, "/staff/admin/departments", f"/staff/admin/departments/{department}"):
        assert (await client.get(path, follow_redirects=False)).status_code == 403, path
    for path in (
        "/staff/admin/staff/invite",
        f"{page}/deactivate",
        f"{page}/password-reset",
        "/staff/admin/departments",
        f"/staff/admin/departments/{department}/delete",
    ):
        answer = await client.post(
            path, data={"_csrf_token": token, "email": "x@example.org", "role": "admin"}, follow_redirects=False
        )
        assert answer.status_code == 403, path


async def test_an_admin_of_another_municipality_gets_404_for_these_staff_and_departments(
    client: Client, tenant: TenantFixture, other_tenant: TenantFixture, settings: Settings, person
) -> None:
    department = await _department(settings, tenant, "Bauhof")
    await logged_in(client, tenant.admin_email, tenant.password)
    clerk_id = await _user_id(client, tenant.clerk_email)
    # Their own app, as another server process would be (a client's app runs in its own event loop).
    async with person(other_tenant.host) as theirs:
        theirs.headers["Accept-Language"] = "en"
        await logged_in(theirs, other_tenant.admin_email, other_tenant.password)
        listed = (await theirs.get("/staff/admin/staff")).text
        assert tenant.clerk_email not in listed
        assert "Bauhof" not in (await theirs.get("/staff/admin/departments")).text
        token = csrf_token(listed)
        for path in (f"/staff/admin/staff/{clerk_id}", f"/staff/admin/departments/{department}"):
            assert (await theirs.get(path, follow_redirects=False)).status_code == 404, path
        for path in (
            f"/staff/admin/staff/{clerk_id}",
            f"/staff/admin/staff/{clerk_id}/deactivate",
            f"/staff/admin/staff/{clerk_id}/password-reset",
            f"/staff/admin/departments/{department}",
            f"/staff/admin/departments/{department}/delete",
        ):
            answer = await theirs.post(path, data={"_csrf_token": token, "role": "clerk", "name": "X"})
            assert answer.status_code == 404, path
        # Their own department cannot take this municipality's people or services either.
        own = await _department(settings, other_tenant, "Eigenes")
        taken = await theirs.post(
            f"/staff/admin/departments/{own}", data={"_csrf_token": token, "name": "Eigenes", "members": [clerk_id]}
        )
        assert taken.status_code == 422
    assert "Active" in (await client.get(f"/staff/admin/staff/{clerk_id}")).text
