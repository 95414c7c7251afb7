"""No municipality sees or changes another's data, whatever URL is tried on which host."""

from __future__ import annotations

import re

from litestar import Litestar
from sqlalchemy import select

from backend.core.db import alchemy_config, unscoped_session
from backend.notifications.models import OutboxMessage
from backend.settings import Settings
from tests.conftest import Person, csrf_token
from tests.factories import TenantFixture
from tests.helpers import login, staff_post, submit_case
from tests.integration.core.routes import ENDPOINTS


async def test_clerk_of_one_municipality_gets_404_for_every_case_url_of_another(
    person: Person, app: Litestar, tenant: TenantFixture, other_tenant: TenantFixture
) -> None:
    async with person(other_tenant.host) as citizen:
        await submit_case(citizen, other_tenant)
    async with person(other_tenant.host) as other_clerk:
        await login(other_clerk, other_tenant.clerk_email, other_tenant.password)
        page = await other_clerk.get("/staff")
        case_url = re.search(r'href="(/staff/cases/[0-9a-f-]{36})"', page.text).group(1)  # type: ignore[union-attr]
        file_url = re.search(r'src="(/staff/cases/[^"]+/files/[^"]+)"', (await other_clerk.get(case_url)).text).group(1)  # type: ignore[union-attr]

    async with person(tenant.host) as clerk:
        await login(clerk, tenant.clerk_email, tenant.password)
        assert (await clerk.get(case_url)).status_code == 404
        assert (await clerk.get(file_url)).status_code == 404
        inbox = await clerk.get("/staff")
        assert "/staff/cases/" not in inbox.text
        assert 'class="result-count">0 ' in inbox.text, "counts are scoped too"
        assert "(1)</option>" not in inbox.text, "status counts are scoped too"
        for action, data in (
            (case_url + "/status", {"to_status": "in_review"}),
            (case_url + "/messages", {"visibility": "internal", "body": "x"}),
            (case_url + "/duplicate", {"original": "", "message": "x"}),
            (case_url + "/duplicate", {"original": "2026-00001", "message": ""}),
        ):
            assert (await staff_post(clerk, "/staff", action, data)).status_code == 404


async def test_tracking_link_of_one_municipality_is_404_on_another_host(
    person: Person, app: Litestar, tenant: TenantFixture, other_tenant: TenantFixture
) -> None:
    async with person(tenant.host) as citizen:
        tracking = await submit_case(citizen, tenant)
        photo = re.search(r'src="(/r/[^"]+/files/[^"]+)"', (await citizen.get(tracking)).text).group(1)  # type: ignore[union-attr]
    async with person(other_tenant.host) as stranger:
        assert (await stranger.get(tracking)).status_code == 404
        assert (await stranger.get(photo)).status_code == 404


async def test_staff_of_one_municipality_cannot_log_in_to_another(
    person: Person, app: Litestar, tenant: TenantFixture, other_tenant: TenantFixture
) -> None:
    async with person(other_tenant.host) as c:
        response = await login(c, tenant.clerk_email, tenant.password)
        assert response.status_code == 200 and "error-summary" in response.text
        assert (await c.get("/staff", follow_redirects=False)).status_code == 303


async def test_session_cookie_of_one_host_gives_nothing_on_another(
    person: Person, app: Litestar, tenant: TenantFixture, other_tenant: TenantFixture
) -> None:
    async with person(tenant.host) as c:
        await login(c, tenant.clerk_email, tenant.password)
        session = c.cookies.get("rathaus_session")
    async with person(other_tenant.host) as c2:
        c2.cookies.set("rathaus_session", session or "", domain=other_tenant.host)
        assert (await c2.get("/staff", follow_redirects=False)).status_code == 303


TRACKING_ROUTES = [e for e in ENDPOINTS if e.path.startswith("/r/{token:str}") and "{file_id" not in e.path]


