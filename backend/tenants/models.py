"""Municipalities (tenants), the host names they answer on, their branding, contact, legal pages and wording."""

from __future__ import annotations

import uuid
from typing import Any

from advanced_alchemy.types import JsonB
from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from backend.core.db import Base, TenantOwned


class Tenant(Base):
    __tablename__ = "tenant"

    slug: Mapped[str] = mapped_column(String(63), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    # For the home screen and wherever space is short; None: derived from the name (manifest.short_name).
    short_name: Mapped[str | None] = mapped_column(String(15), nullable=True)
    # The logo as re-encoded PNG in the storage backend (backend.core.storage); None: no logo.
    logo_key: Mapped[str | None] = mapped_column(String(255), nullable=True)
    # A theme folder of the operator's (RATHAUS_THEMES_DIR/<theme>) whose partials replace the shipped ones.
    theme: Mapped[str | None] = mapped_column(String(63), nullable=True)
    primary_color: Mapped[str] = mapped_column(String(7), default="#1d4f91")
    accent_color: Mapped[str] = mapped_column(String(7), default="#b3261e")
    default_language: Mapped[str] = mapped_column(String(8), default="de")
    languages: Mapped[list[str]] = mapped_column(JsonB, default=lambda: ["de", "en"])
    timezone: Mapped[str] = mapped_column(String(64), default="Europe/Berlin")
    # The German state (BW, BY, ...): decides the time zone and, later, the public holidays.
    state: Mapped[str | None] = mapped_column(String(2), nullable=True)
    texts: Mapped[dict[str, dict[str, str]]] = mapped_column(JsonB, default=dict)
    # Address, phone, e-mail, the accessibility feedback address, opening hours per language (see tenants/legal.py).
    contact: Mapped[dict[str, Any] | None] = mapped_column(JsonB, nullable=True)
    # A disabled municipality answers every request with a neutral "not available" page and sends nothing.
    active: Mapped[bool] = mapped_column(default=True)
    feedback_reopen_days: Mapped[int] = mapped_column(default=14, server_default="14")  # see cases/feedback.py
    # Closed cases are anonymised this many days after their last activity (cases/retention.py); None: kept.
    retention_days: Mapped[int | None] = mapped_column(nullable=True)


class TenantHost(Base):
    """An extra host name (custom domain) a municipality answers on, besides <slug>.<base domain>."""

    __tablename__ = "tenant_host"

    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenant.id", ondelete="CASCADE"), index=True)
    host: Mapped[str] = mapped_column(String(253), unique=True)


class LegalText(TenantOwned, Base):
    """A municipality's own wording of one legal page (imprint, privacy, accessibility) in one language.

    No row means the page shows its template (tenants/legal/), filled with the municipality's data.
    """

    __tablename__ = "legal_text"
    __table_args__ = (UniqueConstraint("tenant_id", "kind", "language", name="uq_legal_text_kind_language"),)

    kind: Mapped[str] = mapped_column(String(20))
    language: Mapped[str] = mapped_column(String(8))
    body: Mapped[str] = mapped_column(Text, default="")


class TextOverride(TenantOwned, Base):
    """A municipality's own wording of one text of the citizen pages in one language; the shared catalogue
    (locales/) stays as it is."""

    __tablename__ = "text_override"
    __table_args__ = (UniqueConstraint("tenant_id", "language", "msgid", name="uq_text_override_msgid"),)

    language: Mapped[str] = mapped_column(String(8))
    msgid: Mapped[str] = mapped_column(Text)
    text: Mapped[str] = mapped_column(Text)
