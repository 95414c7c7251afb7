"""The clerk's inbox and case page: filter, read, change status with a message, keep internal notes, handle
(claim, assign, move, prioritise, re-route) one case or many.

Every route reads and changes cases through services built with the person's scope (cases.scope): a case
outside it is not found. A case form carries the case's version; an older one is refused with 409 and the
page as it is now, the typed text kept."""

from __future__ import annotations

import re
import uuid
from typing import Any

from litestar import Controller, Request, get, post
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, FromQuery
from litestar.plugins.htmx import HTMXRequest
from litestar.response import File, Redirect, Template

from backend.accounts.controllers import STAFF_DEPENDENCIES
from backend.accounts.departments import case_scope
from backend.accounts.services import StaffIdentity
from backend.cases import workflow
from backend.cases.controllers import _file_response
from backend.cases.conversation import ConversationService, discard, read_message
from backend.cases.duplicates import DuplicateRefused, DuplicateService
from backend.cases.feedback import feedback_for_case
from backend.cases.models import PRIORITIES
from backend.cases.scope import CaseScope
from backend.cases.services import Actor, CaseService, ChangedMeanwhile, MessageRequired
from backend.catalogue.controllers import provide_catalogue
from backend.catalogue.services import CatalogueService
from backend.core.db import scope_session
from backend.core.deps import provide_storage
from backend.core.errors import Conflict
from backend.core.i18n import gettext as _
from backend.core.limits import UPLOAD_BODY_LIMIT
from backend.core.storage import Storage
from backend.core.tenancy import tenant_of
from backend.inbox import forwarding
from backend.inbox.bulk import STAFF_TARGETS, BulkService, parse_bulk
from backend.inbox.case_tools import FilledTemplate, case_tools, filled_template, template_into_form
from backend.inbox.handling import HANDLING_KINDS, Change, HandlingProblem, HandlingService
from backend.inbox.services import InboxFilter, InboxService, due_now
from backend.inbox.views import SavedViewService

MAX_MESSAGE = 5000
# A case's reference, as the inbox names a case handed to another department (see _handle).
REFERENCE = re.compile(r"\d{4}-\d{5,9}")


async def provide_staff_scope(session: NamedDependency[Any], staff: NamedDependency[StaffIdentity]) -> CaseScope:
    """The cases the logged-in person works on (cases.scope)."""
    return CaseScope(staff.user_id, await case_scope(session, staff.user_id, staff.role))


async def provide_staff_cases(
    db_session: NamedDependency[Any], request: Request[Any, Any, State], staff_scope: NamedDependency[CaseScope]
) -> CaseService:
    """The case service of the request's municipality, limited to the person's scope."""
    tenant = tenant_of(request)
    return CaseService(scope_session(db_session, tenant.id), tenant, request.app.state.storage, staff_scope)


async def provide_inbox(
    session: NamedDependency[Any], tenant: NamedDependency[Any], staff_scope: NamedDependency[CaseScope]
) -> InboxService:
    return InboxService(session, tenant, scope=staff_scope)


async def provide_views(
    session: NamedDependency[Any], tenant: NamedDependency[Any], staff: NamedDependency[StaffIdentity]
) -> SavedViewService:
    return SavedViewService(session, tenant, staff.user_id)


