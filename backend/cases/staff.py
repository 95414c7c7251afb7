"""Dependencies of every staff route that reads cases: the person's scope (cases.scope) and a case service
limited to it. A staff route takes ``STAFF_CASE_DEPENDENCIES`` and never the citizens' unscoped service, so
what a clerk sees — a case, a list, a figure, a live event — follows the same rule."""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide

from backend.accounts.controllers import STAFF_DEPENDENCIES
from backend.accounts.departments import case_scope
from backend.accounts.services import StaffIdentity
from backend.cases.scope import CaseScope
from backend.cases.services import CaseService
from backend.core.db import scope_session
from backend.core.tenancy import tenant_of


async def provide_staff_scope(session: NamedDependency[Any], staff: NamedDependency[StaffIdentity]) -> CaseScope:
    """The cases the logged-in person works on (cases.scope)."""
    return CaseScope(staff.user_id, await case_scope(session, staff.user_id, staff.role))


async def provide_staff_cases(
    db_session: NamedDependency[Any], request: Request[Any, Any, State], staff_scope: NamedDependency[CaseScope]
) -> CaseService:
    """The case service of the request's municipality, limited to the person's scope."""
    tenant = tenant_of(request)
    return CaseService(scope_session(db_session, tenant.id), tenant, request.app.state.storage, staff_scope)


STAFF_CASE_DEPENDENCIES = {
    **STAFF_DEPENDENCIES,
    "staff_scope": Provide(provide_staff_scope),
    "cases": Provide(provide_staff_cases),
}
