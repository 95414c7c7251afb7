"""The citizen's side of a case: fill in the form, review, submit, follow it by its private link."""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Controller, Request, get, post
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, FromQuery
from litestar.response import File, Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts.citizens import SESSION_COOKIE, CitizenService
from backend.cases import workflow
from backend.cases.drafts import DraftService
from backend.cases.duplicates import DuplicateService
from backend.cases.feedback import feedback_state
from backend.cases.intake import StepFiles, take_files
from backend.cases.models import Attachment, Case
from backend.cases.services import CITIZEN, CaseService, new_idempotency_key, valid_idempotency_key
from backend.cases.singleflight import submissions_of
from backend.catalogue.forms import FormResult, raw_values, validate
from backend.catalogue.models import FormVersion, Service
from backend.catalogue.schemas import FormDefinition
from backend.catalogue.services import CatalogueService
from backend.core import i18n
from backend.core.db import read_only, scope_session
from backend.core.downloads import stored_file
from backend.core.errors import NotFound
from backend.core.limits import UPLOAD_BODY_LIMIT
from backend.core.storage import Storage
from backend.core.tenancy import TenantData, tenant_of
from backend.tenants.privacy import privacy_notice


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
        # Files sent for a field that is not asked (its condition does not hold) are not kept.
        self.files = {name: items for name, items in files.items() if name not in result.hidden}

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
    async def form(
        self,
        slug: FromPath[str],
        request: Request[Any, Any, State],
        catalogue: NamedDependency[CatalogueService],
        cases: NamedDependency[CaseService],
        draft: FromQuery[str] = "",
    ) -> Template:
        """The empty form, or (``?draft=<key>``) the answers and files kept on the server, to change them."""
        if valid_idempotency_key(draft):
            sent = await cases.find_by_idempotency_key(draft)
            if sent is not None:
                return _sent_page(sent, slug)
            state = await self._from_draft(slug, draft, catalogue, cases)
            if state is not None:
                return Template("form.html", context=state.context(), headers=NO_STORE)
        await read_only(catalogue.session)  # nothing to write: no BEGIN and COMMIT round trips

        async def current() -> tuple[tuple[Service, FormVersion, FormDefinition], None]:
            return await catalogue.form_for(slug), None

        # Kept per municipality like the home page's services (a changed service or a new form version is a
        # change of the service: every instance forgets it, tenants/changes.py); an unknown slug is not kept.
        kept: TenantData = request.app.state.tenant_data
        service, version, definition = await kept.get(catalogue.tenant.id, f"form:{slug}", current)
        # The key is left empty for the device to make; without JavaScript the server makes it on the next step.
        state = FormState(service, version, definition, "", FormResult(), {})
        return Template("form.html", context=state.context())

    @post("/s/{slug:str}/form", status_code=200, opt=UPLOAD_BODY_LIMIT)
    async def form_step(
        self,
        slug: FromPath[str],
        request: Request[Any, Any, State],
        catalogue: NamedDependency[CatalogueService],
        cases: NamedDependency[CaseService],
    ) -> Template | Redirect:
        """Check the answers: the form again with every problem, or the draft kept and on to its review page."""
        state, step = await self._read(slug, request, catalogue, cases, accept_uploads=True)
        data = await request.form()
        if step.rate_limited:
            return Template("form.html", context=state.context(), status_code=429, headers={"Retry-After": "3600"})
        if data.get("action") == "edit" or not state.result.ok:
            return Template("form.html", context=state.context())
        await DraftService(cases.session, cases.tenant).save(
            state.service.id, state.version.id, state.key, state.result.values, state.files
        )
        # Its own address: reload, back and a language switch show the review again, photos included.
        return Redirect(path=f"/s/{slug}/review/{state.key}", status_code=303)

    @get("/s/{slug:str}/review/{key:str}")
    async def review(
        self,
        slug: FromPath[str],
        key: FromPath[str],
        catalogue: NamedDependency[CatalogueService],
        cases: NamedDependency[CaseService],
    ) -> Template | Redirect:
        if not valid_idempotency_key(key):
            raise NotFound()
        sent = await cases.find_by_idempotency_key(key)
        if sent is not None:  # back after sending: say so, with the way to the request
            return _sent_page(sent, slug)
        state = await self._from_draft(slug, key, catalogue, cases)
        if state is None:  # expired or never made: start again
            return Redirect(path=f"/s/{slug}/form", status_code=303)
        if not state.result.ok:  # e.g. a kept file has expired meanwhile
            return Template("form.html", context=state.context(), headers=NO_STORE)
        privacy = await privacy_notice(cases.session, cases.tenant.id)
        return Template("review.html", context=state.context(privacy=privacy), headers=NO_STORE)

    @post("/s/{slug:str}/submit", status_code=200, opt=UPLOAD_BODY_LIMIT)
    async def submit(
        self,
        slug: FromPath[str],
        request: Request[Any, Any, State],
        catalogue: NamedDependency[CatalogueService],
        cases: NamedDependency[CaseService],
    ) -> Template | Redirect:
        data = await request.form()
        key = data.get("idempotency_key")
        if not (isinstance(key, str) and valid_idempotency_key(key)):
            return await self._submit(slug, request, catalogue, cases)
        # Duplicates of one submission take turns and reuse the first answer (see cases.singleflight). A retry
        # that reaches another process is told by the unique key when its case is written (CaseService.submit):
        # no lookup beforehand, which every first attempt would pay for.
        async with submissions_of(request.app).turn((cases.tenant.id, key)) as flight:
            if flight.outcome is None:
                await cases.begin_submission()
                answer = await self._submit(slug, request, catalogue, cases, began=True)
                if isinstance(answer, Redirect):
                    flight.outcome = answer.url
                return answer
            return Redirect(path=flight.outcome, status_code=303)

    async def _submit(
        self,
        slug: str,
        request: Request[Any, Any, State],
        catalogue: CatalogueService,
        cases: CaseService,
        *,
        began: bool = False,
    ) -> Template | Redirect:
        if not began:
            await cases.begin_submission()
        state, _step = await self._read(slug, request, catalogue, cases, accept_uploads=False)
        if not state.result.ok:
            # A retry after a lost answer can fail here (its files now belong to the case): the key says so.
            existing = await cases.find_by_idempotency_key(state.key)
            if existing is not None:
                # Queues the receipt should the first attempt have ended between case and receipt.
                await cases.announce_submitted(existing)
                return Redirect(path=f"/r/{existing.tracking_token}?new=1", status_code=303)
            return Template("form.html", context=state.context())
        # A double tap or a retry with answers that are still valid ends at the first case (see submit).
        case, _created = await cases.submit(
            state.service, state.version, state.result.answers, state.key, i18n.get_language(), state.definition
        )
        await _link_to_account(request, cases, case)
        return Redirect(path=f"/r/{case.tracking_token}?new=1", status_code=303)

    async def _read(
        self,
        slug: str,
        request: Request[Any, Any, State],
        catalogue: CatalogueService,
        cases: CaseService,
        *,
        accept_uploads: bool,
    ) -> tuple[FormState, StepFiles]:
        data = await request.form()
        service, version, definition = await catalogue.form_for(slug, _uuid_or_none(data.get("form_version")))
        key = data.get("idempotency_key")
        if not (isinstance(key, str) and valid_idempotency_key(key)):
            key = new_idempotency_key()
        step = await take_files(request, cases, service, definition, key, data, accept_uploads=accept_uploads)
        values = raw_values(definition, data)
        result = validate(definition, values, {name: [str(a.id) for a in items] for name, items in step.files.items()})
        for name, message in step.errors.items():
            result.errors[name] = message + (" " + result.errors[name] if name in result.errors else "")
        return FormState(service, version, definition, key, result, step.files), step

    async def _from_draft(
        self, slug: str, key: str, catalogue: CatalogueService, cases: CaseService
    ) -> FormState | None:
        service, _version, _definition = await catalogue.form_for(slug)
        draft = await DraftService(cases.session, cases.tenant).load(service.id, key)
        if draft is None:
            return None
        service, version, definition = await catalogue.form_for(slug, draft.form_version_id)
        stored = draft.files or {}
        files = {
            f.name: await cases.draft_attachments(key, [str(i) for i in stored.get(f.name, [])])
            for f in definition.fields
            if f.type == "file"
        }
        values = dict(draft.inputs or {})
        result = validate(definition, values, {name: [str(a.id) for a in items] for name, items in files.items()})
        return FormState(service, version, definition, key, result, files)

    @get("/s/{slug:str}/drafts/{key:str}/files/{file_id:uuid}")
    async def draft_file(
        self,
        slug: FromPath[str],
        key: FromPath[str],
        file_id: FromPath[uuid.UUID],
        cases: NamedDependency[CaseService],
    ) -> File:
        attachment = await cases.attachment(file_id, draft_key=key, service_slug=slug)
        return await _file_response(attachment, cases.storage)

    @get("/r/{token:str}")
    async def track(
        self, token: FromPath[str], cases: NamedDependency[CaseService], new: FromQuery[bool] = False
    ) -> Template:
        return await tracking_page(cases, token, new=new)

    @get("/r/{token:str}/files/{file_id:uuid}")
    async def case_file(
        self,
        token: FromPath[str],
        file_id: FromPath[uuid.UUID],
        cases: NamedDependency[CaseService],
    ) -> File:
        case_id = await cases.case_id_for_token(token)
        attachment = await cases.attachment(file_id, case_id=case_id)
        return await _file_response(attachment, cases.storage)

    @get("/r/{token:str}/withdraw")
    async def confirm_withdraw(self, token: FromPath[str], cases: NamedDependency[CaseService]) -> Template | Redirect:
        """Withdrawing is final: the tracking page links here, and only this page's form withdraws."""
        view = await cases.by_token(token)
        if "withdrawn" not in view.flow.next_statuses(view.case.status, "citizen"):
            return Redirect(path=f"/r/{token}", status_code=303)
        return Template("withdraw.html", context={"view": view}, headers={"Cache-Control": "no-cache, private"})

    @post("/r/{token:str}/withdraw")
    async def withdraw(
        self, token: FromPath[str], cases: NamedDependency[CaseService], request: Request[Any, Any, State]
    ) -> Redirect:
        data = await request.form()
        case_id = await cases.case_id_for_token(token)
        await cases.change_status(case_id, "withdrawn", CITIZEN, str(data.get("reason") or "")[:2000])
        return Redirect(path=f"/r/{token}", status_code=303)


