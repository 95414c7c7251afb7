"""What happens to a case that others may react to (notifications, later webhooks and live updates)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from backend.core.events import Event


@dataclass(frozen=True)
class CaseUpdated(Event):
    """A change the citizen sees: a new status, a public message, or a request for information."""

    tenant_id: uuid.UUID
    tenant_name: str
    case_id: uuid.UUID
    reference: str
    tracking_token: str
    language: str
    contact_email: str | None
    kind: str  # "status_changed" | "public_message"
    status: str
    message: str = ""