async def inbox_page(
    request: HTMXRequest,
    staff: StaffIdentity,
    inbox: InboxService,
    cases: CaseService,
    catalogue: CatalogueService,
    views: SavedViewService,
    flt: InboxFilter,
    *,
    notice: str = "",
    view_form: dict[str, str] | None = None,
    view_error: str = "",
    status_code: int = 200,
    params: dict[str, str] | None = None,
) -> Template:
    """The inbox page (or, for htmx, its list) for the filter; also the page a saved view's error is shown on."""
    result = await inbox.list(flt)
    partial = request.htmx and request.htmx.target == "inbox-results"
    handling = HandlingService(cases)
    moved = (params or {}).get("moved", "")
    return Template(
        "staff/_inbox_results.html" if partial else "staff/inbox.html",
        context={
            "staff": staff,
            "result": result,
            "flt": flt,
            "services": await catalogue.all_services(),
            "statuses": workflow.STATUSES,
            "views": [] if partial else await views.mine(),
            "notice": notice,
            "view_form": view_form or {},
            "view_error": view_error,
            "staff_choices": await handling.staff(),
            "departments": await handling.departments(),
            "priorities": PRIORITIES,
            "bulk_statuses": STAFF_TARGETS,
            "moved": moved if REFERENCE.fullmatch(moved) else "",
        },
        status_code=status_code,
    )


def _actor(staff: StaffIdentity) -> Actor:
    return Actor("staff", staff.user_id, staff.display_name)


def _version(data: Any) -> int | None:
    """The case's version the form was shown with; None when the form has none (an older page)."""
    raw = data.get("version")
    if raw is None or raw == "":
        return None
    try:
        return int(str(raw)[:12])
    except ValueError:
        return -1  # never a version: refused as changed meanwhile rather than applied unchecked


def changed_meanwhile_text(by: Actor) -> str:
    if by.kind == "citizen":
        return _("This case was changed by the citizen meanwhile. Please check the current state and try again.")
    if by.name:
        return _(
            "This case was changed by %(name)s meanwhile. Please check the current state and try again.",
            name=by.name,
        )
    return _("This case was changed meanwhile. Please check the current state and try again.")


