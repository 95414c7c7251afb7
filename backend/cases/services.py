"""Submitting, tracking and changing cases: the only place a case is written."""

from __future__ import annotations

import datetime
import secrets
import uuid
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.ext.asyncio import AsyncSession

from backend.cases import workflow
from backend.cases.events import CaseUpdated
from backend.cases.models import Attachment, Case, CaseEvent, ReferenceCounter
from backend.cases.uploads import UploadRejected, clean_upload
from backend.catalogue.models import FormVersion, Service
from backend.catalogue.schemas import FormDefinition, parse_definition
from backend.core.errors import Conflict, NotFound
from backend.core.events import emit
from backend.core.storage import Storage
from backend.core.tenancy import TenantContext

IDEMPOTENCY_KEY_CHARS = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_")


def valid_idempotency_key(key: str | None) -> bool:
    return bool(key) and 16 <= len(key or "") <= 64 and set(key or "") <= IDEMPOTENCY_KEY_CHARS


def new_idempotency_key() -> str:
    return secrets.token_urlsafe(18)


@dataclass(frozen=True)
class Actor:
    kind: str  # "citizen" | "staff" | "system"
    user_id: uuid.UUID | None = None
    name: str = ""


CITIZEN = Actor("citizen")


@dataclass
class CaseView:
    """Everything a case page shows, loaded up front (templates never query)."""

    case: Case
    service: Service
    definition: FormDefinition
    events: list[CaseEvent]
    attachments: dict[str, Attachment] = field(default_factory=dict)


