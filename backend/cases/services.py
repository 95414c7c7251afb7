"""Submitting, tracking and changing cases: the only place a case is written."""

from __future__ import annotations

import datetime
import functools
import secrets
import uuid
from dataclasses import dataclass, field
from typing import Any

from advanced_alchemy.mixins.uuid import uuid7
from sqlalchemy import ColumnElement, Select, bindparam, func, select, text, update
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import load_only, make_transient_to_detached

from backend.cases import deadlines, search, workflow
from backend.cases.events import CaseSubmitted, CaseUpdated
from backend.cases.models import Attachment, Case, CaseEvent, CaseFeedback, ReferenceCounter
from backend.cases.scope import EVERY_CASE, CaseScope
from backend.cases.uploads import CleanFile
from backend.catalogue.models import FormVersion, Service
from backend.catalogue.schemas import FormDefinition
from backend.catalogue.services import CatalogueService
from backend.core import live
from backend.core.db import read_only, reusable, without_transaction
from backend.core.errors import Conflict, NotFound
from backend.core.events import emit
from backend.core.sqlite import SHORT_READ
from backend.core.storage import Storage
from backend.core.tenancy import TenantContext
from backend.core.text import clean_text

IDEMPOTENCY_KEY_CHARS = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_")


def valid_idempotency_key(key: str | None) -> bool:
    return bool(key) and 16 <= len(key or "") <= 64 and set(key or "") <= IDEMPOTENCY_KEY_CHARS


def new_idempotency_key() -> str:
    return secrets.token_urlsafe(18)


_counter = ReferenceCounter.__table__.c
# The next number of a municipality's year, made and taken in one statement (the row stays locked until the
# transaction ends). Plain SQL that both databases understand, built once: the dialects' own INSERT ... ON
# CONFLICT constructs are compiled anew on every execution because they cannot be cached.
NEXT_REFERENCE = text(
    "INSERT INTO reference_counter (id, tenant_id, year, last_number, created_at, updated_at) "
    "VALUES (:id, :tenant_id, :year, 1, :now, :now) "
    "ON CONFLICT (tenant_id, year) DO UPDATE "
    "SET last_number = reference_counter.last_number + 1, updated_at = :now "
    "RETURNING last_number"
).bindparams(
    bindparam("id", type_=_counter.id.type),
    bindparam("tenant_id", type_=_counter.tenant_id.type),
    bindparam("year", type_=_counter.year.type),
    bindparam("now", type_=_counter.updated_at.type),
)

# On PostgreSQL a submission is written by ONE statement: every network round trip costs more than the rest
# of the work, and the counter row is then locked for the time of that statement only (the reference stays
# gap-free: a failed statement - e.g. the same idempotency key again - rolls the counter back with it).
# The same columns as the models and the ORM path below (SQLite) write; tenant ids are explicit here, as
# raw SQL is not scoped by core.db's hook. Kept in step with the models by the tests, which run on both.
_SUBMIT_CASE_COLUMNS = (
    "id",
    "tenant_id",
    "service_id",
    "form_version_id",
    "tracking_token",
    "idempotency_key",
    "status",
    "answers",
    "location",
    "contact_email",
    "language",
    "due_at",
    "summary",
    "last_activity_at",
    "department_id",
)
_SUBMIT_SQL = """
WITH number AS (
    INSERT INTO reference_counter (id, tenant_id, year, last_number, created_at, updated_at)
    VALUES (:counter_id, :tenant_id, :year, 1, :now, :now)
    ON CONFLICT (tenant_id, year) DO UPDATE
    SET last_number = reference_counter.last_number + 1, updated_at = :now
    RETURNING last_number::text AS n
), new_case AS (
    INSERT INTO case_file (id, tenant_id, service_id, form_version_id, reference, tracking_token, idempotency_key,
                           status, answers, location, contact_email, language, due_at, summary, last_activity_at,
                           department_id, search_text, created_at, updated_at)
    SELECT :id, :tenant_id, :service_id, :form_version_id,
           :year || '-' || lpad(number.n, greatest(5, length(number.n)), '0'),
           :tracking_token, :idempotency_key, :status, :answers, :location, :contact_email, :language, :due_at,
           :summary, :last_activity_at, :department_id,
           concat_ws(' ', :year || '-' || lpad(number.n, greatest(5, length(number.n)), '0'), :search_text),
           :now, :now
    FROM number
    RETURNING id, reference
), first_event AS (
    INSERT INTO case_event (id, tenant_id, case_id, kind, actor_kind, actor_name, to_status, body, public,
                            created_at, updated_at)
    SELECT :event_id, :tenant_id, new_case.id, 'submitted', 'citizen', '', 'submitted', '', true, :now, :now
    FROM new_case
){files}
SELECT reference FROM new_case
"""
_SUBMIT_FILES_SQL = """, files AS (
    UPDATE attachment SET case_id = new_case.id FROM new_case
    WHERE attachment.tenant_id = :tenant_id AND attachment.draft_key = :idempotency_key
      AND attachment.id IN :file_ids
)"""
_case = Case.__table__.c
_submit_types = [bindparam(column, type_=_case[column].type) for column in _SUBMIT_CASE_COLUMNS] + [
    bindparam("search_text", type_=_case.search_text.type),
    bindparam("counter_id", type_=_counter.id.type),
    bindparam("event_id", type_=_case.id.type),
    bindparam("year", type_=_counter.year.type),
    bindparam("now", type_=_counter.updated_at.type),
]
SUBMIT_ONE_STATEMENT = text(_SUBMIT_SQL.format(files="")).bindparams(*_submit_types)
SUBMIT_ONE_STATEMENT_WITH_FILES = text(_SUBMIT_SQL.format(files=_SUBMIT_FILES_SQL)).bindparams(
    *_submit_types, bindparam("file_ids", type_=_case.id.type, expanding=True)
)


