"""The app's route table, for tests that hold every route to a promise, and a world to call the routes in.

The table is read from an app built here, at collection time, so a route added later is covered by every
such test without anyone listing it.
"""

from __future__ import annotations

import datetime
import re
import tempfile
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from litestar import Litestar
from litestar.routes import HTTPRoute
from litestar.testing import AsyncTestClient
from sqlalchemy import select

from backend.accounts.citizens import SESSION_VALIDITY, secret_hash
from backend.accounts.departments import DepartmentService
from backend.accounts.invitations import invite
from backend.accounts.models import CitizenAccount, CitizenPasskey, CitizenSession
from backend.accounts.resets import active_member, create_reset
from backend.accounts.services import AccountService
from backend.app import create_app
from backend.cases.models import Case
from backend.catalogue.services import CatalogueService
from backend.core.db import alchemy_config, tenant_session
from backend.inbox.models import CaseForward
from backend.notifications.models import OutboxMessage
from backend.notifications.webhooks import queue_event
from backend.settings import Settings
from backend.tenants.manifest import ICONS
from backend.tenants.services import TenantService, to_context
from tests.conftest import csrf_token
from tests.factories import TenantFixture, jpeg_bytes
from tests.helpers import VALID_ANSWERS, login, post_form, submit_case

UNSAFE = ("POST", "PUT", "PATCH", "DELETE")
TEMPLATE_SLUG = "hundeanmeldung"
ALL_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


@dataclass(frozen=True)
class Endpoint:
    path: str
    method: str
    # The handler itself says to skip the CSRF check (``exclude_from_csrf=True``).
    csrf_exempt: bool = False

    @property
    def id(self) -> str:
        return f"{self.method} {self.path}"

    @property
    def staff(self) -> bool:
        return self.path.startswith("/staff")


def _route_table() -> tuple[list[Endpoint], dict[str, set[str]]]:
    settings = Settings(env="development", data_dir=Path(tempfile.mkdtemp(prefix="rathaus-routes-"))).with_defaults()
    app = create_app(settings)
    endpoints: list[Endpoint] = []
    methods: dict[str, set[str]] = {}
    for route in app.routes:
        if not isinstance(route, HTTPRoute):
            continue
        for handler in route.route_handlers:
            for method in sorted(handler.http_methods):
                if method in ("OPTIONS", "HEAD"):
                    continue
                endpoints.append(Endpoint(route.path, method, bool(handler.opt.get("exclude_from_csrf"))))
                methods.setdefault(route.path, set()).add(method)
    return endpoints, methods


ENDPOINTS, METHODS = _route_table()
GET_ENDPOINTS = [e for e in ENDPOINTS if e.method == "GET"]
UNSAFE_ENDPOINTS = [e for e in ENDPOINTS if e.method in UNSAFE]

_PARAM = re.compile(r"\{(\w+):(\w+)\}")

# Values no route should take, each a different kind of wrong.
IMPLAUSIBLE: dict[str, str] = {
    "str": "no-such-th%C3%A4ng%00%27%22%3C",
    "uuid": "not-a-uuid",
    "path": "..%2F..%2Fetc%2Fpasswd",
}
IMPLAUSIBLE_NAMES: dict[str, str] = {
    "token": "x" * 400,
    "invitation_token": "x" * 400,
    "reset_token": "x" * 400,
    "key": "%FF%FE",
    "file_id": "00000000-0000-0000-0000-000000000000",
    "forward_token": "x" * 400,
}


def fill(path: str, values: dict[str, str]) -> str:
    if "/drafts/" in path:  # a draft's file, not the case's
        values = {**values, "file_id": values["draft_file_id"]}
    if path.endswith("/remove"):  # the form builder's field removal: a field no other route needs
        values = {**values, "field_name": values["removable_field"]}
    if path.endswith("{news_id:uuid}/delete"):  # an announcement of its own, so the others keep theirs
        values = {**values, "news_id": values["doomed_news_id"]}
    if path.endswith("{webhook_id:uuid}/delete"):  # a webhook of its own, so the other keeps its deliveries
        values = {**values, "webhook_id": values["doomed_webhook_id"]}
    return _PARAM.sub(lambda m: values[m.group(1)], path)


def implausible(path: str) -> str:
    return _PARAM.sub(lambda m: IMPLAUSIBLE_NAMES.get(m.group(1), IMPLAUSIBLE[m.group(2)]), path)


