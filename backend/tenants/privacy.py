"""The privacy notice a citizen reads before sending a request: what is collected (the form's own fields), why,
for how long (the municipality's retention period, cases/retention.py) and whom to ask (its contact address),
with the way to its full privacy policy. Drawn from the municipality's data, so it is right for every service."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from backend.cases.retention import retention_days
from backend.tenants.legal import LegalService


@dataclass(frozen=True)
class PrivacyNotice:
    email: str  # whom to ask; empty: the privacy policy says it
    retention_days: int | None  # closed requests are anonymised after this many days; None: not set


async def privacy_notice(session: AsyncSession, tenant_id: uuid.UUID) -> PrivacyNotice:
    contact = await LegalService(session, tenant_id).contact()
    return PrivacyNotice(email=contact.email, retention_days=await retention_days(session, tenant_id))
