"""Forwarding a case to someone outside the town hall: a private link by e-mail, a page without an account,
and their answers as internal entries of the case's timeline.

The link's token is made here and leaves only in the e-mail (through the outbox, in the same transaction as
the forward); the database keeps its hash. What the recipient sees is chosen by data minimisation: the
case's answers without the citizen's contact details, unless the clerk chose to share them.
"""

from __future__ import annotations

import datetime
import hashlib
import secrets
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from advanced_alchemy.mixins.uuid import uuid7
from sqlalchemy import select

from backend.cases.models import CaseEvent
from backend.cases.services import Actor, CaseService
from backend.catalogue.models import Service
from backend.catalogue.schemas import FormDefinition
from backend.core import i18n
from backend.core.errors import NotFound
from backend.core.i18n import gettext as _
from backend.core.text import clean_line, clean_text, email_address
from backend.inbox.models import CaseForward
from backend.notifications.services import in_language
from backend.notifications.staff_mail import FORWARD_KIND, queue_link_email

EXTERNAL_PATH = "/x/"
DAYS_DEFAULT = 14
DAYS_MAX = 60
MESSAGE_MAX = 5000
NAME_MAX = 200
TOKEN_MAX = 100
# Answers through one link per hour: a building yard reporting back never meets it; a leaked link cannot
# flood the case's timeline.
ANSWERS_PER_WINDOW = 10
ANSWER_WINDOW_SECONDS = 3600
# Timeline entries of forwarding (all internal: the citizen never sees them).
FORWARDED, REVOKED, ANSWERED = "forwarded", "forward_revoked", "external_answer"
EVENT_KINDS = (FORWARDED, REVOKED, ANSWERED)
# Fields whose answers are the citizen's contact details: shown to the recipient only when shared.
CONTACT_TYPES = ("email", "phone")


class ForwardGone(Exception):
    """The link has expired or was revoked."""


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def state_of(forward: CaseForward, now: datetime.datetime | None = None) -> str:
    """revoked, expired, answered (at least once, still valid) or open."""
    if forward.revoked_at is not None:
        return "revoked"
    if forward.expires_at <= (now or _now()):
        return "expired"
    return "answered" if forward.answered_at is not None else "open"


def state_label(state: str) -> str:
    return {
        "open": _("Open"),
        "answered": _("Answered"),
        "expired": _("Expired"),
        "revoked": _("Revoked"),
    }.get(state, state)


def recipient_line(forward: CaseForward) -> str:
    if forward.recipient_name:
        return f"{forward.recipient_name} <{forward.recipient_email}>"
    return forward.recipient_email


def shown_definition(definition: FormDefinition, include_contact: bool) -> FormDefinition:
    """The form as the recipient sees its answers: without contact fields unless the clerk shared them."""
    if include_contact:
        return definition
    return FormDefinition(fields=[f for f in definition.fields if f.type not in CONTACT_TYPES and not f.contact])


# --- the clerk's form -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ForwardInput:
    email: str
    name: str
    message: str
    include_contact: bool
    days: int


def parse_form(data: Mapping[str, Any]) -> tuple[dict[str, str], dict[str, str], ForwardInput | None]:
    """The fields as typed (to show again), the problems by field, and the forward if there are none."""
    values = {
        "email": clean_line(str(data.get("email") or ""))[:400],
        "name": clean_line(str(data.get("name") or ""))[: NAME_MAX * 2],
        "message": clean_text(str(data.get("message") or ""))[: MESSAGE_MAX * 2],
        "include_contact": "on" if data.get("include_contact") else "",
        "days": clean_line(str(data.get("days") or ""))[:10] or str(DAYS_DEFAULT),
    }
    errors: dict[str, str] = {}
    address = ""
    try:
        address = email_address(values["email"]) if values["email"] and len(values["email"]) <= 254 else ""
    except ValueError:
        address = ""
    if not address:
        errors["email"] = _("Please enter the recipient's e-mail address, e.g. bauhof@example.org.")
    if len(values["name"]) > NAME_MAX:
        errors["name"] = _("Please shorten the name to at most %(max)s characters.", max=NAME_MAX)
    if not values["message"]:
        errors["message"] = _("Please write what you ask the recipient.")
    elif len(values["message"]) > MESSAGE_MAX:
        errors["message"] = _("Please shorten the message to at most %(max)s characters.", max=MESSAGE_MAX)
    try:
        days = int(values["days"])
    except ValueError:
        days = 0
    if not 1 <= days <= DAYS_MAX:
        errors["days"] = _("Please enter a number of days from 1 to %(max)s.", max=DAYS_MAX)
    if errors:
        return values, errors, None
    form = ForwardInput(
        email=address,
        name=values["name"],
        message=values["message"],
        include_contact=bool(values["include_contact"]),
        days=days,
    )
    return values, errors, form


def blank_form() -> dict[str, str]:
    return {"email": "", "name": "", "message": "", "include_contact": "", "days": str(DAYS_DEFAULT)}


# --- the service ---------------------------------------------------------------------------------------------


