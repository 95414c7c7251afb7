"""The clerk's inbox and case page: filter, read, change status with a message, keep internal notes, mark as
duplicate, forward. Handling (claim, assign, move, prioritise, re-route, bulk) is in ``inbox.handling_pages``;
the case page every route answers with is ``inbox.case_page``.

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

from backend.accounts.services import StaffIdentity
from backend.cases import workflow
from backend.cases.controllers import _file_response
from backend.cases.conversation import ConversationService, discard, read_message
from backend.cases.duplicates import DuplicateRefused, DuplicateService
from backend.cases.models import PRIORITIES
from backend.cases.scope import CaseScope
from backend.cases.services import CaseService, ChangedMeanwhile, MessageRequired
from backend.cases.staff import STAFF_CASE_DEPENDENCIES
from backend.catalogue.controllers import provide_catalogue
from backend.catalogue.services import CatalogueService
from backend.core.deps import provide_storage
from backend.core.errors import Conflict
from backend.core.i18n import gettext as _
from backend.core.limits import UPLOAD_BODY_LIMIT
from backend.core.storage import Storage
from backend.inbox import forwarding
from backend.inbox.bulk import STAFF_TARGETS
from backend.inbox.case_page import case_page, changed_page, form_version, staff_actor
from backend.inbox.case_tools import FilledTemplate, filled_template
from backend.inbox.handling import HandlingService
from backend.inbox.services import InboxFilter, InboxService
from backend.inbox.views import SavedViewService

MAX_MESSAGE = 5000
# A case's reference, as the inbox names a case handed to another department (see _handle).
REFERENCE = re.compile(r"\d{4}-\d{5,9}")


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


class InboxController(Controller):
    path = "/staff"
    dependencies = {
        **STAFF_CASE_DEPENDENCIES,
        "storage": Provide(provide_storage),
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
        return await case_page(case_id, staff, cases, notice=done, template=(template, into) if template else None)

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
            return await case_page(
                case_id, staff, cases, form=form, status_code=422, error=_("Please choose the new status.")
            )
        if len(message) > MAX_MESSAGE:
            return await case_page(
                case_id,
                staff,
                cases,
                form=form,
                status_code=422,
                error=_("The message is too long (at most %(n)s characters).", n=MAX_MESSAGE),
            )
        try:
            await cases.change_status(case_id, to_status, staff_actor(staff), message, version=form_version(data))
        except ChangedMeanwhile as exc:
            return await changed_page(case_id, staff, cases, exc.by, form)
        except MessageRequired as exc:
            # The service's workflow wants a message with this status (checked in the one place statuses change).
            if exc.status == "needs_info":
                error = _("Please write what information you need from the citizen.")
            else:
                error = _(
                    "Please write a message to the citizen: the status “%(status)s” needs one.",
                    status=workflow.staff_label(exc.status),
                )
            return await case_page(case_id, staff, cases, form=form, status_code=422, error=error)
        except Conflict:
            return await case_page(
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
                await DuplicateService(cases).mark(case_id, original, staff_actor(staff), message)
            except DuplicateRefused as exc:
                errors[exc.field] = exc.message
        if errors:
            # Nothing was changed: the locks taken are given back before the page is shown again.
            await cases.session.rollback()
            return await case_page(case_id, staff, cases, duplicate={"form": form, "errors": errors}, status_code=422)
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
            return await case_page(case_id, staff, cases, form=form, status_code=code, error=error)
        try:
            await cases.add_message(
                case_id,
                staff_actor(staff),
                message.text,
                public=public,
                files=message.files,
                version=form_version(data),
            )
        except ChangedMeanwhile as exc:
            had_files = bool(message.files)
            await discard(cases, message)
            page = await changed_page(case_id, staff, cases, exc.by, form)
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
            return await case_page(case_id, staff, cases, status_code=422, forward=(values, errors))
        await forwarding.ForwardService(cases).forward(case_id, staff_actor(staff), form)
        return Redirect(path=f"/staff/cases/{case_id}?done=forwarded#forward-title", status_code=303)

    @post("/cases/{case_id:uuid}/forwards/{forward_id:uuid}/revoke")
    async def revoke_forward(
        self,
        case_id: FromPath[uuid.UUID],
        forward_id: FromPath[uuid.UUID],
        staff: NamedDependency[StaffIdentity],
        cases: NamedDependency[CaseService],
    ) -> Redirect:
        await forwarding.ForwardService(cases).revoke(case_id, forward_id, staff_actor(staff))
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
        return await _file_response(await cases.attachment(file_id, case_id=case_id), storage)