@dataclass
class World:
    """A municipality with one submitted case (with a photo, forwarded twice), a draft, a citizen, a reply template
    and a logged-in admin."""

    app: Litestar
    tenant: TenantFixture
    citizen: AsyncTestClient[Litestar]
    staff: AsyncTestClient[Litestar]
    values: dict[str, str] = field(default_factory=dict)
    citizen_token: str = ""
    staff_token: str = ""

    def client(self, endpoint: Endpoint) -> AsyncTestClient[Litestar]:
        return self.staff if endpoint.staff else self.citizen

    def token(self, endpoint: Endpoint) -> str:
        return self.staff_token if endpoint.staff else self.citizen_token

    async def ensure_staff_login(self, endpoint: Endpoint) -> None:
        """Logs the clerk in again if a route (logout) or input logged them out."""
        if endpoint.staff and (await self.staff.get("/staff", follow_redirects=False)).status_code != 200:
            assert (await login(self.staff, self.tenant.admin_email, self.tenant.password)).status_code == 303
            self.staff_token = csrf_token((await self.staff.get("/staff")).text)


async def make_world(settings: Settings, tenant: TenantFixture) -> World:
    # Each person has their own app, as each test client runs its app in a thread and event loop of its own.
    app = create_app(settings)
    citizen = AsyncTestClient(app, base_url=f"http://{tenant.host}")
    staff = AsyncTestClient(create_app(settings), base_url=f"http://{tenant.host}")
    await citizen.__aenter__()
    await staff.__aenter__()
    tracking = await submit_case(citizen, tenant, key="route-table-key-0123456789")
    page = (await citizen.get(tracking)).text
    file_id = re.search(r"/files/([0-9a-f-]{36})", page)
    assert (await login(staff, tenant.admin_email, tenant.password)).status_code == 303
    inbox = (await staff.get("/staff")).text
    case_id = re.search(r"/staff/cases/([0-9a-f-]{36})", inbox)
    assert file_id and case_id
    # A draft with a photo that stays a draft, for the draft file route.
    review = await post_form(
        citizen, tenant, VALID_ANSWERS, key="route-table-draft-0123456789", files=[("a.jpg", jpeg_bytes())]
    )
    draft_file = re.search(r"/drafts/[^/]+/files/([0-9a-f-]{36})", review.text)
    assert draft_file
    world = World(app=app, tenant=tenant, citizen=citizen, staff=staff)
    world.values = {
        "slug": tenant.service_slug,
        "token": tracking.rsplit("/", 1)[1],
        "file_id": file_id.group(1),
        "draft_file_id": draft_file.group(1),
        "case_id": case_id.group(1),
        "key": "route-table-draft-0123456789",
        "name": next(iter(ICONS)),
        "code": "en",
        "file_path": "css/app.css",
        "template_slug": TEMPLATE_SLUG,
        "service_id": await _builder_service(settings, tenant),
        "field_name": "what",
        "removable_field": "doomed",
        "path": "openapi.json",  # the OpenAPI document's route (/schema/{path})
    }
    world.values.update(await _staff_world(settings, tenant))
    world.values["session_id"] = await _other_session(settings, tenant, staff)
    world.values["news_id"] = await _news_item(staff, "Straßensperrung")
    world.values["doomed_news_id"] = await _news_item(staff, "Zu löschen")
    world.values["template_id"] = await _reply_template(staff)
    world.values.update(await _forwards(settings, staff, tenant, case_id.group(1)))
    world.citizen_token = csrf_token((await citizen.get(f"/s/{tenant.service_slug}/form")).text)
    world.staff_token = csrf_token((await staff.get("/staff")).text)
    world.values["view_id"] = await _saved_view(staff, world.staff_token)
    world.values.update(await _open311(settings, staff, tenant))
    world.values.update(await _webhooks(settings, staff, tenant, case_id.group(1)))
    world.values.update(await _citizen_account(settings, tenant))
    # A standard service adopted from the catalogue, for the routes about its template (e.g. its update page).
    adopted = await staff.post(
        f"/staff/admin/catalogue/{TEMPLATE_SLUG}/adopt", data={"_csrf_token": world.staff_token}, follow_redirects=False
    )
    assert adopted.status_code == 303, adopted.text
    return world


async def _citizen_account(settings: Settings, tenant: TenantFixture) -> dict[str, str]:
    """A citizen's account with a passkey, and a session of it (its secret for a cookie, where a test wants one)."""
    secret = f"route-table-{uuid.uuid4().hex}"
    db = alchemy_config(settings)
    try:
        async with tenant_session(db, tenant.id) as session:
            account = CitizenAccount(
                email=f"citizen@{tenant.host}", language="de", verified_at=datetime.datetime.now(datetime.UTC)
            )
            session.add(account)
            await session.flush()
            passkey = CitizenPasskey(
                account_id=account.id,
                credential_id=f"route-table-{uuid.uuid4().hex}",
                public_key=b"not a key",
                sign_count=0,
                rp_id=tenant.host,
                name="Telefon",
            )
            expires = datetime.datetime.now(datetime.UTC) + SESSION_VALIDITY
            session.add_all(
                [passkey, CitizenSession(key_hash=secret_hash(secret), account_id=account.id, expires_at=expires)]
            )
            await session.flush()
            passkey_id = str(passkey.id)
    finally:
        await db.get_engine().dispose()
    return {"passkey_id": passkey_id, "citizen_session": secret}


