"""A citizen's request, its append-only timeline, its feedback, its attachments and per-year reference counters."""

from __future__ import annotations

import datetime
import uuid
from typing import Any

from advanced_alchemy.types import DateTimeUTC, JsonB
from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column

from backend.core.db import Base, TenantOwned

# How urgent a case is, lowest first.
PRIORITIES = ("low", "normal", "high", "urgent")


class Case(TenantOwned, Base):
    __tablename__ = "case_file"
    __table_args__ = (
        UniqueConstraint("tenant_id", "reference", name="uq_case_file_reference"),
        UniqueConstraint("tenant_id", "idempotency_key", name="uq_case_file_idempotency_key"),
        # The inbox pages by keyset (sort key, id) within one municipality: each sort has its index.
        Index("ix_case_file_tenant_created_id", "tenant_id", "created_at", "id"),
        Index("ix_case_file_tenant_status_created_id", "tenant_id", "status", "created_at", "id"),
        # The inbox's counts per status read these alone on PostgreSQL (migration 0027).
        Index("ix_case_file_tenant_status", "tenant_id", "status", postgresql_include=["citizen_replied_at"]),
        Index(
            "ix_case_file_tenant_service_status",
            "tenant_id",
            "service_id",
            "status",
            postgresql_include=["citizen_replied_at"],
        ),
        Index("ix_case_file_tenant_replied", "tenant_id", "citizen_replied_at"),
        Index(
            "ix_case_file_tenant_due_id",
            "tenant_id",
            "due_at",
            "id",
            postgresql_include=["status", "citizen_replied_at"],
        ),
        Index("ix_case_file_tenant_activity_id", "tenant_id", "last_activity_at", "id"),
        # The duplicates of a case, whose citizens are notified of its changes too.
        Index("ix_case_file_duplicate_of", "duplicate_of_id"),
        # The inbox's filters by assignee ("mine", "nobody's", a colleague's) and a clerk's departments.
        Index("ix_case_file_tenant_assignee", "tenant_id", "assignee_id"),
        Index("ix_case_file_tenant_department_status", "tenant_id", "department_id", "status"),
        # A citizen's "My requests".
        Index("ix_case_file_tenant_account", "tenant_id", "account_id"),
        # PostgreSQL only, made by migrations 0015 and 0030: GIN (tenant_id, search_text gin_trgm_ops) for parts
        # of words and GIN (tenant_id, search_vector) for words (btree_gin, pg_trgm); search_vector is a column
        # PostgreSQL computes (to_tsvector('german', search_text)), unknown to this model.
        # SQLite: the FTS5 table case_search (trigram tokenizer), kept in step by triggers on case_file.
    )

    service_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("service.id"), index=True)
    form_version_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("form_version.id"))
    reference: Mapped[str] = mapped_column(String(20))
    tracking_token: Mapped[str] = mapped_column(String(64), unique=True)
    idempotency_key: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(32), default="submitted")
    answers: Mapped[dict[str, Any]] = mapped_column(JsonB, default=dict)
    location: Mapped[dict[str, Any] | None] = mapped_column(JsonB, nullable=True)
    contact_email: Mapped[str | None] = mapped_column(String(254), nullable=True)
    language: Mapped[str] = mapped_column(String(8), default="de")
    # Set when the citizen answers or adds information; cleared when a clerk opens the case page.
    citizen_replied_at: Mapped[datetime.datetime | None] = mapped_column(DateTimeUTC(timezone=True), nullable=True)
    # The citizen switched e-mails off for this request (tracking page or one-click unsubscribe); push stays.
    emails_off: Mapped[bool] = mapped_column(default=False, server_default=false())
    # The end of the last working day for the service's processing days (see cases.deadlines), moved on by
    # the working days the case waited for the citizen. None: the service has no deadline.
    due_at: Mapped[datetime.datetime | None] = mapped_column(DateTimeUTC(timezone=True), nullable=True)
    # What the inbox shows and searches (see cases.search), written with what they are made of.
    summary: Mapped[str] = mapped_column(String(200), default="", server_default="")
    search_text: Mapped[str] = mapped_column(Text, default="", server_default="")
    # The last time something happened: submission, a citizen's reply, a clerk's message or status change.
    last_activity_at: Mapped[datetime.datetime] = mapped_column(DateTimeUTC(timezone=True))
    # A clerk closed this case as reporting the same matter as another one (its main case, never itself a
    # duplicate): its citizen follows the main case from then on (see cases.duplicates).
    duplicate_of_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("case_file.id", ondelete="SET NULL"), nullable=True
    )
    # The department that handles the case: its service's at submission, moved by staff later (see
    # inbox.handling). Clerks see the cases of their departments only; None: supervisors and admins only.
    department_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("department.id", ondelete="SET NULL"), nullable=True
    )
    # The staff member working on it; None: nobody yet.
    assignee_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL"), nullable=True
    )
    priority: Mapped[str] = mapped_column(String(16), default="normal", server_default="normal")
    # When the retention job removed its personal data (cases/retention.py); None: not anonymised.
    anonymised_at: Mapped[datetime.datetime | None] = mapped_column(DateTimeUTC(timezone=True), nullable=True)
    # Counts every change of the case (CaseService.touch): a form shown with an older version is refused.
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    # The citizen's account it belongs to (sent while signed in, or linked by its verified address); None:
    # followed by its private link only (backend/accounts/citizens.py).
    account_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("citizen_account.id", ondelete="SET NULL"), nullable=True
    )