def _case_page(which: ColumnElement[bool], *, public: bool) -> Select[Any]:
    """A case with its service and its timeline (one row per event), built once: see core.db.reusable.

    The citizen's page also reads the citizen's feedback answers (none, or one per closing; see cases.feedback)
    in the same statement, as a fourth entity: a row per event and answer. A statement of their own would be a
    round trip more for a closed case's page, the page a citizen opens from the notification that it was closed."""
    timeline = CaseEvent.case_id == Case.id
    if public:
        timeline &= CaseEvent.public.is_(True)
    statement = (
        select(Case, Service, CaseEvent)
        .join(Service, Service.id == Case.service_id)
        .outerjoin(CaseEvent, timeline)
        .where(which)
        .order_by(CaseEvent.created_at, CaseEvent.id)
        .execution_options(**SHORT_READ)
    )
    if public:
        # The citizen's page shows the service's name (and its wording of the statuses) only: its other texts
        # are not read (and decoded) for every row; touching one raises instead of loading it quietly.
        statement = statement.options(load_only(Service.slug, Service.name, Service.workflow, raiseload=True))
        statement = (
            statement.add_columns(CaseFeedback)
            .outerjoin(CaseFeedback, CaseFeedback.case_id == Case.id)
            .order_by(CaseFeedback.round)
        )
    return reusable(statement)


CASE_BY_IDEMPOTENCY_KEY = reusable(select(Case).where(Case.idempotency_key == bindparam("key")))
CASE_PAGE_BY_TOKEN = _case_page(Case.tracking_token == bindparam("token"), public=True)
CASE_PAGE_BY_ID = _case_page(Case.id == bindparam("case_id"), public=False)


@dataclass(frozen=True)
class Actor:
    kind: str  # "citizen" | "staff" | "system"
    user_id: uuid.UUID | None = None
    name: str = ""


CITIZEN = Actor("citizen")
# Timeline entries that may come with files (see cases.conversation).
MESSAGE_KINDS = ("citizen_reply", "public_message")


@dataclass
class CaseView:
    """Everything a case page shows, loaded up front (templates never query)."""

    case: Case
    service: Service
    definition: FormDefinition
    events: list[CaseEvent]
    attachments: dict[str, Attachment] = field(default_factory=dict)
    event_files: dict[uuid.UUID, list[Attachment]] = field(default_factory=dict)  # files sent with a message
    # The citizen's feedback answers, by round: read with the citizen's page; None where a page does not read them.
    feedback: list[CaseFeedback] | None = None

    @functools.cached_property
    def flow(self) -> workflow.Workflow:
        """The service's workflow: which statuses come next, and how the citizen reads them."""
        return workflow.of(self.service.workflow)

    @property
    def question(self) -> CaseEvent | None:
        """While the case waits for the citizen: the town hall's last public message, which says what it needs."""
        if self.case.status != "needs_info":
            return None
        asked = [e for e in self.events if e.public and e.actor_kind == "staff" and e.body]
        return asked[-1] if asked else None


