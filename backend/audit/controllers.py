"""The municipality's admins read the audit log at /staff/admin/audit and download it as CSV."""

from __future__ import annotations

import csv
import datetime
import io
from collections.abc import AsyncIterator
from typing import Any
from zoneinfo import ZoneInfo

from litestar import Controller, Request, get
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.params import FromQuery
from litestar.response import Stream, Template
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts.services import StaffIdentity
from backend.audit.models import AuditEntry
from backend.audit.services import AuditService
from backend.core.db import tenant_session
from backend.core.i18n import gettext as _
from backend.core.tenancy import TenantContext
from backend.inbox.export import BOM, SEPARATOR, safe_cell


def _local(entry: AuditEntry, zone: ZoneInfo) -> str:
    return entry.created_at.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S")


def _csv(rows: list[list[str]]) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=SEPARATOR, lineterminator="\r\n").writerows(
        [safe_cell(value) for value in row] for row in rows
    )
    return buffer.getvalue().encode("utf-8")


class AuditAdminController(Controller):
    path = "/audit"

    @get("/")
    async def page(
        self,
        staff: NamedDependency[StaffIdentity],
        session: NamedDependency[AsyncSession],
        before: FromQuery[str] = "",
    ) -> Template:
        found = await AuditService(session).page(before[:200])
        return Template(
            "staff/admin/audit.html",
            context={"staff": staff, "entries": found.entries, "older": found.older, "paged": bool(before)},
            headers={"Cache-Control": "no-store"},
        )

    @get("/export.csv")
    async def export(self, request: Request[Any, Any, State], tenant: NamedDependency[TenantContext]) -> Stream:
        zone = ZoneInfo(tenant.timezone)
        heading = [_("Time"), _("Person"), _("Action"), _("Address called"), _("Answer"), _("From address")]
        db = request.app.state.db

        async def chunks() -> AsyncIterator[bytes]:
            yield BOM.encode("utf-8") + _csv([heading])
            # A session of its own: the request's ends when the answer starts, and the file is read after that.
            async with tenant_session(db, tenant.id) as session:
                async for batch in AuditService(session).everything():
                    yield _csv(
                        [
                            [_local(e, zone), e.actor_name, e.action, e.path, str(e.status_code), e.address]
                            for e in batch
                        ]
                    )

        today = datetime.datetime.now(zone).date().isoformat()
        headers: dict[str, Any] = {
            "Content-Disposition": f'attachment; filename="rathaus-{tenant.slug}-audit-{today}.csv"',
            "Cache-Control": "no-store",
        }
        return Stream(chunks(), media_type="text/csv", headers=headers)
