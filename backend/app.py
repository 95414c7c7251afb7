"""create_app(settings) -> Litestar: the only factory; the CLI, the server and the tests all build the app here."""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from advanced_alchemy.extensions.litestar import SQLAlchemyAsyncConfig, SQLAlchemyPlugin
from advanced_alchemy.extensions.litestar.store import SQLAlchemyStore
from litestar import Litestar, Router
from litestar.config.compression import CompressionConfig
from litestar.config.csrf import CSRFConfig
from litestar.datastructures import CacheControlHeader, State
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import JsonRenderPlugin
from litestar.plugins.htmx import HTMXPlugin
from litestar.static_files import create_static_files_router
from litestar.stores.base import Store
from litestar.stores.file import FileStore

from backend.accounts.citizen_pages import CitizenAccountController
from backend.accounts.controllers import LoginController
from backend.accounts.invitation_pages import InvitationController
from backend.accounts.passkey_pages import CitizenPasskeyController
from backend.accounts.password_pages import PasswordController
from backend.accounts.session_pages import SessionsController
from backend.accounts.two_factor_pages import TwoFactorController
from backend.api.controllers import SECURITY_COMPONENTS, api_docs, api_router
from backend.audit.recorder import AuditMiddleware
from backend.cases import cleanup as drafts_cleanup
from backend.cases import retention as case_retention
from backend.cases import workflow
from backend.cases.controllers import CitizenCaseController
from backend.cases.followup import FollowUpController, StaffFeedbackController
from backend.cases.replies import ConversationController
from backend.catalogue.controllers import CatalogueController
from backend.catalogue.forms import hidden_fields
from backend.core import i18n, live, metrics
from backend.core.conditional import ConditionalCompressionMiddleware, ConditionalGetMiddleware
from backend.core.db import alchemy_config
from backend.core.errors import exception_handlers
from backend.core.heap import freeze_startup_heap
from backend.core.limits import DEFAULT_BODY_LIMIT, BodyTimeoutMiddleware, apply_upload_limits, upload_body_limit
from backend.core.logs import configure_logging
from backend.core.metrics import RequestObserver
from backend.core.models import StoreItem
from backend.core.ops import OpsController
from backend.core.ratelimit import make_rate_limiter
from backend.core.security import EdgeMiddleware
from backend.core.sessions import StaffSessionConfig
from backend.core.storage import storage_for
from backend.core.templating import template_config
from backend.core.tenancy import HostCache, TenancyMiddleware, TenantData
from backend.core.text import ControlCharacterGuard
from backend.inbox.controllers import InboxController
from backend.inbox.external import ExternalController
from backend.inbox.handling_pages import HandlingController
from backend.inbox.list_pages import InboxListController
from backend.inbox.live import EVENTS_PATH, LiveController
from backend.inbox.statistics_pages import StatisticsController
from backend.news import services as news_services
from backend.news.controllers import NewsController, NewsPushController
from backend.notifications import listeners as notification_listeners
from backend.notifications import receipt as receipts
from backend.notifications.controllers import DeliveriesController, PushController
from backend.notifications.delivery import Deliverer
from backend.notifications.metrics import outbox_figures
from backend.open311.controllers import open311_router
from backend.settings import Settings
from backend.tenants import changes as tenant_changes
from backend.tenants.admin import admin_router
from backend.tenants.controllers import TenantController
from backend.tenants.services import host_resolver
from backend.tenants.wording import override_loader

SESSION_MAX_AGE = 8 * 3600

# Paths Litestar's CSRF check skips, and why. Every state-changing route needs a token (a test holds every
# POST/PUT/PATCH/DELETE route to it); the push endpoints get theirs in the X-CSRFToken header from the page.
CSRF_EXEMPT: dict[str, str] = {
    "/static": "files only (GET); shared caches must not store a CSRF cookie",
    "/health": "monitoring (GET); changes nothing",
    "/metrics": "monitoring (GET, bearer token or allowed network); changes nothing",
    "/my-requests/status": "reads only what the tokens in the body already grant, JSON only (another site cannot "
    "send that without a CORS preflight the app never allows), and must work from a page the device cached",
    "/api": "the JSON API for other systems, without cookies: a request that changes something carries a key in "
    "its Authorization header, which another site's page cannot send (backend/api)",
    "/schema": "the API's OpenAPI document (GET); changes nothing",
    "/open311": "an API for other systems without cookies: a request that changes something carries an api_key, "
    "which another site's page cannot know (backend/open311)",
}


