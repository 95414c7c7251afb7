"""Web Push endpoints for the citizen's device, and the admins' view of deliveries that did not arrive."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, delete, get, post
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide
from litestar.params import JSONBody
from litestar.response import Template
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts.controllers import STAFF_DEPENDENCIES
from backend.accounts.services import StaffIdentity
from backend.core.deps import provide_session, provide_tenant
from backend.core.errors import Forbidden
from backend.core.tenancy import TenantContext
from backend.notifications.schemas import PublicKeyOut, SubscribeIn, UnsubscribeIn
from backend.notifications.services import SubscriptionService, VapidKeyService, undelivered


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
        self, data: JSONBody[SubscribeIn], subscriptions: NamedDependency[SubscriptionService]
    ) -> dict[str, str]:
        await subscriptions.subscribe(data.subscription, data.token)
        return {"status": "subscribed"}

    @delete("/subscriptions", status_code=204)
    async def unsubscribe(
        self, data: JSONBody[UnsubscribeIn], subscriptions: NamedDependency[SubscriptionService]
    ) -> None:
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
    ) -> Template:
        if staff.role != "admin":
            raise Forbidden()
        rows = await undelivered(session)
        return Template("staff/deliveries.html", context={"staff": staff, "rows": rows})