class ForwardService:
    """Forwards of the request's municipality's cases; the timeline is written through the case service."""

    def __init__(self, cases: CaseService) -> None:
        self.cases = cases
        self.session = cases.session
        self.tenant = cases.tenant

    async def forward(self, case_id: uuid.UUID, actor: Actor, form: ForwardInput) -> CaseForward:
        """Record the forward, its timeline entry and its e-mail in one transaction."""
        case = await self.cases._lock(case_id)
        service_name = await self.session.scalar(select(Service.name).where(Service.id == case.service_id))
        token = secrets.token_urlsafe(32)
        now = _now()
        forward = CaseForward(
            id=uuid7(),
            tenant_id=self.tenant.id,
            case_id=case.id,
            recipient_email=form.email,
            recipient_name=form.name,
            message=form.message,
            include_contact=form.include_contact,
            token_hash=hash_token(token),
            created_by=actor.user_id,
            expires_at=now + datetime.timedelta(days=form.days),
        )
        self.session.add(forward)
        shared = (
            _("The citizen's contact address is shared.")
            if form.include_contact
            else _("The citizen's contact address is not shared.")
        )
        body = "\n".join(
            [
                recipient_line(forward),
                _("Link valid until %(date)s", date=i18n.fmt_date(forward.expires_at)),
                shared,
                "",
                form.message,
            ]
        )
        self._event(case.id, FORWARDED, actor.kind, actor.user_id, actor.name, body)
        self.cases.touch(case)
        await self.session.flush()
        await self._mail(forward, token, case.reference, dict(service_name or {}))
        return forward

    async def _mail(self, forward: CaseForward, token: str, reference: str, service_name: dict[str, str]) -> None:
        """The e-mail to the recipient, in the municipality's main language, from the municipality's name."""
        language = self.tenant.default_language_or_platform
        with in_language(language):
            service = service_name.get(language) or next(iter(service_name.values()), "")
            subject = _("Request %(ref)s: the town hall asks for your help", ref=reference)
            lines = [
                _(
                    "%(municipality)s forwards request %(ref)s (%(service)s) to you and asks:",
                    municipality=self.tenant.name,
                    ref=reference,
                    service=service,
                ),
                forward.message,
                _(
                    "Please open this private link to see the request and to answer. You need no account. "
                    "The link is valid until %(date)s.",
                    date=i18n.fmt_date(forward.expires_at),
                ),
            ]
            after = [
                _("Please do not pass the link on: anyone who has it can see the request."),
                _("Replies to this e-mail do not reach the town hall; please answer on the page."),
            ]
        await queue_link_email(
            self.session,
            self.tenant.id,
            email=forward.recipient_email,
            kind=FORWARD_KIND,
            subject=subject,
            lines=lines,
            path=EXTERNAL_PATH + token,
            after=after,
            language=language,
            case_id=forward.case_id,
        )

    async def of_case(self, case_id: uuid.UUID) -> list[CaseForward]:
        return list(
            await self.session.scalars(
                select(CaseForward)
                .where(CaseForward.case_id == case_id)
                .order_by(CaseForward.created_at.desc(), CaseForward.id.desc())
            )
        )

    async def revoke(self, case_id: uuid.UUID, forward_id: uuid.UUID, actor: Actor) -> CaseForward:
        """The link stops working at once; revoking twice changes nothing more."""
        case = await self.cases._lock(case_id)
        forward = await self.session.scalar(
            select(CaseForward).where(CaseForward.id == forward_id, CaseForward.case_id == case.id)
        )
        if forward is None:
            raise NotFound()
        if forward.revoked_at is None:
            forward.revoked_at = _now()
            self._event(case.id, REVOKED, actor.kind, actor.user_id, actor.name, recipient_line(forward))
            self.cases.touch(case)
            await self.session.flush()
        return forward  # type: ignore[no-any-return]

    # --- the recipient's side ---------------------------------------------------------------------------

    async def by_token(self, token: str) -> CaseForward:
        """The municipality's forward behind ``token``: NotFound if there is none, ForwardGone if it no longer
        works (expired or revoked)."""
        if not token or len(token) > TOKEN_MAX:
            raise NotFound()
        forward = await self.session.scalar(select(CaseForward).where(CaseForward.token_hash == hash_token(token)))
        if forward is None:
            raise NotFound()
        if state_of(forward) in ("expired", "revoked"):
            raise ForwardGone()
        return forward  # type: ignore[no-any-return]

    async def answer(self, forward: CaseForward, text: str) -> CaseEvent:
        """The recipient's answer: an internal timeline entry; the case shows up in the inbox as changed."""
        case = await self.cases._lock(forward.case_id)
        event = self._event(case.id, ANSWERED, "external", None, forward.who[:NAME_MAX], text)
        forward.answered_at = _now()
        self.cases.touch(case, text)
        await self.session.flush()
        return event

    def _event(
        self, case_id: uuid.UUID, kind: str, actor_kind: str, actor_id: uuid.UUID | None, actor_name: str, body: str
    ) -> CaseEvent:
        event = CaseEvent(
            id=uuid7(),
            tenant_id=self.tenant.id,
            case_id=case_id,
            kind=kind,
            actor_kind=actor_kind,
            actor_id=actor_id,
            actor_name=actor_name,
            body=clean_text(body),
            public=False,
        )
        self.session.add(event)
        return event
