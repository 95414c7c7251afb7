"""The municipality's own administration under /staff/admin: one router, one guard, admins of this town only."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Router, get
from litestar.connection import ASGIConnection
from litestar.di import NamedDependency
from litestar.handlers.base import BaseRouteHandler
from litestar.response import Template

from backend.accounts.admin_pages import DepartmentAdminController, StaffAdminController
from backend.accounts.api_key_pages import ApiKeyAdminController
from backend.accounts.controllers import STAFF_DEPENDENCIES, require_second_factor
from backend.accounts.services import AccountService, StaffIdentity
from backend.audit.controllers import AuditAdminController
from backend.catalogue.admin import ServiceAdminController
from backend.catalogue.admin_catalogue import CatalogueAdminController
from backend.core.db import scope_session
from backend.core.errors import Forbidden, LoginRequired
from backend.core.i18n import gettext as _
from backend.core.tenancy import tenant_of
from backend.inbox.reply_template_pages import ReplyTemplateAdminController
from backend.news.controllers import NewsAdminController
from backend.notifications.webhook_pages import WebhookAdminController
from backend.tenants.admin.branding import BrandingController
from backend.tenants.admin.hosts import HostsController
from backend.tenants.admin.languages import LanguagesController
from backend.tenants.admin.legal import ContactController, LegalController
from backend.tenants.admin.retention import RetentionController
from backend.tenants.admin.texts import TextsController

ADMIN_PATH = "/staff/admin"


async def admins_of_this_municipality(
    connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler
) -> None:
    """Lets through only a logged-in admin of the request's municipality; a guard, so no admin route can forget it.

    The role is read from the database on every request (not from the session), so taking the role away
    takes effect at once. The session is the request's own, which the handler then reuses.
    """
    tenant = tenant_of(connection)
    data = connection.session or {}
    if not data.get("uid") or data.get("tid") != str(tenant.id):
        raise LoginRequired()
    state = connection.app.state
    session = scope_session(state.db.provide_session(state, connection.scope), tenant.id)
    identity = await AccountService(session, tenant).session_identity(data)
    if identity is None:
        raise LoginRequired()
    require_second_factor(identity, connection.app.state.settings)
    if identity.role != "admin":
        raise Forbidden(_("Only administrators of this municipality can open this page."))


class AdminHomeController(Controller):
    path = "/"

    @get("/", name="admin_home")
    async def home(self, staff: NamedDependency[StaffIdentity]) -> Template:
        return Template("staff/admin/index.html", context={"staff": staff}, headers={"Cache-Control": "no-store"})


def admin_router() -> Router:
    return Router(
        path=ADMIN_PATH,
        guards=[admins_of_this_municipality],
        dependencies=STAFF_DEPENDENCIES,
        route_handlers=[
            AdminHomeController,
            BrandingController,
            ContactController,
            LegalController,
            TextsController,
            ServiceAdminController,
            CatalogueAdminController,
            StaffAdminController,
            DepartmentAdminController,
            LanguagesController,
            HostsController,
            NewsAdminController,
            ReplyTemplateAdminController,
            AuditAdminController,
            ApiKeyAdminController,
            WebhookAdminController,
            RetentionController,
        ],
    )