async def _other_session(settings: Settings, tenant: TenantFixture, staff: AsyncTestClient[Litestar]) -> str:
    """A second login of the admin's in another browser, for the route that ends one session."""
    async with AsyncTestClient(create_app(settings), base_url=f"http://{tenant.host}") as elsewhere:
        assert (await login(elsewhere, tenant.admin_email, tenant.password)).status_code == 303
    found = re.search(r"/staff/account/sessions/([0-9a-f-]{36})/end", (await staff.get("/staff/account/sessions")).text)
    assert found
    return found.group(1)


async def _open311(settings: Settings, staff: AsyncTestClient[Litestar], tenant: TenantFixture) -> dict[str, str]:
    """An API key made on the admin's page (for the route that revokes it) and the Open311 names of the case."""
    page = await staff.get("/staff/admin/api-keys")
    data = {"_csrf_token": csrf_token(page.text), "name": "Routen", "scopes": ["read", "write"]}
    made = await staff.post("/staff/admin/api-keys", data=data)
    assert made.status_code == 200, made.text
    secret = re.search(r'<code class="api-key">([^<]+)</code>', made.text)
    assert secret
    found = re.search(r"/staff/admin/api-keys/([0-9a-f-]{36})/revoke", (await staff.get("/staff/admin/api-keys")).text)
    assert found
    db = alchemy_config(settings)
    try:
        async with tenant_session(db, tenant.id) as session:
            reference = await session.scalar(select(Case.reference))
    finally:
        await db.get_engine().dispose()
    return {
        "api_key": secret.group(1),
        "key_id": found.group(1),
        "service_file": f"{tenant.service_slug}.json",
        "request_file": f"{reference}.xml",
        "token_file": "o311-no-such-token.json",
        "reference": reference,
    }


async def _webhooks(
    settings: Settings, staff: AsyncTestClient[Litestar], tenant: TenantFixture, case_id: str
) -> dict[str, str]:
    """Two webhooks made on the admin's page (one for the route that deletes it) and a delivery of the first."""
    ids = []
    for path in ("/hook", "/doomed"):
        page = await staff.get("/staff/admin/webhooks")
        data = {"_csrf_token": csrf_token(page.text), "url": f"http://127.0.0.1:9{path}", "events": "case.created"}
        made = await staff.post("/staff/admin/webhooks", data=data, follow_redirects=False)
        assert made.status_code == 303, made.text
        ids.append(made.headers["location"].split("?")[0].rsplit("/", 1)[1])
    db = alchemy_config(settings)
    try:
        async with tenant_session(db, tenant.id) as session:
            await queue_event(session, tenant.id, uuid.UUID(case_id), "case.created", {}, "route-table")
            delivery = await session.scalar(
                select(OutboxMessage.id).where(OutboxMessage.webhook_id == uuid.UUID(ids[0]))
            )
            await session.commit()
    finally:
        await db.get_engine().dispose()
    assert delivery is not None
    return {"webhook_id": ids[0], "doomed_webhook_id": ids[1], "delivery_id": str(delivery)}


async def _saved_view(staff: AsyncTestClient[Litestar], token: str) -> str:
    """A saved inbox view of the logged-in admin, for the routes that name one."""
    data = {"_csrf_token": token, "name": "Neue Anfragen", "query": "status=submitted"}
    saved = await staff.post("/staff/views", data=data, follow_redirects=False)
    assert saved.status_code == 303, saved.text
    found = re.search(r"/staff/views/([0-9a-f-]{36})/delete", (await staff.get("/staff")).text)
    assert found
    return found.group(1)


async def _news_item(staff: AsyncTestClient[Litestar], title: str) -> str:
    """An announcement of the municipality, made through the admin's form, for the routes that name one."""
    form = await staff.get("/staff/admin/news/new")
    fields = {"title": title, "text": "Die Hauptstraße ist gesperrt.", "category": "traffic"}
    saved = await staff.post(
        "/staff/admin/news", data={**fields, "_csrf_token": csrf_token(form.text)}, follow_redirects=False
    )
    assert saved.status_code == 303, saved.text
    listing = (await staff.get("/staff/admin/news")).text
    found = re.search(r'/staff/admin/news/([0-9a-f-]{36})">' + re.escape(title) + "<", listing)
    assert found
    return found.group(1)


