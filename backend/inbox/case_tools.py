"""What the case page needs for its reply templates and forwards, loaded up front (templates never query)."""

from __future__ import annotations

import datetime
import uuid
from typing import Any

import msgspec

from backend.cases.services import CaseService, CaseView
from backend.core.errors import NotFound
from backend.core.tenancy import TenantContext
from backend.inbox import forwarding
from backend.inbox.reply_templates import Offer, filled_for_case, offer_for_case

INTO = ("status", "message")


class FilledTemplate(msgspec.Struct):
    """A template's text filled for one case; ``status``: the status it is meant for, if any."""

    text: str
    status: str | None
    title: str


async def case_tools(
    cases: CaseService, view: CaseView, forward: tuple[dict[str, str], dict[str, str]] | None = None
) -> dict[str, Any]:
    """The templates offered for this case, its forwards with their states, and the forward form's state."""
    offer = await offer_for_case(cases.session, cases.tenant, view.case)
    now = datetime.datetime.now(datetime.UTC)
    forwards = await forwarding.ForwardService(cases).of_case(view.case.id)
    values, errors = forward if forward is not None else (forwarding.blank_form(), {})
    return {
        "reply_templates": offer,
        "template_filled": "",
        "forwards": [(f, forwarding.state_of(f, now)) for f in forwards],
        "forward_form": values,
        "forward_errors": errors,
        "forward_state_label": forwarding.state_label,
        "forward_recipient": forwarding.recipient_line,
        "forward_event_kinds": forwarding.EVENT_KINDS,
        "forward_days_max": forwarding.DAYS_MAX,
    }


def _uuid(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(value[:40])
    except ValueError:
        return None


def template_into_form(
    offer: Offer, view: CaseView, tenant: TenantContext, next_statuses: list[str], template: str, into: str
) -> tuple[dict[str, str], str] | None:
    """The form values with the chosen template's text in the status or the message form, and which one;
    None when the template is not one offered for this case."""
    template_id = _uuid(template)
    chosen = offer.find(template_id) if template_id else None
    if chosen is None:
        return None
    text = filled_for_case(chosen, view.case, view.service, tenant)
    if into not in INTO:
        into = "status" if chosen.status in next_statuses else "message"
    if into == "status" and next_statuses:
        return {"to_status": chosen.status if chosen.status in next_statuses else "", "message": text}, "status"
    return {"body": text, "visibility": "public"}, "message"


async def filled_template(cases: CaseService, case_id: uuid.UUID, template_id: uuid.UUID) -> FilledTemplate:
    view = await cases.by_id(case_id)
    offer = await offer_for_case(cases.session, cases.tenant, view.case)
    chosen = offer.find(template_id)
    if chosen is None:
        raise NotFound()
    return FilledTemplate(
        text=filled_for_case(chosen, view.case, view.service, cases.tenant), status=chosen.status, title=chosen.title
    )