class CaseEvent(TenantOwned, Base):
    """One entry of a case's timeline. Rows are only ever inserted, never changed or deleted."""

    __tablename__ = "case_event"
    __table_args__ = (Index("ix_case_event_case_created", "case_id", "created_at"),)

    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("case_file.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(32))
    actor_kind: Mapped[str] = mapped_column(String(16))
    actor_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("user_account.id"), nullable=True)
    actor_name: Mapped[str] = mapped_column(String(200), default="")
    from_status: Mapped[str | None] = mapped_column(String(32), nullable=True)
    to_status: Mapped[str | None] = mapped_column(String(32), nullable=True)
    body: Mapped[str] = mapped_column(Text, default="")
    public: Mapped[bool] = mapped_column(default=True)
    # What a handling entry (assignment, department, priority, service) changed, as it was named then:
    # {"from": ..., "to": ...}; None for the other kinds.
    detail: Mapped[dict[str, Any] | None] = mapped_column(JsonB, nullable=True)


class CaseFeedback(TenantOwned, Base):
    """A citizen's answer to "Was your request resolved?" after a closing (backend/cases/feedback.py)."""

    __tablename__ = "case_feedback"
    __table_args__ = (UniqueConstraint("case_id", "round", name="uq_case_feedback_round"),)

    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("case_file.id", ondelete="CASCADE"), index=True)
    round: Mapped[int] = mapped_column(Integer, default=0)
    resolved: Mapped[bool]
    rating: Mapped[int | None] = mapped_column(Integer, nullable=True)
    comment: Mapped[str] = mapped_column(Text, default="")
    # The status the answer was about ("completed" | "rejected"), and whether it reopened the case.
    about_status: Mapped[str] = mapped_column(String(32))
    reopened: Mapped[bool] = mapped_column(default=False)


class Attachment(TenantOwned, Base):
    """An uploaded file; it belongs to a draft (by idempotency key) until its case is submitted."""

    __tablename__ = "attachment"
    __table_args__ = (
        Index("ix_attachment_draft", "tenant_id", "draft_key"),
        Index("ix_attachment_unsubmitted_created", "created_at"),
    )

    case_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("case_file.id", ondelete="CASCADE"), index=True, nullable=True
    )
    draft_key: Mapped[str | None] = mapped_column(String(64), nullable=True)
    # The timeline entry (a citizen's reply or a clerk's message) the file came with; None for the form's files.
    event_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("case_event.id", ondelete="CASCADE"), nullable=True)
    # The service whose form took the file: a draft's file is served under that service's address only.
    service_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("service.id", ondelete="CASCADE"), nullable=True)
    field_name: Mapped[str] = mapped_column(String(64))
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    storage_key: Mapped[str] = mapped_column(String(255))
    width: Mapped[int | None] = mapped_column(Integer, nullable=True)
    height: Mapped[int | None] = mapped_column(Integer, nullable=True)


class Draft(TenantOwned, Base):
    """A form between its steps: the answers as typed and the ids of the kept files, under the device's key.

    Kept on the server so that the review step has an address of its own: reload, back and a language
    switch show it again, photos included. Removed with its files when it expires (see cases.cleanup).
    """

    __tablename__ = "case_draft"
    __table_args__ = (
        UniqueConstraint("tenant_id", "key", name="uq_case_draft_key"),
        Index("ix_case_draft_updated_at", "updated_at"),
    )

    service_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("service.id", ondelete="CASCADE"))
    form_version_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("form_version.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(64))
    inputs: Mapped[dict[str, Any]] = mapped_column(JsonB, default=dict)  # the answers as typed, per field
    files: Mapped[dict[str, Any]] = mapped_column(JsonB, default=dict)  # field name -> attachment ids


class ReferenceCounter(TenantOwned, Base):
    __tablename__ = "reference_counter"
    __table_args__ = (UniqueConstraint("tenant_id", "year", name="uq_reference_counter_year"),)

    year: Mapped[int]
    last_number: Mapped[int] = mapped_column(default=0)
