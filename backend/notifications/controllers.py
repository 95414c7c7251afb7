"""Web Push endpoints for the citizen's device, and the admins' view of deliveries that did not arrive."""

from __future__ import annotations

from typing import Any, TypeVar

import msgspec
from litestar import Controller, Request, delete, get, post
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide
from litestar.exceptions import HTTPException
from litestar.response import Template
from litestar.status_codes import HTTP_415_UNSUPPORTED_MEDIA_TYPE
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts.citizens import SESSION_COOKIE, CitizenService
from backend.accounts.controllers import STAFF_DEPENDENCIES
from backend.accounts.services import StaffIdentity
from backend.core import i18n
from backend.core.deps import provide_session, provide_tenant
from backend.core.errors import BadRequest, Forbidden
from backend.core.tenancy import TenantContext
from backend.notifications.schemas import PublicKeyOut, SubscribeIn, UnsubscribeIn
from backend.notifications.services import SubscriptionService, VapidKeyService, undelivered

Body = TypeVar("Body", bound=msgspec.Struct)


async def json_body(request: Request[Any, Any, State], schema: type[Body]) -> Body:
    """Decode the body straight into its schema: 415 unless it is JSON, 400 if it does not fit.

    Decoding into the typed schema stops at the first unexpected token, so a body nested thousands of
    levels deep is refused at once instead of being built in memory first.
    """
    media_type = request.headers.get("content-type", "").partition(";")[0].strip().lower()
    if media_type != "application/json":
        raise HTTPException(status_code=HTTP_415_UNSUPPORTED_MEDIA_TYPE)
    try:
        return msgspec.json.decode(await request.body(), type=schema)
    except msgspec.ValidationError as exc:
        raise BadRequest(i18n.gettext("The subscription is incomplete.")) from exc
    except (msgspec.DecodeError, RecursionError) as exc:
        raise BadRequest(i18n.gettext("The request is not valid JSON.")) from exc


async def provide_subscriptions(
    session: NamedDependency[AsyncSession], tenant: NamedDependency[TenantContext], state: State
) -> SubscriptionService:
    return SubscriptionService(session, tenant, state.settings.push_endpoint_allowlist)


class PushController(Controller):
    path = "/push"
    dependencies = {
        "session": Provide(provide_session),
        "tenant": Provide(provide_tenant),
        "subscriptions": Provide(provide_subscriptions),
    }

    @get("/key", cache_control=None)
    async def key(self, session: NamedDependency[AsyncSession], tenant: NamedDependency[TenantContext]) -> PublicKeyOut:
        key = await VapidKeyService(session).active()
        return PublicKeyOut(publicKey=key.public_key)

    @post("/subscriptions", status_code=201)
    async def subscribe(
        self, request: Request[Any, Any, State], subscriptions: NamedDependency[SubscriptionService]
    ) -> dict[str, str]:
        data = await json_body(request, SubscribeIn)
        citizens = CitizenService(subscriptions.session, subscriptions.tenant, request.app.state.settings.secret_key)
        account = await citizens.account_of(request.cookies.get(SESSION_COOKIE))
        await subscriptions.subscribe(data.subscription, data.token, account.id if account is not None else None)
        return {"status": "subscribed"}

    @delete("/subscriptions", status_code=204)
    async def unsubscribe(
        self, request: Request[Any, Any, State], subscriptions: NamedDependency[SubscriptionService]
    ) -> None:
        data = await json_body(request, UnsubscribeIn)
        await subscriptions.unsubscribe(data.endpoint, data.token)


class DeliveriesController(Controller):
    """Notifications that could not be delivered, so admins can contact the citizen another way."""

    path = "/staff/deliveries"
    dependencies = STAFF_DEPENDENCIES

    @get("/")
    async def problems(
        self,
        request: Request[Any, Any, State],
        staff: NamedDependency[StaffIdentity],
        session: NamedDependency[AsyncSession],
        tenant: NamedDependency[TenantContext],
    ) -> Template:
        if staff.role != "admin":
            raise Forbidden()
        rows = await undelivered(session, tenant)
        return Template("staff/deliveries.html", context={"staff": staff, "rows": rows})
