"""The conversation on a case: the citizen answers or adds information, clerks write back, both with files.

Files go through the same pipeline as the form's (cases.intake: bounds, rate, cleaning off the event loop),
taken as a one-message "draft" and then tied to the case and to the timeline entry they came with.
"""

from __future__ import annotations

import datetime
import secrets
import uuid
from dataclasses import dataclass, field
from typing import Any

from advanced_alchemy.mixins.uuid import uuid7
from litestar import Request
from sqlalchemy import select, update

from backend.cases import workflow
from backend.cases.intake import StepFiles, take_files
from backend.cases.models import Attachment, Case, CaseEvent
from backend.cases.services import CITIZEN, CaseService
from backend.catalogue.models import Service
from backend.catalogue.schemas import Field, FormDefinition
from backend.core.errors import Conflict, NotFound
from backend.core.i18n import gettext as _
from backend.core.text import clean_text

MAX_MESSAGE = 5000
MAX_FILES = 5
# Replies one client may send to one municipality per window: a citizen answering a question never meets it.
REPLIES_PER_WINDOW = 20
REPLY_WINDOW_SECONDS = 3600

FILES_FIELD = "files"
# The message forms' one file field: photos or PDF, as the form's document fields take them.
MESSAGE_FILES = FormDefinition(
    fields=[Field(name=FILES_FIELD, type="file", label={"en": "Files"}, max_files=MAX_FILES, accept="document")]
)
# A case's status when the citizen has answered the town hall's question: back to the clerk.
ANSWERED = {"needs_info": "in_review"}


@dataclass
class MessageInput:
    """A message form as posted: the text as typed, the files taken, and what is wrong with them."""

    text: str
    files: list[Attachment] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)
    rate_limited: bool = False


async def read_message(
    request: Request[Any, Any, Any], cases: CaseService, service: Service, *, text_field: str
) -> MessageInput:
    """Read a message form: the text (bounded) and its files through the form's upload checks."""
    data = await request.form()
    text = clean_text(str(data.get(text_field) or ""))
    if len(text) > MAX_MESSAGE:  # refused before any file is cleaned and stored
        too_long = _("Your message is too long (at most %(n)s characters).", n=MAX_MESSAGE)
        return MessageInput(text=text, errors={text_field: too_long})
    step: StepFiles = await take_files(
        request, cases, service, MESSAGE_FILES, "msg-" + secrets.token_urlsafe(18), data, accept_uploads=True
    )
    found = MessageInput(text=text, files=step.files.get(FILES_FIELD, []), rate_limited=step.rate_limited)
    if FILES_FIELD in step.errors:
        found.errors[FILES_FIELD] = step.errors[FILES_FIELD]
        await discard(cases, found)
    elif not text and not found.files:
        found.errors[text_field] = _("Please write a message or add a photo or file.")
    return found


async def discard(cases: CaseService, message: MessageInput) -> None:
    """A refused message is rolled back with its rows: the files of it that were stored go too."""
    for stored in message.files:
        await cases.storage.delete(stored.storage_key)
    message.files = []


async def over_reply_limit(request: Request[Any, Any, Any], cases: CaseService) -> bool:
    client = request.client.host if request.client else ""
    count = await request.app.state.limiter.hit(f"{cases.tenant.id}:reply:{client}", REPLY_WINDOW_SECONDS)
    return bool(count > REPLIES_PER_WINDOW)


class ConversationService:
    """Replies and their flag; the status changes only through CaseService.change_status."""

    def __init__(self, cases: CaseService) -> None:
        self.cases = cases
        self.session = cases.session
        self.tenant = cases.tenant

    async def open_case(self, token: str) -> tuple[Case, Service]:
        """The case behind a tracking token with its service; a closed case takes no reply (Conflict)."""
        row = (
            await self.session.execute(
                select(Case, Service).join(Service, Service.id == Case.service_id).where(Case.tracking_token == token)
            )
        ).first()
        if row is None:
            raise NotFound()
        case, service = row
        if case.status not in workflow.OPEN_STATUSES:
            raise Conflict(_("This request is closed, so it takes no more answers."))
        return case, service

    async def reply(self, case_id: uuid.UUID, text: str, files: list[Attachment]) -> CaseEvent:
        """The citizen's answer: a public timeline entry with its files; an answer to a question goes back to
        the clerk. Either way the case is marked "citizen replied" until a clerk opens it."""
        case = await self.cases._lock(case_id)
        if case.status not in workflow.OPEN_STATUSES:
            raise Conflict(_("This request is closed, so it takes no more answers."))
        now = datetime.datetime.now(datetime.UTC)
        event = CaseEvent(
            id=uuid7(),
            tenant_id=self.tenant.id,
            case_id=case.id,
            kind="citizen_reply",
            actor_kind="citizen",
            body=text.strip(),
            public=True,
        )
        self.session.add(event)
        case.citizen_replied_at = now
        self.cases.touch(case, event.body)
        await self.session.flush()
        await self.cases.attach(case, event, files)
        back_to = ANSWERED.get(case.status)
        if back_to is not None:
            await self.cases.change_status(case.id, back_to, CITIZEN)
        return event

    async def seen_by_staff(self, case_id: uuid.UUID) -> None:
        """A clerk opened the case: the reply has been seen. One conditional statement, nothing when unmarked
        (or when the case is not the clerk's to see)."""
        await self.session.execute(
            update(Case)
            .where(Case.id == case_id, Case.citizen_replied_at.is_not(None), self.cases.scope.condition())
            .values(citizen_replied_at=None)
            .execution_options(synchronize_session=False)
        )

    async def set_emails(self, token: str, *, on: bool) -> Case:
        case = await self.session.scalar(select(Case).where(Case.tracking_token == token))
        if case is None:
            raise NotFound()
        case.emails_off = not on
        await self.session.flush()
        return case  # type: ignore[no-any-return]
