"""The audit log: what staff did, when, and from which address. Rows are only ever added."""

from __future__ import annotations

import uuid

from sqlalchemy import ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from backend.core.db import Base, TenantOwned


class AuditEntry(TenantOwned, Base):
    """One staff action that changed something (a successful POST of a staff page), by whom and from where."""

    __tablename__ = "audit_entry"
    __table_args__ = (Index("ix_audit_entry_tenant_created", "tenant_id", "created_at", "id"),)

    # The person (None once their account is gone; the name stays as it was).
    actor_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL"), nullable=True
    )
    actor_name: Mapped[str] = mapped_column(String(200), default="")
    # The route as the app names it, e.g. "POST /staff/cases/{case_id:uuid}/status", and the address called.
    action: Mapped[str] = mapped_column(String(300))
    path: Mapped[str] = mapped_column(String(500))
    status_code: Mapped[int] = mapped_column(Integer)
    address: Mapped[str] = mapped_column(String(64), default="")
