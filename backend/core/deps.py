"""Dependencies every domain uses: the request's municipality and a session scoped to it."""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.datastructures import State
from litestar.di import NamedDependency
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.db import scope_session
from backend.core.storage import Storage
from backend.core.tenancy import TenantContext, tenant_of


async def provide_tenant(request: Request[Any, Any, Any]) -> TenantContext:
    return tenant_of(request)


async def provide_session(db_session: NamedDependency[AsyncSession], request: Request[Any, Any, Any]) -> AsyncSession:
    """The request's session, limited to the request's municipality (none on the platform host)."""
    tenant = request.state.get("tenant")
    return scope_session(db_session, tenant.id if tenant else None)


async def provide_storage(state: State) -> Storage:
    return state.storage  # type: ignore[no-any-return]