def csrf_exclusions() -> list[str]:
    """CSRF_EXEMPT as the patterns Litestar wants. Litestar searches them anywhere in the path, so each is anchored
    to the start and to a segment's end: else "/health" would also exempt a service at /s/health-card/form."""
    return [f"^{re.escape(prefix)}(?:/|$)" for prefix in CSRF_EXEMPT]


def _stores(settings: Settings, db: SQLAlchemyAsyncConfig) -> dict[str, Store]:
    if settings.redis_url:
        from litestar.stores.redis import RedisStore

        redis = RedisStore.with_client(url=settings.redis_url, namespace="rathaus")
        return {"sessions": redis.with_namespace("sessions")}
    if settings.is_sqlite:
        # The embedded database has one writer at a time, and the session is saved while the request's own
        # transaction is still open: keep sessions beside it in files instead.
        root = settings.data_dir / "store" / "sessions"
        root.mkdir(parents=True, exist_ok=True)
        return {"sessions": FileStore(root)}
    return {"sessions": SQLAlchemyStore(config=db, model=StoreItem, namespace="sessions")}


def _compression(settings: Settings) -> CompressionConfig | None:
    """gzip at the configured level, or none when a reverse proxy compresses (RATHAUS_GZIP_LEVEL=0)."""
    if not settings.gzip_level:
        return None
    return CompressionConfig(
        backend="gzip",
        minimum_size=512,
        gzip_compress_level=settings.gzip_level,
        middleware_class=ConditionalCompressionMiddleware,
        # Live updates are small and must leave at once, not wait in a compressor's buffer.
        exclude=[f"^{EVENTS_PATH}"],
    )