class CaseService:
    def __init__(self, session: AsyncSession, tenant: TenantContext, storage: Storage) -> None:
        self.session = session
        self.tenant = tenant
        self.storage = storage

    # --- uploads -------------------------------------------------------------------------------

    async def store_uploads(
        self, draft_key: str, field_name: str, files: list[tuple[str, bytes]], accept: str, max_bytes: int
    ) -> tuple[list[str], list[str]]:
        """Clean and keep uploaded files for a draft; returns (attachment ids, error messages)."""
        ids: list[str] = []
        errors: list[str] = []
        for filename, data in files:
            try:
                clean = clean_upload(data, filename, accept, max_bytes)
            except UploadRejected as exc:
                errors.append(str(exc))
                continue
            key = await self.storage.put(self.tenant.id, clean.data, clean.suffix)
            attachment = Attachment(
                tenant_id=self.tenant.id,
                draft_key=draft_key,
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
            ids.append(str(attachment.id))
        return ids, errors

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

    async def find_by_idempotency_key(self, key: str) -> Case | None:
        return await self.session.scalar(select(Case).where(Case.idempotency_key == key))  # type: ignore[no-any-return]

    async def submit(
        self,
        service: Service,
        form_version: FormVersion,
        answers: dict[str, Any],
        idempotency_key: str,
        language: str,
    ) -> tuple[Case, bool]:
        """Create the case, or return the one already made with this key. Returns (case, created)."""
        existing = await self.find_by_idempotency_key(idempotency_key)
        if existing is not None:
            return existing, False
        definition = parse_definition(form_version.definition)
        for attempt in range(3):
            try:
                case = await self._insert_case(service, form_version, definition, answers, idempotency_key, language)
                return case, True
            except (IntegrityError, OperationalError):
                # The same submission arrived twice at once (the other request made the case), or the
                # embedded database was busy with another writer: start over in a fresh transaction.
                await self.session.rollback()
                existing = await self.find_by_idempotency_key(idempotency_key)
                if existing is not None:
                    return existing, False
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")  # pragma: no cover

    async def _insert_case(
        self,
        service: Service,
        form_version: FormVersion,
        definition: FormDefinition,
        answers: dict[str, Any],
        idempotency_key: str,
        language: str,
    ) -> Case:
        contact = next(
            (answers.get(f.name) for f in definition.fields if f.type == "email" and f.contact and answers.get(f.name)),
            None,
        )
        location_field = next((f.name for f in definition.fields if f.type == "location"), None)
        reference = await self._next_reference()
        case = Case(
            tenant_id=self.tenant.id,
            service_id=service.id,
            form_version_id=form_version.id,
            reference=reference,
            tracking_token=secrets.token_urlsafe(24),
            idempotency_key=idempotency_key,
            status="submitted",
            answers=answers,
            location=answers.get(location_field) if location_field else None,
            contact_email=contact,
            language=language,
        )
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
        file_ids = [_uuid(i) for f in definition.fields if f.type == "file" for i in answers.get(f.name, [])]
        if file_ids:
            await self.session.execute(
                update(Attachment)
                .where(Attachment.draft_key == idempotency_key, Attachment.id.in_([i for i in file_ids if i]))
                .values(case_id=case.id)
                .execution_options(synchronize_session=False)
            )
        await self.session.flush()
        return case

    async def _next_reference(self) -> str:
        year = datetime.datetime.now(datetime.UTC).year
        dialect = self.session.bind.dialect.name if self.session.bind else "sqlite"
        insert = pg_insert if dialect == "postgresql" else sqlite_insert
        stmt = (
            insert(ReferenceCounter)
            .values(
                id=uuid.uuid4(),
                tenant_id=self.tenant.id,
                year=year,
                last_number=1,
                created_at=_now(),
                updated_at=_now(),
            )
            .on_conflict_do_update(
                index_elements=["tenant_id", "year"],
                set_={"last_number": ReferenceCounter.last_number + 1},
            )
            .returning(ReferenceCounter.last_number)
        )
        number = (await self.session.execute(stmt)).scalar_one()
        return f"{year}-{number:05d}"

    # --- reading -------------------------------------------------------------------------------

    async def by_token(self, token: str) -> CaseView:
        case = await self.session.scalar(select(Case).where(Case.tracking_token == token))
        if case is None:
            raise NotFound()
        return await self._view(case, public_only=True)

    async def by_id(self, case_id: uuid.UUID) -> CaseView:
        case = await self.session.get(Case, case_id)
        if case is None or case.tenant_id != self.tenant.id:
            raise NotFound()
        return await self._view(case, public_only=False)

    async def _view(self, case: Case, public_only: bool) -> CaseView:
        service = await self.session.scalar(select(Service).where(Service.id == case.service_id))
        form = await self.session.scalar(select(FormVersion).where(FormVersion.id == case.form_version_id))
        if service is None or form is None:  # pragma: no cover - foreign keys guarantee both
            raise NotFound()
        query = select(CaseEvent).where(CaseEvent.case_id == case.id)
        if public_only:
            query = query.where(CaseEvent.public.is_(True))
        events = list(await self.session.scalars(query.order_by(CaseEvent.created_at, CaseEvent.id)))
        attachments = await self.session.scalars(select(Attachment).where(Attachment.case_id == case.id))
        return CaseView(
            case=case,
            service=service,
            definition=parse_definition(form.definition),
            events=events,
            attachments={str(a.id): a for a in attachments},
        )

    async def attachment(
        self, attachment_id: uuid.UUID, *, case_id: uuid.UUID | None = None, draft_key: str | None = None
    ) -> Attachment:
        """A file of a given case or draft; anything else is not found."""
        query = select(Attachment).where(Attachment.id == attachment_id)
        if case_id is not None:
            query = query.where(Attachment.case_id == case_id)
        elif draft_key is not None:
            query = query.where(Attachment.draft_key == draft_key, Attachment.case_id.is_(None))
        else:
            raise NotFound()
        found = await self.session.scalar(query)
        if found is None:
            raise NotFound()
        return found  # type: ignore[no-any-return]

    async def case_id_for_token(self, token: str) -> uuid.UUID:
        case_id = await self.session.scalar(select(Case.id).where(Case.tracking_token == token))
        if case_id is None:
            raise NotFound()
        return case_id  # type: ignore[no-any-return]

    # --- changes -------------------------------------------------------------------------------

    async def change_status(self, case_id: uuid.UUID, to_status: str, actor: Actor, message: str = "") -> Case:
        """The one way a case's status changes: lock, check the workflow, append to the timeline."""
        case = await self._lock(case_id)
        actor_kind = "citizen" if actor.kind == "citizen" else "staff"
        if not workflow.can_transition(case.status, to_status, actor_kind):  # type: ignore[arg-type]
            raise Conflict(workflow.label(case.status))
        from_status = case.status
        case.status = to_status
        case.updated_at = _now()
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
                body=message.strip(),
                public=True,
            )
        )
        await self.session.flush()
        if actor.kind != "citizen":
            await self._announce(case, "status_changed", message)
        return case

    async def add_message(self, case_id: uuid.UUID, actor: Actor, body: str, *, public: bool) -> CaseEvent:
        """A public message to the citizen, or an internal note the citizen never sees."""
        case = await self._lock(case_id)
        event = CaseEvent(
            tenant_id=self.tenant.id,
            case_id=case.id,
            kind="public_message" if public else "internal_note",
            actor_kind=actor.kind,
            actor_id=actor.user_id,
            actor_name=actor.name,
            body=body.strip(),
            public=public,
        )
        case.updated_at = _now()
        self.session.add(event)
        await self.session.flush()
        if public:
            await self._announce(case, "public_message", body)
        return event

    async def _announce(self, case: Case, kind: str, message: str) -> None:
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
                message=message.strip(),
            ),
        )

    async def _lock(self, case_id: uuid.UUID) -> Case:
        case = await self.session.scalar(
            select(Case).where(Case.id == case_id).with_for_update().execution_options(populate_existing=True)
        )
        if case is None:
            raise NotFound()
        return case  # type: ignore[no-any-return]


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