async def _reply_template(staff: AsyncTestClient[Litestar]) -> str:
    """A reply template for every service and status, made through the admin's form."""
    form = await staff.get("/staff/admin/reply-templates/new")
    fields = {"title": "Eingang", "body_de": "Ihr Anliegen {reference} ist eingegangen."}
    saved = await staff.post(
        "/staff/admin/reply-templates", data={**fields, "_csrf_token": csrf_token(form.text)}, follow_redirects=False
    )
    assert saved.status_code == 303, saved.text
    found = re.search(
        r"/staff/admin/reply-templates/([0-9a-f-]{36})", (await staff.get("/staff/admin/reply-templates")).text
    )
    assert found
    return found.group(1)


async def _forwards(
    settings: Settings, staff: AsyncTestClient[Litestar], tenant: TenantFixture, case_id: str
) -> dict[str, str]:
    """The case forwarded twice: the private link's token of one (for the /x/ routes), the id of the other (for
    revoking it, so that the link of the first keeps working)."""
    case = f"/staff/cases/{case_id}"
    for name in ("Bauhof", "Firma"):
        page = await staff.get(case)
        data = {"email": f"{name.lower()}@{tenant.slug}.example", "name": name, "message": "Bitte ansehen."}
        sent = await staff.post(
            f"{case}/forward", data={**data, "_csrf_token": csrf_token(page.text)}, follow_redirects=False
        )
        assert sent.status_code == 303, sent.text
    db = alchemy_config(settings)
    try:
        async with tenant_session(db, tenant.id) as session:
            links = {
                m.email: str(m.payload["url"])
                for m in await session.scalars(select(OutboxMessage).where(OutboxMessage.case_id == uuid.UUID(case_id)))
                if m.payload.get("kind") == "case_forward"
            }
            doomed = await session.scalar(
                select(CaseForward.id).where(CaseForward.recipient_email == f"firma@{tenant.slug}.example")
            )
    finally:
        await db.get_engine().dispose()
    return {"forward_token": links[f"bauhof@{tenant.slug}.example"].rsplit("/", 1)[1], "forward_id": str(doomed)}


async def _staff_world(settings: Settings, tenant: TenantFixture) -> dict[str, str]:
    """An invited clerk, a colleague (the person the staff routes act on) in a department (so that it is never
    empty and no route deletes it), and a password reset link of the clerk's."""
    db = alchemy_config(settings)
    try:
        async with tenant_session(db, tenant.id) as session:
            ctx = to_context(await TenantService(session).by_slug(tenant.slug))  # type: ignore[arg-type]
            accounts = AccountService(session, ctx)
            invited = await accounts.add_staff(f"invited@{tenant.slug}.example", "-" * 20, "In", "clerk")
            token = await invite(session, ctx, invited, "clerk")
            # Someone else than the invited person: deactivating them must not void the invitation link.
            user = await accounts.add_staff(f"colleague@{tenant.slug}.example", "-" * 20, "Co", "clerk")
            departments = DepartmentService(session, ctx)
            department = await departments.create("Bauhof")
            await departments.set_departments_of(user.id, [department.id])
            clerk = await active_member(session, tenant.clerk_email)
            assert clerk is not None
            reset = await create_reset(session, ctx, clerk)
            return {
                "invitation_token": token,
                "user_id": str(user.id),
                "department_id": str(department.id),
                "reset_token": reset,
            }
    finally:
        await db.get_engine().dispose()


async def _builder_service(settings: Settings, tenant: TenantFixture) -> str:
    """A service of its own for the form builder's routes, so that what they change leaves the citizen's alone."""
    db = alchemy_config(settings)
    try:
        async with tenant_session(db, tenant.id) as session:
            ctx = to_context(await TenantService(session).by_slug(tenant.slug))  # type: ignore[arg-type]
            label = {"de": "Feld", "en": "Field"}
            service = await CatalogueService(session, ctx).create_service(
                slug="builder-routes",
                category=label,
                name=label,
                form={
                    "fields": [
                        {"name": "what", "type": "text", "label": label},
                        {"name": "doomed", "type": "text", "label": label},
                    ]
                },
            )
            return str(service.id)
    finally:
        await db.get_engine().dispose()


async def close_world(world: World) -> None:
    await world.citizen.__aexit__(None, None, None)
    await world.staff.__aexit__(None, None, None)


def new_uuid() -> str:
    return str(uuid.uuid4())
