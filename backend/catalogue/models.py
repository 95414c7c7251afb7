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


class FormVersion(TenantOwned, Base):
    """An immutable form definition; editing a form adds a version, cases keep the one they used."""

    __tablename__ = "form_version"
    __table_args__ = (UniqueConstraint("service_id", "version", name="uq_form_version_version"),)

    service_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("service.id", ondelete="CASCADE"), index=True)
    version: Mapped[int]
    definition: Mapped[dict[str, Any]] = mapped_column(JsonB)
