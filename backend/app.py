"""create_app(settings) -> Litestar: the only factory; the CLI, the server and the tests all build the app here."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from advanced_alchemy.extensions.litestar import SQLAlchemyAsyncConfig, SQLAlchemyPlugin
from advanced_alchemy.extensions.litestar.store import SQLAlchemyStore
from litestar import Litestar, Router
from litestar.config.compression import CompressionConfig
from litestar.config.csrf import CSRFConfig
from litestar.datastructures import CacheControlHeader, State
from litestar.plugins.htmx import HTMXPlugin
from litestar.static_files import create_static_files_router
from litestar.stores.base import Store
from litestar.stores.file import FileStore

from backend.accounts.controllers import LoginController
from backend.cases import workflow
from backend.cases.controllers import CitizenCaseController
from backend.catalogue.controllers import CatalogueController
from backend.core import i18n
from backend.core.db import alchemy_config
from backend.core.errors import exception_handlers
from backend.core.models import StoreItem
from backend.core.security import SecurityHeadersMiddleware
from backend.core.sessions import StaffSessionConfig
from backend.core.storage import LocalStorage
from backend.core.templating import template_config
from backend.core.tenancy import HostCache, TenancyMiddleware
from backend.inbox.controllers import InboxController
from backend.notifications import listeners as notification_listeners
from backend.notifications.controllers import DeliveriesController, PushController
from backend.notifications.delivery import Deliverer
from backend.settings import Settings
from backend.tenants.controllers import TenantController
from backend.tenants.services import host_resolver

SESSION_MAX_AGE = 8 * 3600


def _stores(settings: Settings, db: SQLAlchemyAsyncConfig) -> dict[str, Store]:
    if settings.redis_url:
        from litestar.stores.redis import RedisStore

        redis = RedisStore.with_client(url=settings.redis_url, namespace="rathaus")
        return {"sessions": redis.with_namespace("sessions"), "login_failures": redis.with_namespace("login")}
    if settings.is_sqlite:
        # The embedded database has one writer at a time, and the session is saved while the request's own
        # transaction is still open: keep sessions beside it in files instead.
        root = settings.data_dir / "store"
        for name in ("sessions", "login"):
            (root / name).mkdir(parents=True, exist_ok=True)
        return {"sessions": FileStore(root / "sessions"), "login_failures": FileStore(root / "login")}
    return {
        "sessions": SQLAlchemyStore(config=db, model=StoreItem, namespace="sessions"),
        "login_failures": SQLAlchemyStore(config=db, model=StoreItem, namespace="login"),
    }


def create_app(settings: Settings) -> Litestar:
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    settings.check_production()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    i18n.configure(settings.locales_dir)
    db = alchemy_config(settings)

    notification_listeners.register()

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        app.state.host_cache = HostCache(host_resolver(db.create_session_maker(), settings.base_domain))
        stop = asyncio.Event()
        worker: asyncio.Task[None] | None = None
        deliverer = Deliverer(db, settings) if settings.run_worker else None
        if deliverer is not None:
            worker = asyncio.create_task(deliverer.run_forever(stop), name="rathaus-delivery")
        try:
            yield
        finally:
            stop.set()
            if worker is not None:
                await worker
            if deliverer is not None:
                await deliverer.aclose()
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
        exclude=["/static", "/health"],
    )
    static = create_static_files_router(
        path="/static",
        directories=[settings.static_dir],
        cache_control=CacheControlHeader(max_age=3600, public=True),
        include_in_schema=False,
    )
    return Litestar(
        route_handlers=[
            TenantController,
            CatalogueController,
            CitizenCaseController,
            PushController,
            # Only staff pages have sessions: citizens never get a session cookie.
            Router(
                path="/",
                route_handlers=[LoginController, InboxController, DeliveriesController],
                middleware=[session_config.middleware],
            ),
            static,
        ],
        plugins=[SQLAlchemyPlugin(config=db), HTMXPlugin()],
        middleware=[
            SecurityHeadersMiddleware(https=settings.https),
            TenancyMiddleware(base_domain=settings.base_domain),
        ],
        csrf_config=csrf,
        stores=_stores(settings, db),
        template_config=template_config(
            settings.templates_dir,
            extra_globals={
                "status_label": workflow.label,
                "status_explanation": workflow.explanation,
                "staff_status_label": workflow.staff_label,
            },
        ),
        compression_config=CompressionConfig(backend="gzip", minimum_size=512, gzip_compress_level=6),
        exception_handlers=exception_handlers,
        lifespan=[lifespan],
        state=State({"settings": settings, "storage": LocalStorage(settings.uploads_dir), "db": db}),
        request_max_body_size=settings.max_upload_bytes * settings.max_files * 2 + 1024 * 1024,
        debug=False,
        openapi_config=None,
    )
