"""A citizen's request, its append-only timeline, its attachments and per-year reference counters."""

from __future__ import annotations

import uuid
from typing import Any

from advanced_alchemy.types import JsonB
from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from backend.core.db import Base, TenantOwned


class Case(TenantOwned, Base):
    __tablename__ = "case_file"
    __table_args__ = (
        UniqueConstraint("tenant_id", "reference", name="uq_case_file_reference"),
        UniqueConstraint("tenant_id", "idempotency_key", name="uq_case_file_idempotency_key"),
        Index("ix_case_file_tenant_created", "tenant_id", "created_at"),
        Index("ix_case_file_tenant_status", "tenant_id", "status"),
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


class Attachment(TenantOwned, Base):
    """An uploaded file; it belongs to a draft (by idempotency key) until its case is submitted."""

    __tablename__ = "attachment"
    __table_args__ = (Index("ix_attachment_draft", "tenant_id", "draft_key"),)

    case_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("case_file.id", ondelete="CASCADE"), index=True, nullable=True
    )
    draft_key: Mapped[str | None] = mapped_column(String(64), nullable=True)
    field_name: Mapped[str] = mapped_column(String(64))
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    storage_key: Mapped[str] = mapped_column(String(255))
    width: Mapped[int | None] = mapped_column(Integer, nullable=True)
    height: Mapped[int | None] = mapped_column(Integer, nullable=True)


class ReferenceCounter(TenantOwned, Base):
    __tablename__ = "reference_counter"
    __table_args__ = (UniqueConstraint("tenant_id", "year", name="uq_reference_counter_year"),)

    year: Mapped[int]
    last_number: Mapped[int] = mapped_column(default=0)