async def test_every_tracking_route_refuses_a_token_of_another_municipality(
    person: Person, app: Litestar, tenant: TenantFixture, other_tenant: TenantFixture
) -> None:
    """Each /r/<token>/... route of the route table (a route added later included), read or write."""
    assert len(TRACKING_ROUTES) >= 6, TRACKING_ROUTES
    async with person(tenant.host) as citizen:
        tracking = await submit_case(citizen, tenant)
        before = (await citizen.get(tracking)).text
    token = tracking.rsplit("/", 1)[1]
    form = {"message": "x", "reason": "x", "resolved": "no", "comment": "x", "emails": "off"}
    async with person(other_tenant.host) as stranger:
        csrf = csrf_token((await stranger.get("/find")).text)
        for endpoint in TRACKING_ROUTES:
            path = endpoint.path.replace("{token:str}", token)
            data = {"_csrf_token": csrf, **form} if endpoint.method != "GET" else None
            response = await stranger.request(endpoint.method, path, data=data, follow_redirects=False)
            assert response.status_code in (403, 404), (endpoint.id, response.status_code)
    async with person(tenant.host) as citizen:
        after = (await citizen.get(tracking)).text
    assert after.count('class="timeline') == before.count('class="timeline')
    assert re.findall(r"<li[^>]*>", after) == re.findall(r"<li[^>]*>", before), "the case changed"


NEWS_ROUTES = [e for e in ENDPOINTS if "{news_id:uuid}" in e.path]


async def test_every_news_route_refuses_an_announcement_of_another_municipality(
    person: Person, app: Litestar, tenant: TenantFixture, other_tenant: TenantFixture
) -> None:
    """Each /staff/admin/news/<id>... route of the route table, read or write, for the other town's admin."""
    assert len(NEWS_ROUTES) >= 3, NEWS_ROUTES
    async with person(tenant.host) as admin:
        await login(admin, tenant.admin_email, tenant.password)
        form = {"title": "Nur hier", "text": "Nur in dieser Gemeinde.", "category": "general"}
        assert (await staff_post(admin, "/staff/admin/news/new", "/staff/admin/news", form)).status_code == 303
        news_id = re.search(r"/staff/admin/news/([0-9a-f-]{36})", (await admin.get("/staff/admin/news")).text)
        assert news_id
    async with person(other_tenant.host) as stranger:
        await login(stranger, other_tenant.admin_email, other_tenant.password)
        csrf = csrf_token((await stranger.get("/staff/admin/news/new")).text)
        for endpoint in NEWS_ROUTES:
            path = endpoint.path.replace("{news_id:uuid}", news_id.group(1))
            data = {"_csrf_token": csrf, **form, "title": "Übernommen"} if endpoint.method != "GET" else None
            response = await stranger.request(endpoint.method, path, data=data, follow_redirects=False)
            assert response.status_code == 404, (endpoint.id, response.status_code)
        assert "Nur hier" not in (await stranger.get("/")).text
    async with person(tenant.host) as citizen:
        news = (await citizen.get("/news")).text
        assert "Nur hier" in news and "Übernommen" not in news


async def _forwarded(person: Person, settings: Settings, tenant: TenantFixture) -> tuple[str, str, str]:
    """A case of ``tenant`` forwarded by its clerk: (the clerk's case path, the link's path, the forward's id)."""
    async with person(tenant.host) as citizen:
        await submit_case(citizen, tenant)
    async with person(tenant.host) as clerk:
        await login(clerk, tenant.clerk_email, tenant.password)
        case = re.search(r'href="(/staff/cases/[0-9a-f-]{36})"', (await clerk.get("/staff")).text).group(1)  # type: ignore[union-attr]
        data = {"email": f"bauhof@{tenant.slug}.example", "message": "Bitte ansehen."}
        assert (await staff_post(clerk, case, case + "/forward", data)).status_code == 303
        page = (await clerk.get(case)).text
        forward_id = re.search(r"/forwards/([0-9a-f-]{36})/revoke", page).group(1)  # type: ignore[union-attr]
    db = alchemy_config(settings)
    try:
        async with unscoped_session(db) as session:
            rows = await session.scalars(select(OutboxMessage).where(OutboxMessage.tenant_id == tenant.id))
            link = next(str(m.payload["url"]) for m in rows if m.payload.get("kind") == "case_forward")
    finally:
        await db.get_engine().dispose()
    return case, link, forward_id


EXTERNAL_ROUTES = [e for e in ENDPOINTS if e.path.startswith("/x/{forward_token:str}") and "{file_id" not in e.path]