NO_STORE = {"Cache-Control": "no-store"}


async def tracking_page(cases: CaseService, token: str, *, status_code: int = 200, **extra: Any) -> Template:
    """The citizen's page of a case; ``extra`` carries a form's state back (errors, the text as typed)."""
    view = await cases.by_token(token)
    is_open = view.case.status in workflow.OPEN_STATUSES
    # A duplicate's citizen follows the main case: its reference and current public status.
    merged = await DuplicateService(cases).main_status(view.case)
    return Template(
        "tracking.html",
        context={
            "view": view,
            "merged": merged,
            "new": False,
            "can_withdraw": "withdrawn" in view.flow.next_statuses(view.case.status, "citizen"),
            # A closed case changes no more: nothing to be notified about, nothing to answer.
            "is_open": is_open,
            "can_reply": is_open,
            "reply": {"errors": {}, "text": ""},
            "feedback": await feedback_state(cases, view),
            **extra,
        },
        status_code=status_code,
        headers={"Cache-Control": "no-cache, private"},
    )


async def _link_to_account(request: Request[Any, Any, State], cases: CaseService, case: Case) -> None:
    """A case sent by a signed-in citizen joins their account ("My requests")."""
    secret = request.cookies.get(SESSION_COOKIE)
    if not secret:
        return
    citizens = CitizenService(cases.session, cases.tenant, request.app.state.settings.secret_key)
    account = await citizens.account_of(secret)
    if account is not None:
        await citizens.link_case(account.id, case.id)


def _sent_page(case: Case, slug: str) -> Template:
    return Template("sent.html", context={"case": case, "service_slug": slug}, headers=NO_STORE)


def _uuid_or_none(value: Any) -> uuid.UUID | None:
    """A draft stays on the form version it started with (posted with it), even if the form changed meanwhile."""
    try:
        return uuid.UUID(str(value)) if value else None
    except ValueError:
        return None


async def _file_response(attachment: Attachment, storage: Storage) -> File:
    return await stored_file(
        storage,
        attachment.storage_key,
        filename=attachment.filename,
        media_type=attachment.content_type,
        disposition="inline" if attachment.content_type.startswith("image/") else "attachment",
        headers={"Cache-Control": "private, max-age=86400"},
    )
