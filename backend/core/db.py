"""Database base classes, tenant scoping of every ORM query, and the engine/session configuration."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections import OrderedDict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import lru_cache
from typing import TYPE_CHECKING, Any, TypeVar

from advanced_alchemy.base import UUIDv7AuditBase, orm_registry
from advanced_alchemy.extensions.litestar import (
    AsyncSessionConfig,
    EngineConfig,
    SQLAlchemyAsyncConfig,
)

# The plugin keeps the request's session in the ASGI scope through these helpers (see end_of_request).
from advanced_alchemy.extensions.litestar._utils import delete_aa_scope_state, get_aa_scope_state
from advanced_alchemy.extensions.litestar.plugins.init.config.common import SESSION_TERMINUS_ASGI_EVENTS
from advanced_alchemy.types import GUID
from litestar.constants import HTTP_RESPONSE_START
from sqlalchemy import Executable, ForeignKey, Insert, Table, event, false, text, type_coerce
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import (
    Mapped,
    ORMExecuteState,
    Session,
    declared_attr,
    mapped_column,
    with_loader_criteria,
)
from sqlalchemy.orm.util import LoaderCriteriaOption

from backend.core.sqlite import use_one_trip_connections

if TYPE_CHECKING:
    from litestar.types import BeforeMessageSendHookHandler, Message, Scope

    from backend.settings import Settings

log = logging.getLogger("rathaus.db")

StatementT = TypeVar("StatementT", bound=Executable)

Base = UUIDv7AuditBase
metadata = orm_registry.metadata

ALL_TENANTS = "all_tenants"
TENANT_KEY = "tenant_id"
NO_TRANSACTION = "no_transaction"
READS, WRITES = "reads", "single-statement writes"


class TenantScopeError(RuntimeError):
    """Code tried to write a row of one municipality through a session scoped to another."""


class ReadOnlySessionError(RuntimeError):
    """Code tried to write through a session without a transaction in a way that is not atomic by itself."""


class TenantOwned:
    """Mixin for every table that belongs to one municipality.

    Rows of these tables are only ever visible through a session whose ``info["tenant_id"]`` names
    their municipality: the ``do_orm_execute`` hook below adds the criterion to every ORM select,
    update and delete, and a session without a tenant sees none of them. Jobs that really work across
    municipalities say so with ``execution_options(all_tenants=True)`` or ``unscoped_session``.
    """

    @declared_attr
    def tenant_id(cls) -> Mapped[uuid.UUID]:  # noqa: N805
        # The type is spelled out: a foreign key's type is only known once the tenant table is imported,
        # and SQL built at import time (e.g. bind parameters typed from this column) must not depend on that.
        return mapped_column(GUID, ForeignKey("tenant.id", ondelete="CASCADE"), index=True, nullable=False)


# A session without a municipality sees no tenant-owned row at all.
_NO_TENANT = with_loader_criteria(TenantOwned, lambda cls: false(), include_aliases=True)

# Building the criterion (and analysing its lambda) cost a quarter of every query, so it is built once per
# municipality and kept. Each entry's lambda closes over its own tenant id; with track_closure_variables that
# id becomes a bound parameter of the cache key, so the compiled SQL is shared and each execution binds the
# id of the option it carries (tests/integration/cases/test_tenant_scope.py proves that no id crosses over).
_CRITERIA_CACHE_SIZE = 1024


@lru_cache(maxsize=_CRITERIA_CACHE_SIZE)
def tenant_criteria(tenant_id: uuid.UUID) -> LoaderCriteriaOption:
    """The loader criterion limiting every TenantOwned entity of a statement to ``tenant_id``."""
    # type_coerce: the closure value must be bound with the column's type (binary GUID on SQLite).
    return with_loader_criteria(
        TenantOwned,
        lambda cls: cls.tenant_id == type_coerce(tenant_id, GUID),
        include_aliases=True,
        track_closure_variables=True,
    )


# Statements built once and executed many times (module level, values as bound parameters); see reusable().
_reusable: set[Executable] = set()
_SCOPED_CACHE_SIZE = 2048
_scoped: OrderedDict[tuple[Executable, uuid.UUID | None], Executable] = OrderedDict()


def reusable(statement: StatementT) -> StatementT:
    """Mark a statement that is built once and executed many times with bound parameters.

    The tenant hook keeps its scoped copy per municipality, so neither the copy nor its cache key (which
    holds that municipality's id as a bound value) is made again at every execution. Only for statements
    kept for the life of the process: each one marked is kept.
    """
    _reusable.add(statement)
    return statement


def _with_criteria(statement: Executable, tenant_id: uuid.UUID | None) -> Executable:
    criteria = _NO_TENANT if tenant_id is None else tenant_criteria(tenant_id)
    if statement not in _reusable:
        return statement.options(criteria)
    key = (statement, tenant_id)
    scoped = _scoped.get(key)
    if scoped is None:
        scoped = _scoped[key] = statement.options(criteria)
        if len(_scoped) > _SCOPED_CACHE_SIZE:
            _scoped.popitem(last=False)
    return scoped


# --- INSERT ... ON CONFLICT DO NOTHING, compiled once --------------------------------------------------------
# SQLAlchemy's own ON CONFLICT constructs (postgresql.insert, sqlite.insert) are never cached: each execution compiles
# the INSERT anew (about 0.2 ms, for every receipt, webhook message and device that follows a case). The same SQL,
# on both databases, from a plain INSERT of a class of its own per conflict target, which SQLAlchemy does cache.


class _InsertOrSkip(Insert):
    inherit_cache = True  # no state of its own: the class (one per conflict target) is part of the cache key
    conflict: tuple[str, ...] = ()


_insert_or_skip_classes: dict[tuple[str, ...], type[_InsertOrSkip]] = {}


def insert_or_skip(table: Table, *conflict: str) -> Insert:
    """``INSERT INTO table ... ON CONFLICT (conflict) DO NOTHING`` for PostgreSQL and SQLite; without RETURNING."""
    cls = _insert_or_skip_classes.get(conflict)
    if cls is None:
        name = "InsertOrSkip_" + "_".join(conflict)
        cls = _insert_or_skip_classes[conflict] = type(
            name, (_InsertOrSkip,), {"inherit_cache": True, "conflict": conflict}
        )
    return cls(table)


@compiles(_InsertOrSkip)
def _compile_insert_or_skip(element: _InsertOrSkip, compiler: Any, **kw: Any) -> str:
    if element._returning:
        raise NotImplementedError("insert_or_skip() takes no RETURNING")
    target = ", ".join(compiler.preparer.quote(column) for column in element.conflict)
    return f"{compiler.visit_insert(element, **kw)} ON CONFLICT ({target}) DO NOTHING"


# --- the database's own wall (PostgreSQL) --------------------------------------------------------------------
# Row-level security (migration 0033) shows a transaction only the rows of the municipality named in the setting
# rathaus.tenant: each session sets it when it begins (its municipality, "*" for an unscoped session, else
# nothing, which shows no row). A statement that spans municipalities in a scoped session (ALL_TENANTS) runs
# with "*" and the session's own value is set back right after it.
RLS_SETTING = "rathaus.tenant"
_RLS_TOLD = "rls_told"
_SET_RLS = text(f"SELECT set_config('{RLS_SETTING}', :value, false)")
# Kept with the database connection (Connection.info lives as long as it): the value it holds for sure. Only a
# value set outside a transaction is sure (no rollback can take it back); a value set in one makes it unknown.
_HELD = "rathaus_rls_held"


def _rls_value(session: Session) -> str:
    if session.info.get(ALL_TENANTS):
        return "*"
    tenant_id = session.info.get(TENANT_KEY)
    return str(tenant_id) if tenant_id else ""


def _tell(session: Session, connection: Any, value: str, *, unless_held: bool = False) -> None:
    autocommit = connection.get_execution_options().get("isolation_level") == "AUTOCOMMIT"
    if not (unless_held and autocommit and connection.info.get(_HELD) == value):
        connection.execute(_SET_RLS, {"value": value})
        if autocommit:
            connection.info[_HELD] = value
        else:
            connection.info.pop(_HELD, None)
    session.info[_RLS_TOLD] = value


@event.listens_for(Session, "after_begin")
def _tell_the_database(session: Session, transaction: Any, connection: Any) -> None:
    # Session-level (not local): a session without a transaction runs each statement in one of its own. Every
    # session sets it as it begins, so a value left on a pooled connection never reaches the next one; only a
    # session without a transaction whose connection surely holds its value already (the read-only pages of a
    # busy municipality) saves that round trip.
    if connection.dialect.name == "postgresql":
        _tell(session, connection, _rls_value(session), unless_held=True)


def _keep_told(session: Session) -> None:
    """The session's municipality was set after it began: tell the database too."""
    told = session.info.get(_RLS_TOLD)
    if told is not None and session.in_transaction() and told != _rls_value(session):
        _tell(session, session.connection(), _rls_value(session))


def _across_tenants(state: ORMExecuteState) -> Any:
    """Run a statement marked ALL_TENANTS in a scoped session past the database's wall (PostgreSQL)."""
    session = state.session
    connection = session.connection()  # begins if need be: after_begin has told the database
    told = session.info.get(_RLS_TOLD)
    if told is None or told == "*":  # not PostgreSQL, or already unscoped
        return None
    _tell(session, connection, "*")
    try:
        result = state.invoke_statement()
    except Exception:
        # A failed statement's transaction takes no more statements; its rollback takes "*" back with it, and
        # the next statement of the session tells the database again (_keep_told). The statement's own error
        # is the one to raise.
        with contextlib.suppress(Exception):
            _tell(session, connection, _rls_value(session))
        raise
    _tell(session, connection, _rls_value(session))
    return result


@event.listens_for(Session, "do_orm_execute")
def _scope_to_tenant(state: ORMExecuteState) -> Any:
    if not state.is_select and state.session.info.get(NO_TRANSACTION) == READS:
        raise ReadOnlySessionError("write through a read-only session")
    if not (state.is_select or state.is_update or state.is_delete):
        return None
    if state.session.info.get(ALL_TENANTS):
        return None
    if state.execution_options.get(ALL_TENANTS):
        return _across_tenants(state)
    if state.is_column_load or state.is_relationship_load:
        return None
    _keep_told(state.session)
    state.statement = _with_criteria(state.statement, state.session.info.get(TENANT_KEY))
    return None


@event.listens_for(Session, "before_flush")
def _stamp_tenant(session: Session, flush_context: Any, instances: Any) -> None:
    if session.info.get(NO_TRANSACTION) and (session.new or session.dirty or session.deleted):
        raise ReadOnlySessionError("flush through a session without a transaction")
    if session.info.get(ALL_TENANTS):
        return
    _keep_told(session)
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


async def without_transaction(session: AsyncSession, *, single_statement_writes: bool = False) -> bool:
    """Run the session's statements without a transaction around them: each is atomic on its own.

    That saves the BEGIN and COMMIT round trips, the dearest part of a request that runs one or two
    statements. Each statement sees its own snapshot, as each statement of a READ COMMITTED transaction does
    anyway, so whatever must agree is read in one statement. Writes are refused (ReadOnlySessionError)
    unless ``single_statement_writes``; even then the session refuses to flush ORM objects, since a flush
    may take several statements that must commit together. Only a session that has not begun can switch;
    returns whether it did.
    """
    if session.in_transaction():
        return False
    session.info[NO_TRANSACTION] = WRITES if single_statement_writes else READS
    if not single_statement_writes and session.bind is not None:
        if session.bind.dialect.name == "sqlite":
            # SQLite's driver begins a transaction only before a write, and reads are refused here: the reads
            # run without one as they are. Switching the connection to autocommit and back would only cost two
            # calls into the driver's thread.
            return True
        # The connection is taken when the first statement needs it, so a page served from the caches takes
        # none from the pool: the session's engine becomes its autocommit twin (same pool and events).
        session.sync_session.bind = _autocommit_twin(session.sync_session.bind)
        return True
    await session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
    return True


def _autocommit_twin(engine: Any) -> Any:
    # Kept on the engine itself: a table beside it would keep every engine of a process alive (the twin refers
    # to its engine), and a process that builds many apps builds many engines.
    twin = getattr(engine, "_rathaus_autocommit_twin", None)
    if twin is None:
        twin = engine._rathaus_autocommit_twin = engine.execution_options(isolation_level="AUTOCOMMIT")
    return twin


async def read_only(session: AsyncSession) -> None:
    """A session that only reads, without a transaction (see without_transaction)."""
    await without_transaction(session)


class _Config(SQLAlchemyAsyncConfig):
    """advanced-alchemy gives each config its own scope and state keys (``key``, ``key_1``, ``key_2`` ...), trying
    them by recursion, one level per config made before in the process: a process that builds many apps (a test
    suite, a long-lived command) runs out of recursion depth. The same keys, found in a loop."""

    def _ensure_unique(self, registry_name: str, key: str, new_key: str | None = None, _iter: int = 0) -> str:
        taken = getattr(self.__class__, registry_name, set())
        candidate = new_key if new_key is not None else key
        while candidate in taken:
            _iter += 1
            candidate = f"{key}_{_iter}"
        return candidate


def alchemy_config(settings: Settings) -> SQLAlchemyAsyncConfig:
    engine_kwargs: dict[str, Any] = {}
    connect_args: dict[str, Any] = {}
    if settings.is_sqlite:
        connect_args = {"timeout": 30}
        # As on PostgreSQL below: a connection beyond the pool is closed when returned, and a new one costs a
        # thread, the file's opening and its pragmas - every few requests under load with the default of five.
        engine_kwargs.update(pool_size=20, max_overflow=10)
    else:
        # No pool_pre_ping: on asyncpg it costs three round trips (BEGIN, ";", ROLLBACK) at every checkout.
        # A connection the server dropped fails its next statement instead; SQLAlchemy recognises the
        # disconnect, invalidates the pool (so the other stale connections are replaced too), and that one
        # request gets the error page (tests/integration/cases/test_database_outage.py). pool_recycle
        # replaces connections before idle timeouts of servers or firewalls close them.
        # The pool holds what one process has in flight under load: connections beyond pool_size are closed
        # when returned, so a pool smaller than the usual concurrency opens a new connection (TLS attempt,
        # type introspection) every few requests.
        engine_kwargs.update(pool_size=20, max_overflow=10, pool_recycle=1800)
        # Every statement is planned for its values: a prepared statement's generic plan (after five runs) knows
        # only averages, and a town with a hundred thousand cases is no average of four hundred towns - the
        # inbox's plan for a service of a big town went from an index-only scan to a sort of the whole town.
        connect_args = {"server_settings": {"plan_cache_mode": "force_custom_plan"}}
    config = _Config(
        connection_string=settings.database_url,
        # enable_cache_listener: advanced-alchemy's cache (not used) checks this on every commit, and without
        # the flag in session.info it asks the engine, which builds a new option engine each time.
        session_config=AsyncSessionConfig(expire_on_commit=False, info={"enable_cache_listener": False}),
        # hide_parameters: a database error's message never carries the values of the statement (answers,
        # e-mail addresses, tokens), so neither do the logs it reaches.
        engine_config=EngineConfig(connect_args=connect_args, hide_parameters=True, **engine_kwargs),
        create_all=False,
        session_dependency_key="db_session",
        # No model uses advanced-alchemy's FileObject type: its flush/commit listeners would only cost time.
        enable_file_object_listener=False,
    )
    config.before_send_handler = end_of_request(config.session_scope_key)
    install_sqlite_pragmas(config)
    return config


def end_of_request(session_scope_key: str) -> BeforeMessageSendHookHandler:
    """One transaction per request: commit it when the answer is a success or a redirect, else roll it back.

    As advanced-alchemy's "autocommit_include_redirects" handler, but a session with nothing to end (one
    without a transaction, one that never began or whose service committed already) is only closed, and a
    failed commit is logged as the error it is.
    """

    async def handler(message: Message, scope: Scope) -> None:
        session: AsyncSession | None = get_aa_scope_state(scope, session_scope_key)
        if session is None:
            return
        try:
            # A read-only session has nothing to end: writes through it are refused whatever its connection.
            if (
                message["type"] == HTTP_RESPONSE_START
                and session.info.get(NO_TRANSACTION) != READS
                and session.in_transaction()
            ):
                if 200 <= message["status"] < 400:
                    await session.commit()
                else:
                    await session.rollback()
        except Exception:
            log.exception("the request's transaction could not be committed")
        finally:
            if message["type"] in SESSION_TERMINUS_ASGI_EVENTS:
                try:
                    await session.close()
                except Exception:
                    log.warning("closing the request's session failed", exc_info=True)
                delete_aa_scope_state(scope, session_scope_key)

    return handler


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
    use_one_trip_connections(engine)


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


READINESS_TIMEOUT = 3.0


async def database_reachable(config: SQLAlchemyAsyncConfig) -> bool:
    """Whether the database answers a trivial query within READINESS_TIMEOUT seconds (the readiness check)."""

    async def ask() -> None:
        async with config.get_engine().connect() as conn:
            await conn.execute(text("SELECT 1"))

    try:
        await asyncio.wait_for(ask(), READINESS_TIMEOUT)
    except Exception as exc:  # refused, unknown host, timeout, authentication: not ready, whatever the cause
        log.warning("readiness check: the database cannot be reached (%s)", type(exc).__name__)
        return False
    return True
