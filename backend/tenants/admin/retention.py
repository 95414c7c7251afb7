"""The retention page: after how many days without activity the municipality's closed cases are anonymised
(cases/retention.py does it, in the worker)."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get, post
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts.services import StaffIdentity
from backend.cases.retention import MAX_DAYS, MIN_DAYS, anonymised_count, retention_days, set_retention_days
from backend.core.i18n import gettext as _
from backend.core.tenancy import TenantContext
from backend.core.text import whole_number

NO_STORE = {"Cache-Control": "no-store"}
PAGE = "/staff/admin/retention"


async def _form(
    session: AsyncSession, staff: StaffIdentity, value: str, error: str = "", status: int = 200
) -> Template:
    return Template(
        "staff/admin/retention.html",
        context={
            "staff": staff,
            "value": value,
            "error": error,
            "min_days": MIN_DAYS,
            "max_days": MAX_DAYS,
            "anonymised": await anonymised_count(session),
        },
        status_code=status,
        headers=NO_STORE,
    )


def parse_days(raw: str) -> tuple[int | None, str]:
    """The period typed in the form: (days, "") or (None, an error); empty means "keep"."""
    raw = raw.strip()
    if not raw:
        return None, ""
    days = whole_number(raw, 5)
    if days is None:
        return None, _("Please enter a whole number of days, e.g. 365, or leave the field empty.")
    if not MIN_DAYS <= days <= MAX_DAYS:
        return None, _(
            "Please enter between %(min)s and %(max)s days, or leave the field empty.", min=MIN_DAYS, max=MAX_DAYS
        )
    return days, ""


class RetentionController(Controller):
    path = "/retention"

    @get("/")
    async def show(
        self,
        staff: NamedDependency[StaffIdentity],
        tenant: NamedDependency[TenantContext],
        session: NamedDependency[AsyncSession],
    ) -> Template:
        days = await retention_days(session, tenant.id)
        return await _form(session, staff, "" if days is None else str(days))

    @post("/", status_code=200)
    async def save(
        self,
        request: Request[Any, Any, State],
        staff: NamedDependency[StaffIdentity],
        tenant: NamedDependency[TenantContext],
        session: NamedDependency[AsyncSession],
    ) -> Template | Redirect:
        raw = str((await request.form()).get("retention_days") or "")[:20]
        days, error = parse_days(raw)
        if error:
            return await _form(session, staff, raw, error, status=422)
        await set_retention_days(session, tenant.id, days)
        await session.commit()
        return Redirect(path=f"{PAGE}?saved=1", status_code=303)