def create_app(settings: Settings) -> Litestar:
    configure_logging(settings.log_level, settings.log_format)
    settings.check_production()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    i18n.configure(settings.locales_dir)
    db = alchemy_config(settings)

    notification_listeners.register()
    metrics.register_probe(outbox_figures)

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        app.state.host_cache = HostCache(host_resolver(db.create_session_maker(), settings.base_domain))
        app.state.text_overrides = i18n.OverrideCache(override_loader(db.create_session_maker()))
        app.state.tenant_data = TenantData()
        app.state.limiter = make_rate_limiter(settings.redis_url, db.get_engine(), settings.is_sqlite)
        stop = asyncio.Event()
        worker: asyncio.Task[None] | None = None
        publisher: asyncio.Task[None] | None = None
        retention: asyncio.Task[None] | None = None
        missed: asyncio.Task[None] | None = None
        deliverer = Deliverer(db, settings) if settings.run_worker else None
        if deliverer is not None:
            worker = asyncio.create_task(deliverer.run_forever(stop), name="rathaus-delivery")
            # Announcements whose start has come are queued for the delivery worker (backend/news).
            publisher = asyncio.create_task(news_services.run_periodically(db, stop), name="rathaus-news")
            # Closed cases past the municipality's retention period are anonymised (cases/retention.py).
            retention = asyncio.create_task(
                case_retention.run_periodically(db, app.state.storage, stop), name="rathaus-retention"
            )
            # A submission whose receipt a crash kept from being queued gets it now (notifications/receipt.py).
            missed = asyncio.create_task(receipts.run_periodically(db, stop), name="rathaus-receipts")
        # Unsent drafts and their files expire (cases/cleanup.py); every instance may sweep.
        sweeper = asyncio.create_task(drafts_cleanup.run_periodically(db, app.state.storage, stop))
        # An admin's change on any instance empties this instance's caches of that municipality (tenants/changes.py).
        app.state.listening_for_changes = asyncio.Event()
        config_listener = asyncio.create_task(
            tenant_changes.listen(app, app.state.listening_for_changes), name="rathaus-config-changes"
        )
        freeze_startup_heap()  # what start-up made lives as long as the process (core/heap.py)
        try:
            yield
        finally:
            config_listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await config_listener
            stop.set()
            if worker is not None:
                await worker
            if publisher is not None:
                await publisher
            if retention is not None:
                await retention
            if missed is not None:
                await missed
            await sweeper
            if deliverer is not None:
                await deliverer.aclose()
            await app.state.limiter.aclose()
            await db.get_engine().dispose()

    session_config = StaffSessionConfig(
        key="rathaus_session",
        store="sessions",
        max_age=SESSION_MAX_AGE,
        httponly=True,
        secure=settings.https,
        samesite="lax",
    )
    csrf = CSRFConfig(
        secret=settings.secret_key,
        cookie_name="rathaus_csrf",
        cookie_secure=settings.https,
        cookie_httponly=True,
        cookie_samesite="lax",
        exclude=csrf_exclusions(),
    )
    static = create_static_files_router(
        path="/static",
        directories=[settings.static_dir],
        cache_control=CacheControlHeader(max_age=3600, public=True),
        include_in_schema=False,
    )
    channels = live.channels_plugin(settings)
    live.attach(db.get_engine(), channels)
    app = Litestar(
        route_handlers=[
            TenantController,
            CatalogueController,
            CitizenCaseController,
            FollowUpController,
            ConversationController,
            PushController,
            NewsController,
            NewsPushController,
            ExternalController,
            open311_router(),
            api_router(),
            api_docs,
            OpsController,
            # A citizen's account has its own cookie and its own table (backend/accounts/citizens.py), never the
            # staff session below: nobody gets a cookie before signing in.
            CitizenAccountController,
            CitizenPasskeyController,
            # Only staff pages have the staff session.
            Router(
                path="/",
                route_handlers=[
                    LoginController,
                    TwoFactorController,
                    SessionsController,
                    InvitationController,
                    PasswordController,
                    InboxController,
                    HandlingController,
                    InboxListController,
                    StatisticsController,
                    LiveController,
                    DeliveriesController,
                    StaffFeedbackController,
                    admin_router(),
                ],
                middleware=[session_config.middleware, AuditMiddleware()],
            ),
            static,
        ],
        plugins=[SQLAlchemyPlugin(config=db), HTMXPlugin(), channels],
        middleware=[
            TenancyMiddleware(base_domain=settings.base_domain),
            ControlCharacterGuard(),
            BodyTimeoutMiddleware(),
            # Without the app's compression the page tags are made here (else inside the compression, below).
            *([] if settings.gzip_level else [ConditionalGetMiddleware]),
        ],
        csrf_config=csrf,
        stores=_stores(settings, db),
        template_config=template_config(
            settings.templates_dir,
            settings.themes_dir,
            extra_globals={
                "status_label": workflow.label,
                "status_explanation": workflow.explanation,
                "staff_status_label": workflow.staff_label,
                "hidden_fields": hidden_fields,
            },
        ),
        compression_config=_compression(settings),
        exception_handlers=exception_handlers,
        lifespan=[lifespan],
        state=State({"settings": settings, "storage": storage_for(settings), "db": db}),
        # Small bodies everywhere: only the routes that take files get the large limit (below).
        request_max_body_size=DEFAULT_BODY_LIMIT,
        debug=False,
        # The OpenAPI document describes the JSON API (/api/v1) alone: every other route is a page or a file.
        openapi_config=OpenAPIConfig(
            title="Rathaus API",
            version="1.0.0",
            description="Cases and services of one municipality, for its other systems. See /api.",
            path="/schema",
            render_plugins=[JsonRenderPlugin()],
            components=SECURITY_COMPONENTS,
        ),
        include_in_schema=False,
        # Logging is set up by configure_logging above (JSON lines, request ids): Litestar's own configuration
        # would replace the root logger's handlers with its plain-text ones.
        logging_config=None,
    )
    apply_upload_limits(app, upload_body_limit(settings))
    # Around everything Litestar does, the router's own answers included (see EdgeMiddleware).
    app.asgi_handler = EdgeMiddleware(app.asgi_handler, https=settings.https)
    # Outside that: the request id and the request metrics see every answer as the client gets it.
    app.asgi_handler = RequestObserver(app.asgi_handler)
    # A committed change of a municipality's kept data is announced to every instance (tenants/changes.py).
    tenant_changes.attach(db.get_engine(), app)
    return app
