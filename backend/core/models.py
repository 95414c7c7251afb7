"""Every model, imported once so metadata is complete for migrations and the session store."""

from __future__ import annotations

from advanced_alchemy.extensions.litestar.store import StoreModelMixin

from backend.accounts.models import Membership, User
from backend.cases.models import Attachment, Case, CaseEvent, ReferenceCounter
from backend.catalogue.models import FormVersion, Service
from backend.notifications.models import CaseSubscription, OutboxMessage, PushSubscription, VapidKey
from backend.tenants.models import Tenant, TenantHost


class StoreItem(StoreModelMixin):
    """Key/value rows behind server-side sessions and rate-limit counters when no Redis is configured."""

    __tablename__ = "kv_store"


__all__ = [
    "Attachment",
    "CaseSubscription",
    "OutboxMessage",
    "PushSubscription",
    "VapidKey",
    "Case",
    "CaseEvent",
    "FormVersion",
    "Membership",
    "ReferenceCounter",
    "Service",
    "StoreItem",
    "Tenant",
    "TenantHost",
    "User",
]
