"""The staff's case page, as every case route answers with it: shown, refused with the typed text kept (422),
or after someone else changed the case meanwhile (409)."""

from __future__ import annotations

import uuid
from typing import Any

from litestar.response import Template

from backend.accounts.services import StaffIdentity
from backend.cases import workflow
from backend.cases.duplicates import DuplicateService
from backend.cases.feedback import feedback_for_case
from backend.cases.models import PRIORITIES
from backend.cases.services import Actor, CaseService
from backend.core.i18n import gettext as _
from backend.inbox.case_tools import case_tools, template_into_form
from backend.inbox.handling import HANDLING_KINDS, HandlingService
from backend.inbox.services import due_now


def staff_actor(staff: StaffIdentity) -> Actor:
    return Actor("staff", staff.user_id, staff.display_name)


def form_version(data: Any) -> int | None:
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


async def case_page(
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


async def changed_page(
    case_id: uuid.UUID, staff: StaffIdentity, cases: CaseService, by: Actor, form: dict[str, str]
) -> Template:
    """Someone else changed the case since the form was shown: nothing was done; the page as it is now."""
    text = changed_meanwhile_text(by)
    return await case_page(case_id, staff, cases, form=form, status_code=409, error=text)