class MessageRequired(Conflict):
    """The service's workflow lets a clerk set this status only with a message to the citizen."""

    def __init__(self, status: str) -> None:
        super().__init__(status)
        self.status = status


class ChangedMeanwhile(Conflict):
    """The case changed after the form was shown (it carried an older version): nothing was changed.
    ``by`` made the latest change."""

    def __init__(self, by: Actor) -> None:
        super().__init__("changed meanwhile")
        self.by = by


class CaseService:
    def __init__(
        self, session: AsyncSession, tenant: TenantContext, storage: Storage, scope: CaseScope = EVERY_CASE
    ) -> None:
        self.session = session
        self.tenant = tenant
        self.storage = storage
        # Whose cases this service may read and change (see cases.scope): staff routes pass the person's.
        self.scope = scope

    # --- uploads -------------------------------------------------------------------------------

    async def store_file(
        self, draft_key: str, service_id: uuid.UUID, field_name: str, filename: str, clean: CleanFile
    ) -> Attachment:
        """Keep a cleaned file for a draft of the given service."""
        key = await self.storage.put(self.tenant.id, clean.data, clean.suffix)
        attachment = Attachment(
            tenant_id=self.tenant.id,
            draft_key=draft_key,
            service_id=service_id,
            field_name=field_name,
            filename=_safe_filename(filename, clean.suffix),
            content_type=clean.content_type,
            size=len(clean.data),
            storage_key=key,
            width=clean.width,
            height=clean.height,
        )
        self.session.add(attachment)
        await self.session.flush()
        return attachment

    async def draft_attachments(self, draft_key: str, ids: list[str]) -> list[Attachment]:
        """The draft's files among ``ids`` (ids of other drafts or cases are ignored)."""
        wanted = [_uuid(i) for i in ids]
        wanted_ids = [i for i in wanted if i is not None]
        if not wanted_ids:
            return []
        rows = await self.session.scalars(
            select(Attachment).where(
                Attachment.draft_key == draft_key, Attachment.case_id.is_(None), Attachment.id.in_(wanted_ids)
            )
        )
        by_id = {a.id: a for a in rows}
        return [by_id[i] for i in wanted_ids if i in by_id]

    # --- submission ----------------------------------------------------------------------------

    @property
    def _one_statement(self) -> bool:
        """Whether a submission is written by one statement (PostgreSQL; see SUBMIT_ONE_STATEMENT)."""
        return self.session.bind is not None and self.session.bind.dialect.name == "postgresql"

    async def begin_submission(self) -> None:
        """Call before a submission request reads anything: where the case is written by one statement, the
        request needs no transaction around its statements (and saves the BEGIN and COMMIT round trips)."""
        if self._one_statement:
            await without_transaction(self.session, single_statement_writes=True)

    async def find_by_idempotency_key(self, key: str) -> Case | None:
        return await self.session.scalar(CASE_BY_IDEMPOTENCY_KEY, {"key": key})  # type: ignore[no-any-return]

    async def submit(
        self,
        service: Service,
        form_version: FormVersion,
        answers: dict[str, Any],
        idempotency_key: str,
        language: str,
        definition: FormDefinition | None = None,
    ) -> tuple[Case, bool]:
        """Create and commit the case, or return the one already made with this key. Returns (case, created).

        The unique idempotency key decides: a second submission with the same key fails on insert and gets
        the first one's case, so no lookup is needed beforehand. The transaction is committed here, so that
        the reference counter's row lock is held only for the inserts and a failed commit is an error, never
        a confirmation of a case that was not saved.
        """
        if definition is None:
            definition = CatalogueService(self.session, self.tenant).parsed(form_version)
        # Read before the first attempt: a rollback expires every loaded object, and a retry must not load
        # them again behind the ORM's back (an implicit load cannot run on the async driver).
        service_name = dict(service.name or {})
        service_id, processing_days, form_version_id = service.id, service.processing_days, form_version.id
        department_id = service.department_id
        for attempt in range(3):
            try:
                case = await self._insert_case(
                    service_id,
                    processing_days,
                    form_version_id,
                    definition,
                    answers,
                    idempotency_key,
                    language,
                    department_id,
                )
                # The receipt: in the case's transaction on SQLite; on PostgreSQL (no transaction, see
                # begin_submission) one more statement right after. Its outbox row has an id made from the
                # case's, so announcing the same case again never queues a second receipt.
                await self.announce_submitted(case, service_name)
                live.note_case(
                    self.session, self.tenant.id, case.id, "submitted", [department_id.hex if department_id else None]
                )
                await self.session.commit()  # without a transaction (see begin_submission) there is none to end
                live.publish_pending(self.session)  # published at the commit, unless there was none to end
                return case, True
            except (IntegrityError, OperationalError):
                # The same submission arrived twice (the other request made the case), or the embedded
                # database was busy with another writer: start over in a fresh transaction.
                await self.session.rollback()
                existing = await self.find_by_idempotency_key(idempotency_key)
                if existing is not None:
                    await self.announce_submitted(existing, service_name)
                    return existing, False
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")  # pragma: no cover

    async def announce_submitted(self, case: Case, service_name: dict[str, str] | None = None) -> None:
        """Tell listeners (the receipt, webhooks) about a saved case; safe to repeat for a retried submission."""
        if service_name is None:
            service = await self.session.get(Service, case.service_id)
            service_name = dict(service.name or {}) if service is not None else {}
        await emit(self.session, CaseSubmitted.of(case, self.tenant.name, service_name))

    async def _insert_case(
        self,
        service_id: uuid.UUID,
        processing_days: int | None,
        form_version_id: uuid.UUID,
        definition: FormDefinition,
        answers: dict[str, Any],
        idempotency_key: str,
        language: str,
        department_id: uuid.UUID | None = None,
    ) -> Case:
        contact = next(
            (answers.get(f.name) for f in definition.fields if f.type == "email" and f.contact and answers.get(f.name)),
            None,
        )
        location_field = next((f.name for f in definition.fields if f.type == "location"), None)
        location = answers.get(location_field) if location_field else None
        fields = [(f.name, f.type) for f in definition.fields]
        file_ids = [i for f in definition.fields if f.type == "file" for i in map(_uuid, answers.get(f.name, [])) if i]
        now = _now()
        due_at = None
        if processing_days:
            state = await deadlines.tenant_state(self.session, self.tenant.id)
            due_at = deadlines.due_date(now, processing_days, state, self.tenant.timezone)
        case = Case(
            id=uuid7(),
            tenant_id=self.tenant.id,
            service_id=service_id,
            form_version_id=form_version_id,
            tracking_token=secrets.token_urlsafe(24),
            idempotency_key=idempotency_key,
            status="submitted",
            answers=answers,
            location=location,
            contact_email=contact,
            language=language,
            due_at=due_at,
            summary=search.summary_of(fields, answers, location),
            last_activity_at=now,
            department_id=department_id,
            priority="normal",
            version=1,
            created_at=now,
            updated_at=now,
        )
        if self._one_statement:
            # The statement puts the reference it makes in front of the rest of the search text.
            await self._insert_in_one_statement(
                case, now, file_ids, search.search_text_of("", fields, answers, location)
            )
            return case
        # Everything is prepared before the number is taken: from here to the commit only inserts run.
        case.reference = await self._next_reference(now)
        case.search_text = search.search_text_of(case.reference, fields, answers, location)
        self.session.add(case)
        await self.session.flush()
        self.session.add(
            CaseEvent(
                tenant_id=self.tenant.id,
                case_id=case.id,
                kind="submitted",
                actor_kind="citizen",
                to_status="submitted",
                public=True,
            )
        )
        if file_ids:
            await self.session.execute(
                update(Attachment)
                .where(Attachment.draft_key == idempotency_key, Attachment.id.in_(file_ids))
                .values(case_id=case.id)
                .execution_options(synchronize_session=False)
            )
        await self.session.flush()
        return case

    async def _insert_in_one_statement(
        self, case: Case, now: datetime.datetime, file_ids: list[uuid.UUID], search_text: str
    ) -> None:
        """PostgreSQL: number, case, first timeline entry and files in one statement (see SUBMIT_ONE_STATEMENT)."""
        params = {
            "search_text": search_text,
            "counter_id": uuid.uuid4(),
            "event_id": uuid7(),
            "year": now.year,
            "now": now,
            **{column: getattr(case, column) for column in _SUBMIT_CASE_COLUMNS},
        }
        if file_ids:
            params["file_ids"] = file_ids
        statement = SUBMIT_ONE_STATEMENT_WITH_FILES if file_ids else SUBMIT_ONE_STATEMENT
        case.reference = (await self.session.execute(statement, params)).scalar_one()
        case.search_text = " ".join(part for part in (case.reference, search_text) if part)  # as concat_ws did
        # The row exists now: the object joins the session as if it had been loaded.
        make_transient_to_detached(case)
        self.session.add(case)

    async def _next_reference(self, now: datetime.datetime) -> str:
        params = {"id": uuid.uuid4(), "tenant_id": self.tenant.id, "year": now.year, "now": now}
        number = (await self.session.execute(NEXT_REFERENCE, params)).scalar_one()
        return f"{now.year}-{number:05d}"

    # --- reading -------------------------------------------------------------------------------

    async def by_token(self, token: str) -> CaseView:
        """The citizen's view: public timeline only. The page only reads, so it runs without a transaction."""
        await read_only(self.session)
        return await self._view(CASE_PAGE_BY_TOKEN, {"token": token})

    async def by_id(self, case_id: uuid.UUID) -> CaseView:
        return await self._view(CASE_PAGE_BY_ID, {"case_id": case_id})

    async def _view(self, statement: Select[Any], params: dict[str, Any]) -> CaseView:
        """The case, its service and its timeline in ONE statement (one consistent snapshot: the status and
        the timeline always agree); the files only when the answers name some."""
        rows = (await self.session.execute(statement, params)).all()
        if not rows:
            raise NotFound()
        case, service = rows[0][0], rows[0][1]
        if case.tenant_id != self.tenant.id:  # the session's scope already ensures it; a second lock on the door
            raise NotFound()
        if not self.scope.allows(case.department_id):
            raise NotFound()
        # A row per event (and, on the citizen's page, per feedback answer: each event comes once per answer).
        events = list(dict.fromkeys(row[2] for row in rows if row[2] is not None))
        feedback = list(dict.fromkeys(row[3] for row in rows if row[3] is not None)) if len(rows[0]) > 3 else None
        definition = await CatalogueService(self.session, self.tenant).definition_of(case.form_version_id)
        answers = case.answers or {}
        attachments: dict[str, Attachment] = {}
        event_files: dict[uuid.UUID, list[Attachment]] = {}
        if any(answers.get(f.name) for f in definition.fields if f.type == "file") or any(
            e.kind in MESSAGE_KINDS for e in events
        ):
            shown = {e.id for e in events}
            found = await self.session.scalars(
                select(Attachment)
                .where(Attachment.case_id == case.id)
                .order_by(Attachment.created_at)
                .execution_options(**SHORT_READ)
            )
            for a in found:
                if a.event_id is None:
                    attachments[str(a.id)] = a
                elif a.event_id in shown:  # the citizen's page lists public entries only, so their files only
                    event_files.setdefault(a.event_id, []).append(a)
        return CaseView(
            case=case,
            service=service,
            definition=definition,
            events=events,
            attachments=attachments,
            event_files=event_files,
            feedback=feedback,
        )

    async def attachment(
        self,
        attachment_id: uuid.UUID,
        *,
        case_id: uuid.UUID | None = None,
        draft_key: str | None = None,
        service_slug: str | None = None,
    ) -> Attachment:
        """A file of a given case, or of a draft of the service ``service_slug``; anything else is not found."""
        query = select(Attachment).where(Attachment.id == attachment_id)
        if case_id is not None:
            query = query.where(Attachment.case_id == case_id)
            if not self.scope.sees_all:
                query = query.where(Attachment.case_id.in_(select(Case.id).where(self.scope.condition())))
        elif draft_key is not None and service_slug is not None:
            query = query.join(Service, Service.id == Attachment.service_id).where(
                Attachment.draft_key == draft_key, Attachment.case_id.is_(None), Service.slug == service_slug
            )
        else:
            raise NotFound()
        found = await self.session.scalar(query)
        if found is None:
            raise NotFound()
        return found  # type: ignore[no-any-return]

    async def case_id_for_reference(self, reference: str) -> uuid.UUID:
        """The id of the municipality's case with this reference (``2026-00042``); NotFound for any other."""
        case_id = await self.session.scalar(select(Case.id).where(Case.reference == reference[:20]))
        if case_id is None:
            raise NotFound()
        return case_id  # type: ignore[no-any-return]

    async def case_id_for_token(self, token: str) -> uuid.UUID:
        case_id = await self.session.scalar(
            select(Case.id).where(Case.tracking_token == token).execution_options(**SHORT_READ)
        )
        if case_id is None:
            raise NotFound()
        return case_id  # type: ignore[no-any-return]

    # --- changes -------------------------------------------------------------------------------

    async def change_status(
        self,
        case_id: uuid.UUID,
        to_status: str,
        actor: Actor,
        message: str = "",
        *,
        as_duplicate: bool = False,
        version: int | None = None,
    ) -> Case:
        """The one way a case's status changes: lock, check the service's workflow, append to the timeline.

        ``as_duplicate``: a clerk closes an open case because another one reports the same matter
        (backend/cases/duplicates.py); that closing is open to every workflow.
        ``version``: the case's version the clerk's form was shown with (see _lock).
        """
        case = await self._lock(case_id, version)
        actor_kind = "citizen" if actor.kind == "citizen" else "staff"
        flow = await self.workflow_of(case.service_id)
        closing_duplicate = as_duplicate and actor_kind == "staff" and to_status == "completed"
        closing_duplicate = closing_duplicate and case.status in workflow.OPEN_STATUSES
        if not (closing_duplicate or flow.can_transition(case.status, to_status, actor_kind)):  # type: ignore[arg-type]
            raise Conflict(flow.label(case.status))
        if actor_kind == "staff" and flow.needs_message(to_status) and not clean_text(message).strip():
            raise MessageRequired(to_status)
        from_status = case.status
        if from_status == "needs_info" and to_status != "needs_info" and case.due_at is not None:
            await self._resume_clock(case)
        case.status = to_status
        self.touch(case, message)
        self.session.add(
            CaseEvent(
                tenant_id=self.tenant.id,
                case_id=case.id,
                kind="status_changed",
                actor_kind=actor.kind,
                actor_id=actor.user_id,
                actor_name=actor.name,
                from_status=from_status,
                to_status=to_status,
                body=clean_text(message),
                public=True,
            )
        )
        await self.session.flush()
        await self._announce(case, "status_changed", message, flow, by_citizen=actor.kind == "citizen")
        return case

    async def workflow_of(self, service_id: uuid.UUID) -> workflow.Workflow:
        """The workflow of one of this municipality's services (the default for a service without one)."""
        raw = await self.session.scalar(select(Service.workflow).where(Service.id == service_id))
        return workflow.of(raw)

    async def _resume_clock(self, case: Case) -> None:
        """The case waited for the citizen since it last went to needs_info: its deadline moves by those days."""
        paused_at = await self.session.scalar(
            select(func.max(CaseEvent.created_at)).where(
                CaseEvent.case_id == case.id, CaseEvent.to_status == "needs_info"
            )
        )
        if paused_at is None or case.due_at is None:
            return
        state = await deadlines.tenant_state(self.session, self.tenant.id)
        waited = deadlines.working_days_between(paused_at, _now(), state, self.tenant.timezone)
        case.due_at = deadlines.extend(case.due_at, waited, state, self.tenant.timezone)

    async def recount_deadline(self, case: Case, processing_days: int | None) -> None:
        """The case's deadline for a service taking ``processing_days`` (None: no deadline), counted from its
        submission like a new case's, the finished waits for the citizen skipped. A wait going on now is added
        when it ends (``_resume_clock``)."""
        if not processing_days:
            case.due_at = None
            return
        changes = await self.session.execute(
            select(CaseEvent.created_at, CaseEvent.from_status, CaseEvent.to_status)
            .where(CaseEvent.case_id == case.id, CaseEvent.kind == "status_changed")
            .order_by(CaseEvent.created_at, CaseEvent.id)
        )
        pauses: list[tuple[datetime.datetime, datetime.datetime]] = []
        waiting_since: datetime.datetime | None = None
        for at, from_status, to_status in changes.tuples():
            if to_status == "needs_info" and waiting_since is None:
                waiting_since = at
            elif from_status == "needs_info" and to_status != "needs_info" and waiting_since is not None:
                pauses.append((waiting_since, at))
                waiting_since = None
        state = await deadlines.tenant_state(self.session, self.tenant.id)
        case.due_at = deadlines.due_date(case.created_at, processing_days, state, self.tenant.timezone, pauses)

    async def add_message(
        self,
        case_id: uuid.UUID,
        actor: Actor,
        body: str,
        *,
        public: bool,
        files: list[Attachment] | None = None,
        version: int | None = None,
    ) -> CaseEvent:
        """A public message to the citizen (with files, if any), or an internal note the citizen never sees."""
        case = await self._lock(case_id, version)
        event = CaseEvent(
            id=uuid7(),
            tenant_id=self.tenant.id,
            case_id=case.id,
            kind="public_message" if public else "internal_note",
            actor_kind=actor.kind,
            actor_id=actor.user_id,
            actor_name=actor.name,
            body=clean_text(body),
            public=public,
        )
        self.touch(case, body)
        self.session.add(event)
        await self.session.flush()
        await self.attach(case, event, files or [])
        if public:
            await self._announce(case, "public_message", body, await self.workflow_of(case.service_id))
        return event

    def touch(self, case: Case, message: str = "") -> None:
        """Something happened on a (locked) case: its last activity is now and its message becomes searchable.
        Every change after the submission - status, message, note, citizen's reply, handling - goes through
        here, so here the case's version counts on."""
        case.version = (case.version or 1) + 1
        case.updated_at = case.last_activity_at = _now()
        case.search_text = search.with_message(case.search_text or "", clean_text(message))

    async def attach(self, case: Case, event: CaseEvent, files: list[Attachment]) -> None:
        """Files taken for a message (as a draft's, see cases.intake) now belong to the case and that entry."""
        if not files:
            return
        await self.session.execute(
            update(Attachment)
            .where(Attachment.id.in_([a.id for a in files]), Attachment.case_id.is_(None))
            .values(case_id=case.id, event_id=event.id, draft_key=None)
            .execution_options(synchronize_session=False)
        )

    async def _announce(
        self, case: Case, kind: str, message: str, flow: workflow.Workflow, *, by_citizen: bool = False
    ) -> None:
        """Tell listeners (notifications) in this same transaction, so nothing is sent for a rolled-back change."""
        await emit(
            self.session,
            CaseUpdated(
                tenant_id=self.tenant.id,
                tenant_name=self.tenant.name,
                case_id=case.id,
                reference=case.reference,
                tracking_token=case.tracking_token,
                language=case.language,
                contact_email=case.contact_email,
                kind=kind,
                status=case.status,
                message=clean_text(message),
                emails_off=bool(case.emails_off),
                # The service's own wording of the status, per language: the notification says it that way.
                status_labels=flow.labels_of(case.status),
                by_citizen=by_citizen,
            ),
        )

    async def _lock(self, case_id: uuid.UUID, version: int | None = None) -> Case:
        """The case, locked for this transaction (PostgreSQL: SELECT ... FOR UPDATE; SQLite has one writer at a
        time anyway); NotFound outside the scope. With ``version`` (the one a form was shown with), a case
        changed since raises ChangedMeanwhile: checked under the lock, so of two changes made from the same
        state only the first one passes."""
        case = await self.session.scalar(
            select(Case).where(Case.id == case_id).with_for_update().execution_options(populate_existing=True)
        )
        if case is None or not self.scope.allows(case.department_id):
            raise NotFound()
        if version is not None and version != case.version:
            raise ChangedMeanwhile(await self.last_actor(case.id))
        return case  # type: ignore[no-any-return]

    async def last_actor(self, case_id: uuid.UUID) -> Actor:
        """Who made the latest change of the case (each change is a timeline entry)."""
        latest = await self.session.scalar(
            select(CaseEvent)
            .where(CaseEvent.case_id == case_id)
            .order_by(CaseEvent.created_at.desc(), CaseEvent.id.desc())
            .limit(1)
        )
        if latest is None:
            return Actor("system")
        return Actor(latest.actor_kind, latest.actor_id, latest.actor_name)


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def _uuid(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


def _safe_filename(name: str, suffix: str) -> str:
    stem = "".join(ch for ch in name.rsplit("/", 1)[-1].rsplit("\\", 1)[-1] if ch.isalnum() or ch in "-_ .")
    stem = stem.rsplit(".", 1)[0].strip()[:80] or "file"
    return stem + suffix
