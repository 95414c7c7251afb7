"""Wording overrides: the municipality words any text of the citizen pages its own way, per language."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from litestar import Controller, Request, get, post
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.params import FromQuery
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts.services import StaffIdentity
from backend.core import i18n
from backend.core.i18n import gettext as _
from backend.core.tenancy import TenantContext
from backend.core.text import clean_text
from backend.settings import Settings
from backend.tenants.changes import announce
from backend.tenants.wording import TEXT_LIMIT, WordingService

NO_STORE = {"Cache-Control": "no-store"}
# Enough to find a text on one page; a search narrows the list.
SHOWN = 40


class TextsController(Controller):
    path = "/texts"

    @get("/")
    async def show(
        self,
        request: Request[Any, Any, State],
        staff: NamedDependency[StaffIdentity],
        tenant: NamedDependency[TenantContext],
        session: NamedDependency[AsyncSession],
        q: FromQuery[str] = "",
    ) -> Template:
        return await _page(request, staff, tenant, session, q[:100].strip())

    @post("/", status_code=200)
    async def save(
        self,
        request: Request[Any, Any, State],
        staff: NamedDependency[StaffIdentity],
        tenant: NamedDependency[TenantContext],
        session: NamedDependency[AsyncSession],
    ) -> Template | Redirect:
        data = await request.form()
        query = clean_text(str(data.get("q") or ""), multiline=False)[:100]
        msgid = str(data.get("msgid") or "")
        service = WordingService(session, _settings(request).templates_dir)
        if msgid not in service.messages:
            return await _page(
                request,
                staff,
                tenant,
                session,
                query,
                status=422,
                problem=_("This text is not one of the texts of the citizen pages; please pick it from the list."),
            )
        texts = {lang: clean_text(str(data.get(f"override_{lang}") or "")) for lang in tenant.languages}
        errors: dict[str, str] = {}
        for lang, text in texts.items():
            if len(text) > TEXT_LIMIT:
                errors[lang] = _(
                    "The text is too long: at most %(limit)s characters, please shorten it.", limit=TEXT_LIMIT
                )
            elif text:
                problem = i18n.placeholder_problem(msgid, text)
                if problem:
                    errors[lang] = problem
        if errors:
            return await _page(
                request, staff, tenant, session, query, status=422, msgid=msgid, kept=texts, errors=errors
            )
        await service.save(msgid, texts)
        # Committed before the cache is emptied, so no request on this instance loads the old wording again.
        await session.commit()
        announce(request.app, tenant.id)
        return Redirect(path="/staff/admin/texts?" + urlencode({"q": query, "saved": "1"}), status_code=303)


def _settings(request: Request[Any, Any, State]) -> Settings:
    return request.app.state.settings  # type: ignore[no-any-return]


async def _page(
    request: Request[Any, Any, State],
    staff: StaffIdentity,
    tenant: TenantContext,
    session: AsyncSession,
    query: str,
    *,
    status: int = 200,
    problem: str = "",
    msgid: str = "",
    kept: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
) -> Template:
    service = WordingService(session, _settings(request).templates_dir)
    rows = await service.rows(tenant.languages, query)
    shown = rows[:SHOWN]
    # The row that was refused stays in view, with what was typed.
    if msgid and all(row.msgid != msgid for row in shown):
        refused = [row for row in await service.rows(tenant.languages, "") if row.msgid == msgid]
        shown = refused + shown[: SHOWN - 1]
    return Template(
        "staff/admin/texts.html",
        context={
            "staff": staff,
            "rows": shown,
            "total": len(rows),
            "q": query,
            "problem": problem,
            "failed": msgid,
            "kept": kept or {},
            "errors": errors or {},
            "languages": tenant.languages,
        },
        status_code=status,
        headers=NO_STORE,
    )
