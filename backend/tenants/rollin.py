"""Rolling in a municipality for the platform operator: the town, its standard services and its first admin."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from email_validator import EmailNotValidError, validate_email
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts.invitations import INVITE_PATH, invite
from backend.accounts.services import AccountService
from backend.catalogue.services import CatalogueService
from backend.catalogue.templates import standard_catalogue
from backend.tenants.models import Tenant
from backend.tenants.services import TenantError, TenantService, to_context


@dataclass(frozen=True)
class RollIn:
    tenant: Tenant
    services: int
    admin_email: str | None
    invite_path: str | None  # /staff/invite/<token>: shown once, only its hash is stored


def normalized_email(address: str) -> str:
    try:
        return validate_email(address, check_deliverability=False).normalized.lower()
    except EmailNotValidError as exc:
        raise TenantError(f"e-mail address {address!r} is not valid: {exc}") from None


async def roll_in(
    session: AsyncSession,
    *,
    slug: str,
    name: str,
    state: str | None,
    admin_email: str | None = None,
    hosts: list[str] | None = None,
    standard_services: bool = False,
    primary_color: str = "#1d4f91",
) -> RollIn:
    """Create a municipality in one transaction (the session spans municipalities, as for any operator task)."""
    email = normalized_email(admin_email) if admin_email is not None else None
    tenant = await TenantService(session).create(
        slug=slug, name=name, state=state, hosts=hosts, primary_color=primary_color
    )
    ctx = to_context(tenant)
    adopted = 0
    if standard_services:
        catalogue = CatalogueService(session, ctx)
        for position, template in enumerate(standard_catalogue().values()):
            await catalogue.adopt(template, position=position * 10)
            adopted += 1
    path = None
    if email is not None:
        # Nobody knows this password: the admin sets their own through the invitation link.
        user = await AccountService(session, ctx).add_staff(email, secrets.token_urlsafe(32), email, "admin")
        path = INVITE_PATH + await invite(session, ctx, user, "admin")
    return RollIn(tenant, adopted, email, path)