class InboxController(Controller):
    path = "/staff"
    dependencies = {
        **STAFF_DEPENDENCIES,
        "storage": Provide(provide_storage),
        "staff_scope": Provide(provide_staff_scope),
        "cases": Provide(provide_staff_cases),
        "catalogue": Provide(provide_catalogue),
        "inbox": Provide(provide_inbox),
        "views": Provide(provide_views),
    }

    @get("/")
    async def inbox(
        self,
        request: HTMXRequest,
        staff: NamedDependency[StaffIdentity],
        inbox: NamedDependency[InboxService],
        cases: NamedDependency[CaseService],
        catalogue: NamedDependency[CatalogueService],
        views: NamedDependency[SavedViewService],
    ) -> Template:
        # Read by hand: a value of the wrong type or repeated is ignored (or explained), never a 400 or a 500.
        params = {key: value for key, value in request.query_params.items() if isinstance(value, str)}
        notice = params.get("done", "")
        flt = InboxFilter.parse(params)
        return await inbox_page(request, staff, inbox, cases, catalogue, views, flt, notice=notice, params=params)

    @get("/cases/{case_id:uuid}")
    async def case(
        self,
        case_id: FromPath[uuid.UUID],
        staff: NamedDependency[StaffIdentity],
        cases: NamedDependency[CaseService],
        done: FromQuery[str] = "",
        template: FromQuery[str] = "",
        into: FromQuery[str] = "",
    ) -> Template:
        # Opening the case is seeing the citizen's reply: the inbox stops pointing it out.
        await ConversationService(cases).seen_by_staff(case_id)
        # ?template=<id>: the page again with the template's text in a form (the way without JavaScript).
        return await self._case_page(
            case_id, staff, cases, notice=done, template=(template, into) if template else None
        )

    async def _case_page(
        self,
        case_id: uuid.UUID,
        staff: StaffIdentity,
        cases: CaseService,
        *,
        notice: str = "",
        error: str = "",
        errors: dict[str, str] | None = None,
        form: dict[str, str] | None = None,
        duplicate: dict[str, Any] | None = None,
        status_code: int = 200,
        template: tuple[str, str] | None = None,
        forward: tuple[dict[str, str], dict[str, str]] | None = None,
    ) -> Template:
        view = await cases.by_id(case_id)
        due = await due_now(cases.session, cases.tenant)
        next_statuses = view.flow.next_statuses(view.case.status, "staff")
        tools = await case_tools(cases, view, forward)
        if template is not None:
            filled = template_into_form(tools["reply_templates"], view, cases.tenant, next_statuses, *template)
            if filled is None:
                error, status_code = _("This reply template is not available for this request."), 422
            else:
                form, tools["template_filled"] = filled
        duplicates = DuplicateService(cases)
        return Template(
            "staff/case.html",
            context={
                "staff": staff,
                "view": view,
                "due": due.state(view.case),
                "due_day": due.day(view.case),
                "next_statuses": next_statuses,
                "feedback": await feedback_for_case(cases, case_id),
                "handling": await HandlingService(cases).view(view.case),
                "handling_kinds": HANDLING_KINDS,
                "priorities": PRIORITIES,
                "notice": notice,
                "error": error,
                "errors": errors or {},
                "form": form or {},
                **tools,
                # The duplicate part (staff/_case_duplicate.html): the case's main case, its own duplicates, the
                # form to mark it as typed and its errors.
                "main_case": await duplicates.main_of(view.case),
                "duplicates": await duplicates.duplicates_of(case_id),
                "duplicate": duplicate or {"form": {}, "errors": {}},
                "open_statuses": workflow.OPEN_STATUSES,
            },
            status_code=status_code,
        )

    async def _changed(
        self, case_id: uuid.UUID, staff: StaffIdentity, cases: CaseService, by: Actor, form: dict[str, str]
    ) -> Template:
        """Someone else changed the case since the form was shown: nothing was done; the page as it is now."""
        text = changed_meanwhile_text(by)
        return await self._case_page(case_id, staff, cases, form=form, status_code=409, error=text)

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
        if not to_status:
            return await self._case_page(
                case_id, staff, cases, form=form, status_code=422, error=_("Please choose the new status.")
            )
        if len(message) > MAX_MESSAGE:
            return await self._case_page(
                case_id,
                staff,
                cases,
                form=form,
                status_code=422,
                error=_("The message is too long (at most %(n)s characters).", n=MAX_MESSAGE),
            )
        try:
            await cases.change_status(case_id, to_status, _actor(staff), message, version=_version(data))
        except ChangedMeanwhile as exc:
            return await self._changed(case_id, staff, cases, exc.by, form)
        except MessageRequired as exc:
            # The service's workflow wants a message with this status (checked in the one place statuses change).
            if exc.status == "needs_info":
                error = _("Please write what information you need from the citizen.")
            else:
                error = _(
                    "Please write a message to the citizen: the status “%(status)s” needs one.",
                    status=workflow.staff_label(exc.status),
                )
            return await self._case_page(case_id, staff, cases, form=form, status_code=422, error=error)
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

    @post("/cases/{case_id:uuid}/duplicate")
    async def mark_duplicate(
        self,
        case_id: FromPath[uuid.UUID],
        request: Request[Any, Any, State],
        staff: NamedDependency[StaffIdentity],
        cases: NamedDependency[CaseService],
    ) -> Template | Redirect:
        """Close this case as a duplicate of the case with the reference ``original``; its citizen follows that one."""
        data = await request.form()
        original = str(data.get("original") or "").strip()[:100]
        message = str(data.get("message") or "").strip()
        form = {"original": original, "message": message}
        errors: dict[str, str] = {}
        if len(message) > MAX_MESSAGE:
            errors["message"] = _("The message is too long (at most %(n)s characters).", n=MAX_MESSAGE)
        else:
            try:
                await DuplicateService(cases).mark(case_id, original, _actor(staff), message)
            except DuplicateRefused as exc:
                errors[exc.field] = exc.message
        if errors:
            # Nothing was changed: the locks taken are given back before the page is shown again.
            await cases.session.rollback()
            return await self._case_page(
                case_id, staff, cases, duplicate={"form": form, "errors": errors}, status_code=422
            )
        return Redirect(path=f"/staff/cases/{case_id}?done=duplicate#duplicate-title", status_code=303)

    @post("/cases/{case_id:uuid}/messages", opt=UPLOAD_BODY_LIMIT)
    async def add_message(
        self,
        case_id: FromPath[uuid.UUID],
        request: Request[Any, Any, State],
        staff: NamedDependency[StaffIdentity],
        cases: NamedDependency[CaseService],
    ) -> Template | Redirect:
        view = await cases.by_id(case_id)
        data = await request.form()
        public = data.get("visibility") == "public"
        message = await read_message(request, cases, view.service, text_field="body")
        form = {"body": message.text, "visibility": "public" if public else "internal"}
        error = " ".join(message.errors.values())
        if not message.text:
            error = _("Please write a message of at most %(n)s characters.", n=MAX_MESSAGE) + (
                " " + message.errors["files"] if "files" in message.errors else ""
            )
        elif message.files and not public:
            # Files on an internal note would sit in the case beside the citizen's; they go with messages only.
            error = _("Files can only be sent with a message to the citizen. Please choose them again.")
        if error:
            await discard(cases, message)
            code = 429 if message.rate_limited else 422
            return await self._case_page(case_id, staff, cases, form=form, status_code=code, error=error)
        try:
            await cases.add_message(
                case_id, _actor(staff), message.text, public=public, files=message.files, version=_version(data)
            )
        except ChangedMeanwhile as exc:
            had_files = bool(message.files)
            await discard(cases, message)
            page = await self._changed(case_id, staff, cases, exc.by, form)
            if had_files:
                page.context["error"] += " " + _("Please choose the files again.")
            return page
        return Redirect(path=f"/staff/cases/{case_id}?done={'message' if public else 'note'}", status_code=303)

    @get("/cases/{case_id:uuid}/reply-templates/{template_id:uuid}")
    async def reply_template(
        self,
        case_id: FromPath[uuid.UUID],
        template_id: FromPath[uuid.UUID],
        staff: NamedDependency[StaffIdentity],
        cases: NamedDependency[CaseService],
    ) -> FilledTemplate:
        """The template's text filled for this case, for the page's script (nothing is sent)."""
        return await filled_template(cases, case_id, template_id)

    @post("/cases/{case_id:uuid}/forward")
    async def forward(
        self,
        case_id: FromPath[uuid.UUID],
        request: Request[Any, Any, State],
        staff: NamedDependency[StaffIdentity],
        cases: NamedDependency[CaseService],
    ) -> Template | Redirect:
        await cases.by_id(case_id)  # another municipality's case: 404 before the form is read
        values, errors, form = forwarding.parse_form(await request.form())
        if form is None:
            return await self._case_page(case_id, staff, cases, status_code=422, forward=(values, errors))
        await forwarding.ForwardService(cases).forward(case_id, _actor(staff), form)
        return Redirect(path=f"/staff/cases/{case_id}?done=forwarded#forward-title", status_code=303)

    @post("/cases/{case_id:uuid}/forwards/{forward_id:uuid}/revoke")
    async def revoke_forward(
        self,
        case_id: FromPath[uuid.UUID],
        forward_id: FromPath[uuid.UUID],
        staff: NamedDependency[StaffIdentity],
        cases: NamedDependency[CaseService],
    ) -> Redirect:
        await forwarding.ForwardService(cases).revoke(case_id, forward_id, _actor(staff))
        return Redirect(path=f"/staff/cases/{case_id}?done=revoked#forward-title", status_code=303)

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

    # --- handling: claim, assign, move, priority, service ----------------------------------------

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
        handling, actor, version = HandlingService(cases), _actor(staff), _version(data)
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
            return await self._changed(case_id, staff, cases, exc.by, {})
        except HandlingProblem as problem:
            return await self._case_page(
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
        context["outcomes"] = await bulk.run(wanted, _actor(staff))
        return Template("staff/bulk.html", context=context)
