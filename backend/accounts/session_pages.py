"""A staff member's own sessions: where they are logged in, ending one, or signing out everywhere."""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Controller, Request, get, post
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template

from backend.accounts.controllers import STAFF_DEPENDENCIES
from backend.accounts.services import AccountService, StaffIdentity
from backend.accounts.staff_sessions import IDLE_TIMEOUT, StaffSessions

PAGE = "/staff/account/sessions"


class SessionsController(Controller):
    path = PAGE
    dependencies = STAFF_DEPENDENCIES

    @get("/")
    async def page(
        self,
        request: Request[Any, Any, State],
        staff: NamedDependency[StaffIdentity],
        accounts: NamedDependency[AccountService],
        done: FromQuery[str] = "",
    ) -> Template:
        rows = await StaffSessions(accounts.session).of(staff.user_id, (request.session or {}).get("sid"))
        minutes = int(IDLE_TIMEOUT.total_seconds() // 60)
        return Template(
            "staff/sessions.html", context={"staff": staff, "rows": rows, "notice": done, "idle_minutes": minutes}
        )

    @post("/{session_id:uuid}/end")
    async def end(
        self,
        request: Request[Any, Any, State],
        session_id: FromPath[uuid.UUID],
        staff: NamedDependency[StaffIdentity],
        accounts: NamedDependency[AccountService],
    ) -> Redirect:
        ended = await StaffSessions(accounts.session).end(staff.user_id, session_id)
        return Redirect(path=f"{PAGE}?done=ended" if ended else PAGE, status_code=303)

    @post("/end-all")
    async def end_all(
        self,
        request: Request[Any, Any, State],
        staff: NamedDependency[StaffIdentity],
        accounts: NamedDependency[AccountService],
    ) -> Redirect:
        await StaffSessions(accounts.session).end_all(staff.user_id)
        request.clear_session()
        return Redirect(path="/staff/login?logged_out=1", status_code=303)
