"""What a clerk does with the inbox list besides reading it: export it as CSV, save its filters as a view."""

from __future__ import annotations

import datetime
import uuid
from urllib.parse import parse_qsl
from zoneinfo import ZoneInfo

from litestar import Controller, get, post
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath
from litestar.plugins.htmx import HTMXRequest
from litestar.response import Redirect, Stream, Template

from backend.accounts.services import StaffIdentity
from backend.cases.services import CaseService
from backend.cases.staff import STAFF_CASE_DEPENDENCIES
from backend.catalogue.controllers import provide_catalogue
from backend.catalogue.services import CatalogueService
from backend.core.tenancy import TenantContext
from backend.inbox import export
from backend.inbox.controllers import inbox_page, provide_inbox, provide_views
from backend.inbox.services import InboxFilter, InboxService
from backend.inbox.views import SavedViewService, ViewProblem, normal_query


class InboxListController(Controller):
    path = "/staff"
    dependencies = {
        **STAFF_CASE_DEPENDENCIES,
        "catalogue": Provide(provide_catalogue),
        "inbox": Provide(provide_inbox),
        "views": Provide(provide_views),
    }

    @get("/inbox.csv")
    async def export_csv(
        self,
        request: HTMXRequest,
        staff: NamedDependency[StaffIdentity],
        tenant: NamedDependency[TenantContext],
        inbox: NamedDependency[InboxService],
    ) -> Stream:
        """The list of the same filters as /staff, every page of it (at most export.MAX_ROWS rows)."""
        params = {key: value for key, value in request.query_params.items() if isinstance(value, str)}
        flt = InboxFilter.parse(params)
        batches = inbox.export(flt, request.app.state.db, export.MAX_ROWS + 1)
        today = datetime.datetime.now(ZoneInfo(tenant.timezone)).date()
        return Stream(
            export.csv_stream(batches, tenant.timezone, export.MAX_ROWS),
            media_type="text/csv",
            headers={
                "Content-Disposition": f'attachment; filename="{export.filename(tenant.slug, today)}"',
                "Cache-Control": "no-store",
            },
        )

    @post("/views")
    async def save_view(
        self,
        request: HTMXRequest,
        staff: NamedDependency[StaffIdentity],
        inbox: NamedDependency[InboxService],
        cases: NamedDependency[CaseService],
        catalogue: NamedDependency[CatalogueService],
        views: NamedDependency[SavedViewService],
    ) -> Template | Redirect:
        data = await request.form()
        name, query = _text(data.get("name"), 1000), _text(data.get("query"), 10_000)
        try:
            view = await views.save(name, query)
        except ViewProblem as problem:
            # The list the person was looking at, with what they typed and what to change.
            flt = InboxFilter.parse(dict(parse_qsl(normal_query(query))))
            form = {"name": name}
            return await inbox_page(
                request,
                staff,
                inbox,
                cases,
                catalogue,
                views,
                flt,
                view_form=form,
                view_error=str(problem),
                status_code=422,
            )
        return Redirect(path=f"/staff?{_with(view.query, 'done=view-saved')}", status_code=303)

    @post("/views/{view_id:uuid}/delete")
    async def delete_view(self, view_id: FromPath[uuid.UUID], views: NamedDependency[SavedViewService]) -> Redirect:
        await views.delete(view_id)
        return Redirect(path="/staff?done=view-deleted", status_code=303)


def _text(value: object, limit: int) -> str:
    return value[:limit] if isinstance(value, str) else ""


def _with(query: str, extra: str) -> str:
    return f"{query}&{extra}" if query else extra
