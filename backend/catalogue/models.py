"""The services a municipality offers and the versioned form definitions citizens fill in."""

from __future__ import annotations

import uuid
from typing import Any

from advanced_alchemy.types import JsonB
from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from backend.core.db import Base, TenantOwned

# Texts shown to citizens are stored per language: {"de": "...", "en": "..."}.
I18n = dict[str, str]


class Service(TenantOwned, Base):
    __tablename__ = "service"
    __table_args__ = (UniqueConstraint("tenant_id", "slug", name="uq_service_slug"),)

    slug: Mapped[str] = mapped_column(String(80))
    category: Mapped[I18n] = mapped_column(JsonB)
    name: Mapped[I18n] = mapped_column(JsonB)
    summary: Mapped[I18n] = mapped_column(JsonB, default=dict)
    description: Mapped[I18n] = mapped_column(JsonB, default=dict)
    fees: Mapped[I18n] = mapped_column(JsonB, default=dict)
    processing_time: Mapped[I18n] = mapped_column(JsonB, default=dict)
    required_documents: Mapped[list[I18n]] = mapped_column(JsonB, default=list)
    keywords: Mapped[str] = mapped_column(String(500), default="")
    position: Mapped[int] = mapped_column(default=0)
    active: Mapped[bool] = mapped_column(default=True)
    # The form version new submissions use (form_version points back at its service).
    current_form_id: Mapped[uuid.UUID | None] = mapped_column(nullable=True)
    # The department its cases are routed to (see accounts.models.Department).
    department_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("department.id", ondelete="SET NULL"), nullable=True, index=True
    )
    # The department's name as the standard catalogue gave it; kept for reference, department_id routes.
    department: Mapped[str] = mapped_column(String(120), default="")
    # Adopted from the standard catalogue: the template and the version of its content taken over, so that
    # a newer template can be offered as an update. Empty for a municipality's own services.
    template_slug: Mapped[str | None] = mapped_column(String(80), nullable=True)
    template_version: Mapped[str | None] = mapped_column(String(64), nullable=True)
    # The template's content as adopted (or last accepted): what "what changed" compares the template with.
    template_snapshot: Mapped[dict[str, Any] | None] = mapped_column(JsonB, nullable=True)
    # A template version the admin chose not to take over: not offered again until the template changes.
    template_dismissed_version: Mapped[str | None] = mapped_column(String(64), nullable=True)
    leika_key: Mapped[str] = mapped_column(String(14), default="")
    # Working days a request may take (the deadline clerks see); None: no deadline.
    processing_days: Mapped[int | None] = mapped_column(nullable=True)
    # The form as the admin is building it (a form definition, not yet checked); published, it becomes a new
    # FormVersion. None: no changes since the last publication.
    draft_form: Mapped[dict[str, Any] | None] = mapped_column(JsonB, nullable=True)
    # Who may move its cases from which status to which, which statuses need a message, and its own wording of
    # statuses for citizens (see backend/cases/workflow.py). None: the default workflow with the shared wording.
    workflow: Mapped[dict[str, Any] | None] = mapped_column(JsonB, nullable=True)


class FormVersion(TenantOwned, Base):
    """An immutable form definition; editing a form adds a version, cases keep the one they used."""

    __tablename__ = "form_version"
    __table_args__ = (UniqueConstraint("service_id", "version", name="uq_form_version_version"),)

    service_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("service.id", ondelete="CASCADE"), index=True)
    version: Mapped[int]
    definition: Mapped[dict[str, Any]] = mapped_column(JsonB)
