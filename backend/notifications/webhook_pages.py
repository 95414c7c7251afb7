"""The admin pages for webhooks (/staff/admin/webhooks): endpoints, their delivery log, a delivery sent again."""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Controller, Request, get, post
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts.services import StaffIdentity
from backend.core.i18n import gettext as _
from backend.core.tenancy import TenantContext
from backend.notifications.models import WebhookEndpoint
from backend.notifications.webhooks import EVENTS, MAX_URL, WebhookAddressError, WebhookService, resolve, secret_key

NO_STORE = {"Cache-Control": "no-store"}
PATH = "/staff/admin/webhooks"


def event_label(event: str) -> str:
    return {
        "case.created": _("A request was submitted"),
        "case.status_changed": _("The status of a request changed"),
        "case.message_added": _("The town hall wrote a message on a request"),
    }.get(event, event)


def delivery_state(status: str) -> str:
    return {
        "pending": _("Waiting"),
        "sent": _("Delivered"),
        "failed": _("Failed"),
        "dead": _("Given up after several attempts"),
    }.get(status, status)


def address_error(exc: WebhookAddressError, url: str) -> str:
    if exc.reason == "empty":
        return _("Please enter the address that receives the events.")
    if exc.reason == "too_long":
        return _("Please use at most %(n)s characters (you entered %(m)s).", n=MAX_URL, m=len(url))
    if exc.reason == "not_https":
        return _("Please use an address beginning with https:// (events are sent encrypted only).")
    if exc.reason == "unresolvable":
        return _("The server in this address could not be found. Please check the address.")
    if exc.reason == "private":
        return _("This address leads into a private network. Events are sent to public addresses only.")
    return _("Please enter a complete web address, e.g. https://example.org/rathaus-events.")


class WebhookAdminController(Controller):
    """Mounted in the admin router (backend/tenants/admin): admins of this municipality only."""

    path = "/webhooks"

    async def _check(self, request: Request[Any, Any, State]) -> tuple[dict[str, Any], dict[str, str]]:
        """The form's values and the errors in them (the address is looked up as the delivery will)."""
        form = await request.form()
        raw_url = form.get("url")
        url = raw_url.strip() if isinstance(raw_url, str) else ""
        events = [e for e in form.getall("events", []) if isinstance(e, str) and e in EVENTS]
        raw_secret = form.get("secret")
        secret = raw_secret.strip() if isinstance(raw_secret, str) else ""
        values = {"url": url, "events": events, "secret": secret}
        errors: dict[str, str] = {}
        settings = request.app.state.settings
        try:
            await resolve(url, production=settings.is_production, allow_private=settings.webhook_allow_private)
        except WebhookAddressError as exc:
            errors["url"] = address_error(exc, url)
        if not events:
            errors["events"] = _("Please choose at least one event.")
        if secret:
            try:
                secret_key(secret)
            except ValueError:
                errors["secret"] = _(
                    "A secret begins with whsec_ followed by 24 to 64 bytes in Base64. "
                    "Leave the field empty to have one made."
                )
        return values, errors

    def _context(self, staff: StaffIdentity, **more: Any) -> dict[str, Any]:
        return {
            "staff": staff,
            "events": [(e, event_label(e)) for e in EVENTS],
            "event_label": event_label,
            "delivery_state": delivery_state,
            "max_url": MAX_URL,
            **more,
        }

    async def _list(
        self,
        staff: StaffIdentity,
        session: AsyncSession,
        tenant: TenantContext,
        values: dict[str, Any] | None = None,
        errors: dict[str, str] | None = None,
        status: int = 200,
    ) -> Template:
        context = self._context(
            staff,
            endpoints=await WebhookService(session, tenant).all(),
            values=values or {"url": "", "events": list(EVENTS), "secret": ""},
            errors=errors or {},
        )
        return Template("staff/admin/webhooks.html", context=context, status_code=status, headers=NO_STORE)

    async def _one(
        self,
        staff: StaffIdentity,
        session: AsyncSession,
        tenant: TenantContext,
        endpoint: WebhookEndpoint,
        values: dict[str, Any] | None = None,
        errors: dict[str, str] | None = None,
        status: int = 200,
    ) -> Template:
        service = WebhookService(session, tenant)
        context = self._context(
            staff,
            endpoint=endpoint,
            deliveries=await service.log(endpoint.id),
            values=values or {"url": endpoint.url, "events": endpoint.event_list, "secret": ""},
            errors=errors or {},
        )
        return Template("staff/admin/webhook.html", context=context, status_code=status, headers=NO_STORE)

    @get("/", name="admin_webhooks")
    async def index(
        self,
        staff: NamedDependency[StaffIdentity],
        session: NamedDependency[AsyncSession],
        tenant: NamedDependency[TenantContext],
    ) -> Template:
        return await self._list(staff, session, tenant)

    @post("/", status_code=303)
    async def create(
        self,
        request: Request[Any, Any, State],
        staff: NamedDependency[StaffIdentity],
        session: NamedDependency[AsyncSession],
        tenant: NamedDependency[TenantContext],
    ) -> Template | Redirect:
        values, errors = await self._check(request)
        if errors:
            return await self._list(staff, session, tenant, values, errors, status=422)
        made = await WebhookService(session, tenant).create(
            values["url"], values["events"], values["secret"], created_by=staff.display_name
        )
        return Redirect(path=f"{PATH}/{made.id}?created=1", status_code=303)

    @get("/{webhook_id:uuid}", name="admin_webhook")
    async def show(
        self,
        webhook_id: FromPath[uuid.UUID],
        staff: NamedDependency[StaffIdentity],
        session: NamedDependency[AsyncSession],
        tenant: NamedDependency[TenantContext],
    ) -> Template:
        endpoint = await WebhookService(session, tenant).get(webhook_id)
        return await self._one(staff, session, tenant, endpoint)

    @post("/{webhook_id:uuid}", status_code=303)
    async def save(
        self,
        webhook_id: FromPath[uuid.UUID],
        request: Request[Any, Any, State],
        staff: NamedDependency[StaffIdentity],
        session: NamedDependency[AsyncSession],
        tenant: NamedDependency[TenantContext],
    ) -> Template | Redirect:
        service = WebhookService(session, tenant)
        endpoint = await service.get(webhook_id)
        values, errors = await self._check(request)
        if errors:
            return await self._one(staff, session, tenant, endpoint, values, errors, status=422)
        await service.update(webhook_id, values["url"], values["events"], values["secret"])
        return Redirect(path=f"{PATH}/{webhook_id}?saved=1", status_code=303)

    @post("/{webhook_id:uuid}/delete", status_code=303)
    async def delete(
        self,
        webhook_id: FromPath[uuid.UUID],
        session: NamedDependency[AsyncSession],
        tenant: NamedDependency[TenantContext],
    ) -> Redirect:
        await WebhookService(session, tenant).delete(webhook_id)
        return Redirect(path=f"{PATH}?deleted=1", status_code=303)

    @post("/{webhook_id:uuid}/deliveries/{delivery_id:uuid}/redeliver", status_code=303)
    async def redeliver(
        self,
        webhook_id: FromPath[uuid.UUID],
        delivery_id: FromPath[uuid.UUID],
        session: NamedDependency[AsyncSession],
        tenant: NamedDependency[TenantContext],
    ) -> Redirect:
        await WebhookService(session, tenant).redeliver(webhook_id, delivery_id)
        return Redirect(path=f"{PATH}/{webhook_id}?redelivered=1", status_code=303)
