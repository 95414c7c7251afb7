"""What happens to a case that others may react to (notifications, later webhooks and live updates)."""

from __future__ import annotations

import datetime
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from backend.core.events import Event

if TYPE_CHECKING:
    from backend.cases.models import Case


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
    emails_off: bool = False  # the citizen switched e-mails off for this case (push is unaffected)
    # The service's own wording of the status per language ({"de": ..., "en": ...}); empty: the shared wording.
    status_labels: dict[str, str] = field(default_factory=dict)
    # The citizen changed the status themselves (withdrawn, reopened, answered): the citizen is not notified of it,
    # the municipality's own systems (webhooks) are.
    by_citizen: bool = False


@dataclass(frozen=True)
class CaseSubmitted(Event):
    """A new case was saved (also raised again for a retried submission: listeners must be idempotent)."""

    tenant_id: uuid.UUID
    tenant_name: str
    case_id: uuid.UUID
    reference: str
    tracking_token: str
    language: str
    contact_email: str | None
    service_name: dict[str, str]
    created_at: datetime.datetime

    @classmethod
    def of(cls, case: Case, tenant_name: str, service_name: dict[str, str]) -> CaseSubmitted:
        """The event of a saved case (when it is submitted, and again when a lost announcement is made up for)."""
        return cls(
            tenant_id=case.tenant_id,
            tenant_name=tenant_name,
            case_id=case.id,
            reference=case.reference,
            tracking_token=case.tracking_token,
            language=case.language,
            contact_email=case.contact_email,
            service_name=service_name,
            created_at=case.created_at,
        )
