"""The clerk's tools beside the case: a municipality's reply templates, cases forwarded to outside parties, and
each staff member's saved inbox views."""

from __future__ import annotations

import datetime
import uuid

from advanced_alchemy.types import DateTimeUTC, JsonB
from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from backend.core.db import Base, TenantOwned


class ReplyTemplate(TenantOwned, Base):
    """A standard text a clerk starts a message from, with placeholders (see inbox/reply_templates.py).

    ``body`` holds one text per language ({"de": ..., "en": ...}); the case's language picks one.
    No service: for every service. No status: for any status.
    """

    __tablename__ = "reply_template"
    __table_args__ = (Index("ix_reply_template_tenant_position", "tenant_id", "position"),)

    title: Mapped[str] = mapped_column(String(120))
    body: Mapped[dict[str, str]] = mapped_column(JsonB, default=dict)
    service_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("service.id", ondelete="CASCADE"), nullable=True, index=True
    )
    status: Mapped[str | None] = mapped_column(String(32), nullable=True)
    position: Mapped[int] = mapped_column(Integer, default=0)


class CaseForward(TenantOwned, Base):
    """A case shown to someone outside the town hall (the building yard, a contractor) through a private link.

    Only a hash of the link's token is stored; the token itself goes out in the e-mail once. The link works
    until ``expires_at`` or until a clerk revokes it; every answer through it lands in the case's timeline.
    """

    __tablename__ = "case_forward"
    __table_args__ = (Index("ix_case_forward_case_created", "case_id", "created_at"),)

    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("case_file.id", ondelete="CASCADE"))
    recipient_email: Mapped[str] = mapped_column(String(254))
    recipient_name: Mapped[str] = mapped_column(String(200), default="")
    message: Mapped[str] = mapped_column(Text, default="")
    # The citizen's contact address is shown to the recipient only when the clerk chose so (off by default).
    include_contact: Mapped[bool] = mapped_column(default=False)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_by: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL"), nullable=True
    )
    expires_at: Mapped[datetime.datetime] = mapped_column(DateTimeUTC(timezone=True))
    answered_at: Mapped[datetime.datetime | None] = mapped_column(DateTimeUTC(timezone=True), nullable=True)
    revoked_at: Mapped[datetime.datetime | None] = mapped_column(DateTimeUTC(timezone=True), nullable=True)

    @property
    def who(self) -> str:
        """How the recipient is named in the timeline and on the case page."""
        return self.recipient_name or self.recipient_email


NAME_MAX = 80
QUERY_MAX = 2000


class SavedView(TenantOwned, Base):
    """One view of one person in one municipality; nobody else sees, opens or deletes it."""

    __tablename__ = "saved_view"
    __table_args__ = (
        UniqueConstraint("tenant_id", "user_id", "name", name="uq_saved_view_name"),
        Index("ix_saved_view_user_position", "tenant_id", "user_id", "position"),
    )

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(NAME_MAX))
    # InboxFilter.query() of the filters (never a page cursor): only parameters the inbox knows.
    query: Mapped[str] = mapped_column(String(QUERY_MAX), default="")
    position: Mapped[int] = mapped_column(Integer, default=0)
