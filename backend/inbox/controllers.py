"""The clerk's inbox and case page: filter, read, change status with a message, keep internal notes."""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Controller, Request, get, post
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, FromQuery
from litestar.plugins.htmx import HTMXRequest
from litestar.response import File, Redirect, Template

from backend.accounts.controllers import STAFF_DEPENDENCIES
from backend.accounts.services import StaffIdentity
from backend.cases import workflow
from backend.cases.controllers import _file_response, provide_cases
from backend.cases.services import Actor, CaseService
from backend.catalogue.controllers import provide_catalogue
from backend.catalogue.services import CatalogueService
from backend.core.deps import provide_storage
from backend.core.errors import Conflict
from backend.core.i18n import gettext as _
from backend.core.storage import Storage
from backend.inbox.services import InboxFilter, InboxService

MAX_MESSAGE = 5000


async def provide_inbox(session: NamedDependency[Any], tenant: NamedDependency[Any]) -> InboxService:
    return InboxService(session, tenant)


def _actor(staff: StaffIdentity) -> Actor:
    return Actor("staff", staff.user_id, staff.display_name)


class InboxController(Controller):
    path = "/staff"
    dependencies = {
        **STAFF_DEPENDENCIES,
        "storage": Provide(provide_storage),
        "cases": Provide(provide_cases),
        "catalogue": Provide(provide_catalogue),
        "inbox": Provide(provide_inbox),
    }

    @get("/")
    async def inbox(
        self,
        request: HTMXRequest,
        staff: NamedDependency[StaffIdentity],
        inbox: NamedDependency[InboxService],
        catalogue: NamedDependency[CatalogueService],
        status: FromQuery[str] = "",
        service: FromQuery[str] = "",
        q: FromQuery[str] = "",
        page: FromQuery[int] = 1,
    ) -> Template:
        flt = InboxFilter(
            status=status if status in workflow.STATUSES else "", service=service[:80], q=q[:40], page=page
        )
        result = await inbox.list(flt)
        partial = request.htmx and request.htmx.target == "inbox-results"
        return Template(
            "staff/_inbox_results.html" if partial else "staff/inbox.html",
            context={
                "staff": staff,
                "result": result,
                "flt": flt,
                "services": await catalogue.all_services(),
                "statuses": workflow.STATUSES,
            },
        )

    @get("/cases/{case_id:uuid}")
    async def case(
        self,
        case_id: FromPath[uuid.UUID],
        staff: NamedDependency[StaffIdentity],
        cases: NamedDependency[CaseService],
        done: FromQuery[str] = "",
    ) -> Template:
        return await self._case_page(case_id, staff, cases, notice=done)

    async def _case_page(
        self,
        case_id: uuid.UUID,
        staff: StaffIdentity,
        cases: CaseService,
        *,
        notice: str = "",
        error: str = "",
        form: dict[str, str] | None = None,
        status_code: int = 200,
    ) -> Template:
        view = await cases.by_id(case_id)
        return Template(
            "staff/case.html",
            context={
                "staff": staff,
                "view": view,
                "next_statuses": workflow.next_statuses(view.case.status, "staff"),
                "notice": notice,
                "error": error,
                "form": form or {},
            },
            status_code=status_code,
        )

    @post("/cases/{case_id:uuid}/status")
    async def change_status(
        self,
        case_id: FromPath[uuid.UUID],
        request: Request[Any, Any, State],
        staff: NamedDependency[StaffIdentity],
        cases: NamedDependency[CaseService],
    ) -> Template | Redirect:
        data = await request.form()
        to_status = str(data.get("to_status") or "")
        message = str(data.get("message") or "").strip()
        form = {"to_status": to_status, "message": message}
        if len(message) > MAX_MESSAGE:
            return await self._case_page(
                case_id,
                staff,
                cases,
                form=form,
                status_code=422,
                error=_("The message is too long (at most %(n)s characters).", n=MAX_MESSAGE),
            )
        if to_status == "needs_info" and not message:
            return await self._case_page(
                case_id,
                staff,
                cases,
                form=form,
                status_code=422,
                error=_("Please write what information you need from the citizen."),
            )
        try:
            await cases.change_status(case_id, to_status, _actor(staff), message)
        except Conflict:
            return await self._case_page(
                case_id,
                staff,
                cases,
                form=form,
                status_code=409,
                error=_("This status change is not possible from the current status. Please choose another."),
            )
        return Redirect(path=f"/staff/cases/{case_id}?done=status", status_code=303)

    @post("/cases/{case_id:uuid}/messages")
    async def add_message(
        self,
        case_id: FromPath[uuid.UUID],
        request: Request[Any, Any, State],
        staff: NamedDependency[StaffIdentity],
        cases: NamedDependency[CaseService],
    ) -> Template | Redirect:
        data = await request.form()
        body = str(data.get("body") or "").strip()
        public = data.get("visibility") == "public"
        form = {"body": body, "visibility": "public" if public else "internal"}
        if not body or len(body) > MAX_MESSAGE:
            return await self._case_page(
                case_id,
                staff,
                cases,
                form=form,
                status_code=422,
                error=_("Please write a message of at most %(n)s characters.", n=MAX_MESSAGE),
            )
        await cases.add_message(case_id, _actor(staff), body, public=public)
        return Redirect(path=f"/staff/cases/{case_id}?done={'message' if public else 'note'}", status_code=303)

    @get("/cases/{case_id:uuid}/files/{file_id:uuid}")
    async def case_file(
        self,
        case_id: FromPath[uuid.UUID],
        file_id: FromPath[uuid.UUID],
        staff: NamedDependency[StaffIdentity],
        cases: NamedDependency[CaseService],
        storage: NamedDependency[Storage],
    ) -> File:
        await cases.by_id(case_id)
        return _file_response(await cases.attachment(file_id, case_id=case_id), storage)
