"""Database base classes, tenant scoping of every ORM query, and the engine/session configuration."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from advanced_alchemy.base import UUIDv7AuditBase, orm_registry
from advanced_alchemy.extensions.litestar import (
    AsyncSessionConfig,
    EngineConfig,
    SQLAlchemyAsyncConfig,
)
from advanced_alchemy.types import GUID
from sqlalchemy import ForeignKey, event, false, type_coerce
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import (
    Mapped,
    ORMExecuteState,
    Session,
    declared_attr,
    mapped_column,
    with_loader_criteria,
)

if TYPE_CHECKING:
    from backend.settings import Settings

Base = UUIDv7AuditBase
metadata = orm_registry.metadata

ALL_TENANTS = "all_tenants"
TENANT_KEY = "tenant_id"


class TenantScopeError(RuntimeError):
    """Code tried to write a row of one municipality through a session scoped to another."""


class TenantOwned:
    """Mixin for every table that belongs to one municipality.

    Rows of these tables are only ever visible through a session whose ``info["tenant_id"]`` names
    their municipality: the ``do_orm_execute`` hook below adds the criterion to every ORM select,
    update and delete, and a session without a tenant sees none of them. Jobs that really work across
    municipalities say so with ``execution_options(all_tenants=True)`` or ``unscoped_session``.
    """

    @declared_attr
    def tenant_id(cls) -> Mapped[uuid.UUID]:  # noqa: N805
        return mapped_column(ForeignKey("tenant.id", ondelete="CASCADE"), index=True, nullable=False)


@event.listens_for(Session, "do_orm_execute")
def _scope_to_tenant(state: ORMExecuteState) -> None:
    if not (state.is_select or state.is_update or state.is_delete):
        return
    if state.execution_options.get(ALL_TENANTS) or state.session.info.get(ALL_TENANTS):
        return
    if state.is_column_load or state.is_relationship_load:
        return
    tenant_id = state.session.info.get(TENANT_KEY)
    if tenant_id is None:
        criteria = with_loader_criteria(TenantOwned, lambda cls: false(), include_aliases=True)
    else:
        # type_coerce: the closure value must be bound with the column's type (binary GUID on SQLite).
        criteria = with_loader_criteria(
            TenantOwned,
            lambda cls: cls.tenant_id == type_coerce(tenant_id, GUID),
            include_aliases=True,
            track_closure_variables=True,
        )
    state.statement = state.statement.options(criteria)


@event.listens_for(Session, "before_flush")
def _stamp_tenant(session: Session, flush_context: Any, instances: Any) -> None:
    if session.info.get(ALL_TENANTS):
        return
    tenant_id = session.info.get(TENANT_KEY)
    for obj in list(session.new) + list(session.dirty):
        if not isinstance(obj, TenantOwned):
            continue
        if obj.tenant_id is None:  # type: ignore[attr-defined]
            if tenant_id is None:
                raise TenantScopeError(f"{type(obj).__name__} written without a municipality")
            obj.tenant_id = tenant_id  # type: ignore[attr-defined]
        elif obj.tenant_id != tenant_id:  # type: ignore[attr-defined]
            raise TenantScopeError(f"{type(obj).__name__} of another municipality written through this session")


def scope_session(session: AsyncSession, tenant_id: uuid.UUID | None) -> AsyncSession:
    session.info[TENANT_KEY] = tenant_id
    return session


def alchemy_config(settings: Settings) -> SQLAlchemyAsyncConfig:
    engine_kwargs: dict[str, Any] = {}
    connect_args: dict[str, Any] = {}
    if settings.is_sqlite:
        connect_args = {"timeout": 30}
    else:
        engine_kwargs.update(pool_size=10, max_overflow=10, pool_pre_ping=True)
    config = SQLAlchemyAsyncConfig(
        connection_string=settings.database_url,
        session_config=AsyncSessionConfig(expire_on_commit=False),
        engine_config=EngineConfig(connect_args=connect_args, **engine_kwargs),
        before_send_handler="autocommit_include_redirects",
        create_all=False,
        session_dependency_key="db_session",
    )
    install_sqlite_pragmas(config)
    return config


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cursor = dbapi_conn.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def install_sqlite_pragmas(config: SQLAlchemyAsyncConfig) -> None:
    """WAL and a busy timeout so the embedded database serves readers while one request writes."""
    engine = config.get_engine().sync_engine
    if engine.dialect.name == "sqlite" and not event.contains(engine, "connect", _sqlite_pragmas):
        event.listen(engine, "connect", _sqlite_pragmas)


@asynccontextmanager
async def tenant_session(config: SQLAlchemyAsyncConfig, tenant_id: uuid.UUID | None) -> AsyncIterator[AsyncSession]:
    """A session outside a request (CLI, jobs, tests), scoped to one municipality, committed on success."""
    async with config.get_session() as session:
        scope_session(session, tenant_id)
        try:
            yield session
            await session.commit()
        except BaseException:
            await session.rollback()
            raise


@asynccontextmanager
async def unscoped_session(config: SQLAlchemyAsyncConfig) -> AsyncIterator[AsyncSession]:
    """A session that spans municipalities, for the operator's CLI and platform-wide jobs only."""
    async with config.get_session() as session:
        session.info[ALL_TENANTS] = True
        try:
            yield session
            await session.commit()
        except BaseException:
            await session.rollback()
            raise
