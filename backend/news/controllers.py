"""News pages: the admins' list and form under /staff/admin/news, the citizens' /news pages, and the device's
categories as JSON under /push/news (problem details on bad input, like the other push endpoints)."""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Controller, Request, delete, get, post, put
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts.services import StaffIdentity
from backend.core.deps import provide_session, provide_tenant
from backend.core.tenancy import TenantContext
from backend.news import services
from backend.news.schemas import CATEGORIES, NewsCategoriesOut, NewsDeviceIn, NewsSubscribeIn
from backend.news.services import NewsService, NewsSubscriptions
from backend.notifications.controllers import json_body

NO_STORE = {"Cache-Control": "no-store"}


def _form(
    staff: StaffIdentity,
    values: dict[str, str],
    errors: dict[str, str],
    item_id: uuid.UUID | None = None,
    status: int = 200,
) -> Template:
    return Template(
        "staff/admin/news_form.html",
        context={
            "staff": staff,
            "values": values,
            "errors": errors,
            "item_id": item_id,
            "categories": services.label_map(),
        },
        status_code=status,
        headers=NO_STORE,
    )


class NewsAdminController(Controller):
    """Mounted in the admin router (backend/tenants/admin): admins of this municipality only."""

    path = "/news"

    @get("/", name="admin_news")
    async def index(
        self,
        staff: NamedDependency[StaffIdentity],
        session: NamedDependency[AsyncSession],
        tenant: NamedDependency[TenantContext],
    ) -> Template:
        items = await NewsService(session, tenant).all()
        rows = [(item, services.status_of(item)) for item in items]
        return Template(
            "staff/admin/news.html",
            context={
                "staff": staff,
                "rows": rows,
                "labels": services.label_map(),
                "status_label": services.status_label,
            },
            headers=NO_STORE,
        )

    @get("/new")
    async def new(self, staff: NamedDependency[StaffIdentity]) -> Template:
        values = {"category": "general"}
        return _form(staff, values, {})

    @post("/", status_code=200)
    async def create(
        self,
        request: Request[Any, Any, State],
        staff: NamedDependency[StaffIdentity],
        session: NamedDependency[AsyncSession],
        tenant: NamedDependency[TenantContext],
    ) -> Template | Redirect:
        values, errors, form = services.parse_form(await request.form(), tenant.timezone)
        if form is None:
            return _form(staff, values, errors, status=422)
        await NewsService(session, tenant).create(form)
        return Redirect(path="/staff/admin/news?saved=1", status_code=303)

    @get("/{news_id:uuid}")
    async def edit(
        self,
        news_id: FromPath[uuid.UUID],
        staff: NamedDependency[StaffIdentity],
        session: NamedDependency[AsyncSession],
        tenant: NamedDependency[TenantContext],
    ) -> Template:
        item = await NewsService(session, tenant).get(news_id)
        return _form(staff, services.values_of(item, tenant.timezone), {}, item_id=item.id)

    @post("/{news_id:uuid}", status_code=200)
    async def save(
        self,
        request: Request[Any, Any, State],
        news_id: FromPath[uuid.UUID],
        staff: NamedDependency[StaffIdentity],
        session: NamedDependency[AsyncSession],
        tenant: NamedDependency[TenantContext],
    ) -> Template | Redirect:
        news = NewsService(session, tenant)
        item = await news.get(news_id)  # 404 before any validation: another town's id is never a form
        values, errors, form = services.parse_form(await request.form(), tenant.timezone)
        if form is None:
            return _form(staff, values, errors, item_id=item.id, status=422)
        await news.update(news_id, form)
        return Redirect(path="/staff/admin/news?saved=1", status_code=303)

    @post("/{news_id:uuid}/delete", status_code=200)
    async def remove(
        self,
        news_id: FromPath[uuid.UUID],
        session: NamedDependency[AsyncSession],
        tenant: NamedDependency[TenantContext],
    ) -> Redirect:
        await NewsService(session, tenant).delete(news_id)
        return Redirect(path="/staff/admin/news?deleted=1", status_code=303)


class NewsController(Controller):
    """What citizens see: the current announcements, and the page to choose categories for this device."""

    path = "/news"
    dependencies = {"session": Provide(provide_session), "tenant": Provide(provide_tenant)}

    @get("/")
    async def current(self, session: NamedDependency[AsyncSession], tenant: NamedDependency[TenantContext]) -> Template:
        items = await NewsService(session, tenant).current()
        return Template("news.html", context={"items": items, "labels": services.label_map()})

    @get("/subscribe")
    async def subscribe_page(self, tenant: NamedDependency[TenantContext]) -> Template:
        return Template("news_subscribe.html", context={"labels": services.label_map(), "categories": CATEGORIES})


async def provide_news_subscriptions(
    session: NamedDependency[AsyncSession], tenant: NamedDependency[TenantContext], state: State
) -> NewsSubscriptions:
    return NewsSubscriptions(session, tenant, state.settings.push_endpoint_allowlist)


class NewsPushController(Controller):
    """The page's script keeps the device's categories here; the CSRF token travels in a header."""

    path = "/push/news"
    dependencies = {
        "session": Provide(provide_session),
        "tenant": Provide(provide_tenant),
        "news_subscriptions": Provide(provide_news_subscriptions),
    }

    @put("/", status_code=200)
    async def choose(
        self, request: Request[Any, Any, State], news_subscriptions: NamedDependency[NewsSubscriptions]
    ) -> NewsCategoriesOut:
        data = await json_body(request, NewsSubscribeIn)
        return NewsCategoriesOut(categories=await news_subscriptions.choose(data.subscription, list(data.categories)))

    @post("/query", status_code=200)
    async def query(
        self, request: Request[Any, Any, State], news_subscriptions: NamedDependency[NewsSubscriptions]
    ) -> NewsCategoriesOut:
        data = await json_body(request, NewsDeviceIn)
        return NewsCategoriesOut(categories=await news_subscriptions.categories(data.endpoint))

    @delete("/", status_code=204)
    async def forget(
        self, request: Request[Any, Any, State], news_subscriptions: NamedDependency[NewsSubscriptions]
    ) -> None:
        data = await json_body(request, NewsDeviceIn)
        await news_subscriptions.forget(data.endpoint)
