"""Handling a case from its page (claim, assign, move to a department, prioritise, re-route) and many cases at
once from the list (``POST /staff/bulk``). Each answers with the case page or the list's outcome; the work is
done by ``inbox.handling`` and ``inbox.bulk`` within the person's scope."""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Controller, Request, post
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.response import Redirect, Template

from backend.accounts.services import StaffIdentity
from backend.cases.services import CaseService, ChangedMeanwhile
from backend.cases.staff import STAFF_CASE_DEPENDENCIES
from backend.inbox.bulk import STAFF_TARGETS, BulkService, parse_bulk
from backend.inbox.case_page import case_page, changed_page, form_version, staff_actor
from backend.inbox.handling import Change, HandlingProblem, HandlingService


class HandlingController(Controller):
    path = "/staff"
    dependencies = STAFF_CASE_DEPENDENCIES

    async def _handle(
        self,
        case_id: uuid.UUID,
        request: Request[Any, Any, State],
        staff: StaffIdentity,
        cases: CaseService,
        action: str,
    ) -> Template | Redirect:
        data = await request.form()
        value = str(data.get(action) or "")[:200] if action != "claim" else ""
        handling, actor, version = HandlingService(cases), staff_actor(staff), form_version(data)
        try:
            change: Change
            if action == "claim":
                change = await handling.claim(case_id, actor, version)
            elif action == "assignee":
                change = await handling.assign(case_id, value, actor, version)
            elif action == "department":
                change = await handling.move(case_id, value, actor, version)
            elif action == "priority":
                change = await handling.set_priority(case_id, value, actor, version)
            else:
                change = await handling.reroute(case_id, value, actor, version)
        except ChangedMeanwhile as exc:
            return await changed_page(case_id, staff, cases, exc.by, {})
        except HandlingProblem as problem:
            return await case_page(
                case_id,
                staff,
                cases,
                form={problem.field: value},
                errors={problem.field: problem.message},
                error=problem.message,
                status_code=422,
            )
        if not cases.scope.allows(change.case.department_id):
            # Handed to a department the person does not work for: the case has left their inbox.
            return Redirect(path=f"/staff?done=moved&moved={change.case.reference}", status_code=303)
        done = {"claim": "claimed", "assignee": "assigned", "department": "moved"}.get(action, action)
        return Redirect(path=f"/staff/cases/{case_id}?done={done if change.changed else 'unchanged'}", status_code=303)

    @post("/cases/{case_id:uuid}/claim")
    async def claim(
        self,
        case_id: FromPath[uuid.UUID],
        request: Request[Any, Any, State],
        staff: NamedDependency[StaffIdentity],
        cases: NamedDependency[CaseService],
    ) -> Template | Redirect:
        return await self._handle(case_id, request, staff, cases, "claim")

    @post("/cases/{case_id:uuid}/assign")
    async def assign(
        self,
        case_id: FromPath[uuid.UUID],
        request: Request[Any, Any, State],
        staff: NamedDependency[StaffIdentity],
        cases: NamedDependency[CaseService],
    ) -> Template | Redirect:
        return await self._handle(case_id, request, staff, cases, "assignee")

    @post("/cases/{case_id:uuid}/department")
    async def department(
        self,
        case_id: FromPath[uuid.UUID],
        request: Request[Any, Any, State],
        staff: NamedDependency[StaffIdentity],
        cases: NamedDependency[CaseService],
    ) -> Template | Redirect:
        return await self._handle(case_id, request, staff, cases, "department")

    @post("/cases/{case_id:uuid}/priority")
    async def priority(
        self,
        case_id: FromPath[uuid.UUID],
        request: Request[Any, Any, State],
        staff: NamedDependency[StaffIdentity],
        cases: NamedDependency[CaseService],
    ) -> Template | Redirect:
        return await self._handle(case_id, request, staff, cases, "priority")

    @post("/cases/{case_id:uuid}/service")
    async def service(
        self,
        case_id: FromPath[uuid.UUID],
        request: Request[Any, Any, State],
        staff: NamedDependency[StaffIdentity],
        cases: NamedDependency[CaseService],
    ) -> Template | Redirect:
        return await self._handle(case_id, request, staff, cases, "service")

    # --- bulk ------------------------------------------------------------------------------------

    @post("/bulk", status_code=200)
    async def bulk(
        self,
        request: Request[Any, Any, State],
        staff: NamedDependency[StaffIdentity],
        cases: NamedDependency[CaseService],
    ) -> Template:
        """The chosen cases of the list, assigned or moved to a status; the answer lists each case's outcome."""
        data = await request.form()
        wanted = parse_bulk(data)
        bulk = BulkService(cases)
        await bulk.check(wanted)
        context: dict[str, Any] = {
            "staff": staff,
            "bulk": wanted,
            "staff_choices": await bulk.handling.staff(),
            "bulk_statuses": STAFF_TARGETS,
        }
        if wanted.errors:
            context["chosen"] = await bulk.chosen(wanted.case_ids)
            return Template("staff/bulk.html", context=context, status_code=422)
        context["outcomes"] = await bulk.run(wanted, staff_actor(staff))
        return Template("staff/bulk.html", context=context)
