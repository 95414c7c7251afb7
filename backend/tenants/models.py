"""Municipalities (tenants), the host names they answer on, and their branding."""

from __future__ import annotations

import uuid

from advanced_alchemy.types import JsonB
from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from backend.core.db import Base


class Tenant(Base):
    __tablename__ = "tenant"

    slug: Mapped[str] = mapped_column(String(63), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    primary_color: Mapped[str] = mapped_column(String(7), default="#1d4f91")
    accent_color: Mapped[str] = mapped_column(String(7), default="#b3261e")
    default_language: Mapped[str] = mapped_column(String(8), default="de")
    languages: Mapped[list[str]] = mapped_column(JsonB, default=lambda: ["de", "en"])
    timezone: Mapped[str] = mapped_column(String(64), default="Europe/Berlin")
    texts: Mapped[dict[str, dict[str, str]]] = mapped_column(JsonB, default=dict)
    active: Mapped[bool] = mapped_column(default=True)


class TenantHost(Base):
    """An extra host name (custom domain) a municipality answers on, besides <slug>.<base domain>."""

    __tablename__ = "tenant_host"

    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenant.id", ondelete="CASCADE"), index=True)
    host: Mapped[str] = mapped_column(String(253), unique=True)