async def test_every_external_route_refuses_a_link_of_another_municipality(
    person: Person, app: Litestar, settings: Settings, tenant: TenantFixture, other_tenant: TenantFixture
) -> None:
    """Each /x/<token>/... route of the route table (a route added later included), read or write."""
    assert len(EXTERNAL_ROUTES) >= 2, EXTERNAL_ROUTES
    case, link, _ = await _forwarded(person, settings, tenant)
    async with person(tenant.host) as clerk:
        await login(clerk, tenant.clerk_email, tenant.password)
        before = (await clerk.get(case)).text
    token = link.rsplit("/", 1)[1]
    async with person(other_tenant.host) as stranger:
        csrf = csrf_token((await stranger.get("/find")).text)
        for endpoint in EXTERNAL_ROUTES:
            path = endpoint.path.replace("{forward_token:str}", token)
            data = {"_csrf_token": csrf, "message": "x"} if endpoint.method != "GET" else None
            response = await stranger.request(endpoint.method, path, data=data, follow_redirects=False)
            assert response.status_code in (403, 404), (endpoint.id, response.status_code)
    async with person(tenant.host) as clerk:
        await login(clerk, tenant.clerk_email, tenant.password)
        after = (await clerk.get(case)).text
    assert re.findall(r"<li[^>]*>", after) == re.findall(r"<li[^>]*>", before), "the case changed"


CASE_TOOL_ROUTES = [e for e in ENDPOINTS if "{template_id:uuid}" in e.path or "{forward_id:uuid}" in e.path]


async def test_every_template_and_forward_route_refuses_ids_of_another_municipality(
    person: Person, app: Litestar, settings: Settings, tenant: TenantFixture, other_tenant: TenantFixture
) -> None:
    """Each route naming a reply template or a forward, for the other town's admin; a case in the path is the
    stranger's own, so that only the template or the forward is foreign."""
    assert len(CASE_TOOL_ROUTES) >= 5, CASE_TOOL_ROUTES
    _, link, forward_id = await _forwarded(person, settings, tenant)
    async with person(tenant.host) as admin:
        await login(admin, tenant.admin_email, tenant.password)
        form = {"title": "Nur hier", "body_de": "Nur in dieser Gemeinde."}
        page = "/staff/admin/reply-templates/new"
        assert (await staff_post(admin, page, "/staff/admin/reply-templates", form)).status_code == 303
        template_id = re.search(r"/staff/admin/reply-templates/([0-9a-f-]{36})", (await admin.get(page[:-4])).text)
        assert template_id
    async with person(other_tenant.host) as citizen:
        await submit_case(citizen, other_tenant)
    async with person(other_tenant.host) as stranger:
        await login(stranger, other_tenant.admin_email, other_tenant.password)
        own_case = re.search(r"/staff/cases/([0-9a-f-]{36})", (await stranger.get("/staff")).text).group(1)  # type: ignore[union-attr]
        csrf = csrf_token((await stranger.get("/staff")).text)
        for endpoint in CASE_TOOL_ROUTES:
            path = (
                endpoint.path.replace("{template_id:uuid}", template_id.group(1))
                .replace("{forward_id:uuid}", forward_id)
                .replace("{case_id:uuid}", own_case)
            )
            data = (
                {"_csrf_token": csrf, **form, "title": "Übernommen", "confirm": "yes"}
                if endpoint.method != "GET"
                else None
            )
            response = await stranger.request(endpoint.method, path, data=data, follow_redirects=False)
            assert response.status_code == 404, (endpoint.id, response.status_code)
    async with person(tenant.host) as admin:
        await login(admin, tenant.admin_email, tenant.password)
        listing = (await admin.get("/staff/admin/reply-templates")).text
        assert "Nur hier" in listing and "Übernommen" not in listing
    async with person(tenant.host) as outsider:
        assert (await outsider.get(link)).status_code == 200, "the forward was not revoked"


CASE_ROUTES = [e for e in ENDPOINTS if e.path.startswith("/staff/cases/{case_id:uuid}")]


