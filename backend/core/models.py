"""Every model, imported once so metadata is complete for migrations and the session store."""

from __future__ import annotations

from advanced_alchemy.extensions.litestar.store import StoreModelMixin
from advanced_alchemy.types import DateTimeUTC
from sqlalchemy import Column, Integer, String, Table

from backend.accounts.api_keys import ApiKey
from backend.accounts.invitations import Invitation
from backend.accounts.models import (
    CitizenAccount,
    CitizenSession,
    CitizenSignInCode,
    Department,
    DepartmentMember,
    Membership,
    RecoveryCode,
    StaffSession,
    User,
)
from backend.accounts.resets import PasswordReset
from backend.audit.models import AuditEntry
from backend.cases.models import Attachment, Case, CaseEvent, CaseFeedback, ReferenceCounter
from backend.cases.tally import case_tally
from backend.catalogue.models import FormVersion, Service
from backend.core.db import metadata
from backend.inbox.models import CaseForward, ReplyTemplate, SavedView
from backend.news.models import NewsItem, NewsSubscription
from backend.notifications.models import CaseSubscription, OutboxMessage, PushSubscription, VapidKey, WebhookEndpoint
from backend.tenants.models import LegalText, Tenant, TenantHost, TextOverride


class StoreItem(StoreModelMixin):
    """Key/value rows behind server-side sessions and rate-limit counters when no Redis is configured."""

    __tablename__ = "kv_store"


# Counters of core.ratelimit on PostgreSQL, written only with plain SQL there (no ORM class needed).
rate_counter = Table(
    "rate_counter",
    metadata,
    Column("key", String(255), primary_key=True),
    Column("count", Integer, nullable=False),
    Column("expires_at", DateTimeUTC(timezone=True), nullable=False, index=True),
)


__all__ = [
    "ApiKey",
    "Attachment",
    "AuditEntry",
    "Case",
    "CaseEvent",
    "CaseFeedback",
    "CaseForward",
    "CaseSubscription",
    "case_tally",
    "CitizenAccount",
    "CitizenSession",
    "CitizenSignInCode",
    "Department",
    "DepartmentMember",
    "FormVersion",
    "Invitation",
    "LegalText",
    "Membership",
    "NewsItem",
    "NewsSubscription",
    "OutboxMessage",
    "PasswordReset",
    "PushSubscription",
    "RecoveryCode",
    "ReferenceCounter",
    "ReplyTemplate",
    "SavedView",
    "Service",
    "StaffSession",
    "StoreItem",
    "Tenant",
    "TenantHost",
    "TextOverride",
    "User",
    "VapidKey",
    "WebhookEndpoint",
]
