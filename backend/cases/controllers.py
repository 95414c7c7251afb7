"""The citizen's side of a case: fill in the form, review, submit, follow it by its private link."""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Controller, Request, get, post
from litestar.datastructures import State, UploadFile
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, FromQuery
from litestar.response import File, Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from backend.cases import workflow
from backend.cases.models import Attachment
from backend.cases.services import CITIZEN, CaseService, new_idempotency_key, valid_idempotency_key
from backend.catalogue.forms import FormResult, raw_values, validate
from backend.catalogue.models import FormVersion, Service
from backend.catalogue.schemas import FormDefinition
from backend.catalogue.services import CatalogueService
from backend.core import i18n
from backend.core.db import scope_session
from backend.core.errors import NotFound
from backend.core.storage import Storage
from backend.core.tenancy import tenant_of


async def provide_cases(db_session: NamedDependency[AsyncSession], request: Request[Any, Any, State]) -> CaseService:
    """The case service with the request's session scoped to its municipality (404 on the platform host).

    One provider for the whole chain on purpose: Litestar resolves sibling dependencies concurrently in a
    task group, which cost more per request than the work of providing them.
    """
    tenant = tenant_of(request)
    return CaseService(scope_session(db_session, tenant.id), tenant, request.app.state.storage)


async def provide_catalogue_of(cases: NamedDependency[CaseService]) -> CatalogueService:
    return CatalogueService(cases.session, cases.tenant)


class FormState:
    """The form as the citizen left it: raw values, kept files and the draft's key, carried between steps."""

    def __init__(
        self,
        service: Service,
        version: FormVersion,
        definition: FormDefinition,
        key: str,
        result: FormResult,
        files: dict[str, list[Attachment]],
    ) -> None:
        self.service = service
        self.version = version
        self.definition = definition
        self.key = key
        self.result = result
        self.files = files

    def context(self, **extra: Any) -> dict[str, Any]:
        return {
            "service": self.service,
            "definition": self.definition,
            "form_version_id": str(self.version.id),
            "key": self.key,
            "values": self.result.values,
            "answers": self.result.answers,
            "errors": self.result.errors,
            "files": self.files,
            "files_by_id": {str(a.id): a for items in self.files.values() for a in items},
            **extra,
        }