async def test_every_staff_case_route_refuses_a_case_of_another_municipality(
    person: Person, app: Litestar, tenant: TenantFixture, other_tenant: TenantFixture
) -> None:
    """Each /staff/cases/<id>... route of the route table (handling and files included), and the bulk action, for
    the other town's admin (who sees every case of their own municipality)."""
    assert len(CASE_ROUTES) >= 9, CASE_ROUTES
    async with person(tenant.host) as citizen:
        await submit_case(citizen, tenant)
    async with person(tenant.host) as admin:
        await login(admin, tenant.admin_email, tenant.password)
        case_url = re.search(r'href="(/staff/cases/[0-9a-f-]{36})"', (await admin.get("/staff")).text).group(1)  # type: ignore[union-attr]
        page = (await admin.get(case_url)).text
        file_id = re.search(r'src="/staff/cases/[^"]+/files/([0-9a-f-]{36})"', page).group(1)  # type: ignore[union-attr]
        before = re.findall(r"<li[^>]*>", page)
    case_id = case_url.rsplit("/", 1)[1]
    async with person(other_tenant.host) as stranger:
        await login(stranger, other_tenant.admin_email, other_tenant.password)
        csrf = csrf_token((await stranger.get("/staff")).text)
        form = {
            "_csrf_token": csrf,
            "to_status": "in_review",
            "visibility": "internal",
            "body": "x",
            "priority": "high",
        }
        for endpoint in CASE_ROUTES:
            path = endpoint.path.replace("{case_id:uuid}", case_id).replace("{file_id:uuid}", file_id)
            data = form if endpoint.method != "GET" else None
            response = await stranger.request(endpoint.method, path, data=data, follow_redirects=False)
            assert response.status_code == 404, (endpoint.id, response.status_code)
        bulk = await stranger.post("/staff/bulk", data={**form, "case_ids": [case_id], "action": "status"})
        assert bulk.status_code == 200 and 'class="outcome-missing"' in bulk.text
    async with person(tenant.host) as admin:
        await login(admin, tenant.admin_email, tenant.password)
        assert re.findall(r"<li[^>]*>", (await admin.get(case_url)).text) == before, "the case changed"


OPEN311_ROUTES = [e for e in ENDPOINTS if e.path.startswith("/open311/")]


async def test_every_open311_route_keeps_to_its_own_municipality(
    person: Person, app: Litestar, settings: Settings, tenant: TenantFixture, other_tenant: TenantFixture
) -> None:
    """Each Open311 route of the route table, with the other town's reference, token, slug and keys: nothing of
    one municipality is shown or changed through another's host or key."""
    from tests.integration.open311.test_open311 import POST, make_key

    assert len(OPEN311_ROUTES) >= 10, OPEN311_ROUTES
    own_key = await make_key(settings, tenant, ["read", "write"])
    foreign_key = await make_key(settings, other_tenant, ["read", "write"])
    async with person(tenant.host) as system:
        created = (await system.post("/open311/v2/requests.json", data={**POST, "api_key": own_key})).json()[0]
    reference, token = created["service_request_id"], created["token"]
    values = {"request_file": f"{reference}.json", "token_file": f"{token}.json", "service_file": "street-light.json"}
    async with person(other_tenant.host) as stranger:
        for endpoint in OPEN311_ROUTES:
            path = re.sub(r"\{(\w+):\w+\}", lambda m: values[m.group(1)], endpoint.path)
            for key in (own_key, foreign_key, ""):
                params = {"api_key": key, "jurisdiction_id": tenant.slug}
                data = {**POST, **params} if endpoint.method == "POST" else None
                response = await stranger.request(
                    endpoint.method, path, params=None if data else params, data=data, follow_redirects=False
                )
                assert response.status_code in (403, 404), (endpoint.id, key[:5], response.status_code)
                assert reference not in response.text and token not in response.text
        # Without the other town's slug too: its reference, token and key still mean nothing here.
        assert (await stranger.get(f"/open311/v2/requests/{reference}.json")).status_code == 404
        assert (await stranger.get(f"/open311/v2/tokens/{token}.json")).status_code == 404
        listing = await stranger.get("/open311/v2/requests.json", params={"api_key": foreign_key})
        assert listing.json() == []
        refused = await stranger.post("/open311/v2/requests.json", data={**POST, "api_key": own_key})
        assert refused.status_code == 403
    db = alchemy_config(settings)
    try:
        async with unscoped_session(db) as session:
            from backend.cases.models import Case

            owners = list(await session.scalars(select(Case.tenant_id).execution_options(all_tenants=True)))
    finally:
        await db.get_engine().dispose()
    assert other_tenant.id not in owners