class CitizenCaseController(Controller):
    dependencies = {
        "cases": Provide(provide_cases),
        "catalogue": Provide(provide_catalogue_of),
    }

    @get("/s/{slug:str}/form")
    async def form(self, slug: FromPath[str], catalogue: NamedDependency[CatalogueService]) -> Template:
        service, version, definition = await catalogue.form_for(slug)
        # The key is left empty for the device to make; without JavaScript the server makes it on the next step.
        state = FormState(service, version, definition, "", FormResult(), {})
        return Template("form.html", context=state.context())

    @post("/s/{slug:str}/form", status_code=200)
    async def form_step(
        self,
        slug: FromPath[str],
        request: Request[Any, Any, State],
        catalogue: NamedDependency[CatalogueService],
        cases: NamedDependency[CaseService],
    ) -> Template:
        """Check the answers; show the form again with every problem, or the review page."""
        state = await self._read(slug, request, catalogue, cases, accept_uploads=True)
        data = await request.form()
        if data.get("action") == "edit" or not state.result.ok:
            return Template("form.html", context=state.context())
        return Template("review.html", context=state.context())

    @post("/s/{slug:str}/submit", status_code=200)
    async def submit(
        self,
        slug: FromPath[str],
        request: Request[Any, Any, State],
        catalogue: NamedDependency[CatalogueService],
        cases: NamedDependency[CaseService],
    ) -> Template | Redirect:
        await cases.begin_submission()
        state = await self._read(slug, request, catalogue, cases, accept_uploads=False)
        if not state.result.ok:
            # A retry after a lost answer can fail here (its files now belong to the case): the key says so.
            existing = await cases.find_by_idempotency_key(state.key)
            if existing is not None:
                return Redirect(path=f"/r/{existing.tracking_token}?new=1", status_code=303)
            return Template("form.html", context=state.context())
        # A double tap or a retry with answers that are still valid ends at the first case (see submit).
        case, _created = await cases.submit(
            state.service, state.version, state.result.answers, state.key, i18n.get_language(), state.definition
        )
        return Redirect(path=f"/r/{case.tracking_token}?new=1", status_code=303)

    async def _read(
        self,
        slug: str,
        request: Request[Any, Any, State],
        catalogue: CatalogueService,
        cases: CaseService,
        *,
        accept_uploads: bool,
    ) -> FormState:
        data = await request.form()
        service, version, definition = await catalogue.form_for(slug, _uuid_or_none(data.get("form_version")))
        key = data.get("idempotency_key")
        if not (isinstance(key, str) and valid_idempotency_key(key)):
            key = new_idempotency_key()
        settings = request.app.state.settings
        files: dict[str, list[Attachment]] = {}
        upload_errors: dict[str, str] = {}
        for f in definition.fields:
            if f.type != "file":
                continue
            kept = await cases.draft_attachments(key, [str(v) for v in data.getall(f"{f.name}__keep", [])])
            new_ids: list[str] = []
            if accept_uploads:
                uploads = [u for u in data.getall(f.name, []) if isinstance(u, UploadFile) and u.filename]
                blobs = [(u.filename, await u.read()) for u in uploads]
                new_ids, errors = await cases.store_uploads(key, f.name, blobs, f.accept, settings.max_upload_bytes)
                if errors:
                    upload_errors[f.name] = " ".join(errors)
            kept += await cases.draft_attachments(key, new_ids)
            files[f.name] = kept
        values = raw_values(definition, data)
        result = validate(definition, values, {name: [str(a.id) for a in items] for name, items in files.items()})
        for name, message in upload_errors.items():
            result.errors[name] = message + (" " + result.errors[name] if name in result.errors else "")
        return FormState(service, version, definition, key, result, files)

    @get("/s/{slug:str}/drafts/{key:str}/files/{file_id:uuid}")
    async def draft_file(
        self,
        key: FromPath[str],
        file_id: FromPath[uuid.UUID],
        cases: NamedDependency[CaseService],
    ) -> File:
        attachment = await cases.attachment(file_id, draft_key=key)
        return _file_response(attachment, cases.storage)

    @get("/r/{token:str}")
    async def track(
        self, token: FromPath[str], cases: NamedDependency[CaseService], new: FromQuery[bool] = False
    ) -> Template:
        view = await cases.by_token(token)
        return Template(
            "tracking.html",
            context={
                "view": view,
                "new": new,
                "can_withdraw": "withdrawn" in workflow.next_statuses(view.case.status, "citizen"),
            },
            headers={"Cache-Control": "no-cache, private"},
        )

    @get("/r/{token:str}/files/{file_id:uuid}")
    async def case_file(
        self,
        token: FromPath[str],
        file_id: FromPath[uuid.UUID],
        cases: NamedDependency[CaseService],
    ) -> File:
        case_id = await cases.case_id_for_token(token)
        attachment = await cases.attachment(file_id, case_id=case_id)
        return _file_response(attachment, cases.storage)

    @post("/r/{token:str}/withdraw")
    async def withdraw(
        self, token: FromPath[str], cases: NamedDependency[CaseService], request: Request[Any, Any, State]
    ) -> Redirect:
        data = await request.form()
        case_id = await cases.case_id_for_token(token)
        await cases.change_status(case_id, "withdrawn", CITIZEN, str(data.get("reason") or "")[:2000])
        return Redirect(path=f"/r/{token}", status_code=303)


def _uuid_or_none(value: Any) -> uuid.UUID | None:
    """A draft stays on the form version it started with (posted with it), even if the form changed meanwhile."""
    try:
        return uuid.UUID(str(value)) if value else None
    except ValueError:
        return None


def _file_response(attachment: Attachment, storage: Storage) -> File:
    path = storage.path(attachment.storage_key)
    if path is None or not path.exists():
        raise NotFound()
    return File(
        path=path,
        filename=attachment.filename,
        media_type=attachment.content_type,
        content_disposition_type="inline" if attachment.content_type.startswith("image/") else "attachment",
        headers={"Cache-Control": "private, max-age=86400"},
    )
