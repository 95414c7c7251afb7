"""A citizen's data: everything kept about their account as a download, and deleting the account (its cases stay
with the municipality, without contact data)."""

from __future__ import annotations

import datetime
import io
import json
import uuid
import zipfile

from sqlalchemy import delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts.models import CitizenAccount, CitizenSession, CitizenSignInCode
from backend.accounts.passkeys import PasskeyService
from backend.cases import workflow
from backend.cases.models import Attachment, Case, CaseEvent
from backend.cases.search import fold
from backend.catalogue.models import FormVersion, Service
from backend.catalogue.services import CatalogueService
from backend.core import i18n
from backend.core.storage import Storage
from backend.core.tenancy import TenantContext
from backend.notifications.models import OutboxMessage, PushSubscription

# Fields whose answers are contact data: removed from the cases when the account is deleted.
CONTACT_TYPES = frozenset({"email", "phone"})


def _aware(value: datetime.datetime) -> datetime.datetime:
    return value if value.tzinfo else value.replace(tzinfo=datetime.UTC)


class CitizenData:
    """Every query through a session scoped to the request's municipality (core.db adds the criterion)."""

    def __init__(self, session: AsyncSession, tenant: TenantContext) -> None:
        self.session = session
        self.tenant = tenant

    # --- the data download ---------------------------------------------------------------------

    async def export(self, account: CitizenAccount, storage: Storage) -> bytes:
        """Everything the municipality keeps about the account: ``data.json`` plus the files, as a zip."""
        cases = list(
            await self.session.scalars(
                select(Case).where(Case.account_id == account.id).order_by(Case.created_at, Case.id)
            )
        )
        ids = [c.id for c in cases]
        services = {
            s.id: s
            for s in await self.session.scalars(select(Service).where(Service.id.in_({c.service_id for c in cases})))
        }
        events: dict[uuid.UUID, list[CaseEvent]] = {}
        for event in await self.session.scalars(
            select(CaseEvent)
            .where(CaseEvent.case_id.in_(ids), CaseEvent.public.is_(True))
            .order_by(CaseEvent.created_at, CaseEvent.id)
        ):
            events.setdefault(event.case_id, []).append(event)
        public_events = {e.id for items in events.values() for e in items}
        files: dict[uuid.UUID, list[Attachment]] = {}
        for attachment in await self.session.scalars(
            select(Attachment).where(Attachment.case_id.in_(ids)).order_by(Attachment.created_at, Attachment.id)
        ):
            # Files of internal notes are the town hall's, not the citizen's.
            if attachment.event_id is None or attachment.event_id in public_events:
                files.setdefault(attachment.case_id, []).append(attachment)  # type: ignore[arg-type]

        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            exported = []
            for case in cases:
                service = services.get(case.service_id)
                listed = []
                for number, attachment in enumerate(files.get(case.id, []), start=1):
                    name = f"files/{case.reference}/{number:02d}-{_safe_name(attachment.filename)}"
                    try:
                        archive.writestr(name, await storage.get(attachment.storage_key))
                    except (OSError, ValueError):  # gone from the storage: listed, without the file
                        name = ""
                    listed.append(
                        {
                            "filename": attachment.filename,
                            "content_type": attachment.content_type,
                            "size": attachment.size,
                            "file": name,
                        }
                    )
                flow = workflow.of(service.workflow if service is not None else None)
                exported.append(
                    {
                        "reference": case.reference,
                        "service": i18n.translate_text(service.name) if service is not None else "",
                        "status": case.status,
                        "status_label": flow.label(case.status),
                        "submitted_at": _aware(case.created_at).isoformat(),
                        "language": case.language,
                        "contact_email": case.contact_email,
                        "answers": case.answers,
                        "location": case.location,
                        "tracking_link": f"/r/{case.tracking_token}",
                        "timeline": [
                            {
                                "at": _aware(e.created_at).isoformat(),
                                "kind": e.kind,
                                "by": e.actor_kind,
                                "from_status": e.from_status,
                                "to_status": e.to_status,
                                "message": e.body,
                            }
                            for e in events.get(case.id, [])
                        ],
                        "attachments": listed,
                    }
                )
            data = {
                "municipality": self.tenant.name,
                "exported_at": datetime.datetime.now(datetime.UTC).isoformat(),
                "account": {
                    "email": account.email,
                    "language": account.language,
                    "created_at": _aware(account.created_at).isoformat(),
                    "verified_at": _aware(account.verified_at).isoformat(),
                    # The passkeys' names and dates; their public keys are of no use to anyone else.
                    "passkeys": [
                        {
                            "name": p.name,
                            "host": p.rp_id,
                            "added_at": _aware(p.created_at).isoformat(),
                            "last_used_at": _aware(p.last_used_at).isoformat() if p.last_used_at else None,
                        }
                        for p in await PasskeyService(self.session, self.tenant).passkeys(account)
                    ],
                },
                "requests": exported,
            }
            archive.writestr("data.json", json.dumps(data, ensure_ascii=False, indent=2, default=str))
        return buffer.getvalue()

    # --- deleting the account ------------------------------------------------------------------

    async def delete(self, account: CitizenAccount) -> int:
        """Delete the account; its cases stay with the municipality without contact data. Returns their number."""
        cases = list(await self.session.scalars(select(Case).where(Case.account_id == account.id)))
        versions = {
            v.id: v
            for v in await self.session.scalars(
                select(FormVersion).where(FormVersion.id.in_({c.form_version_id for c in cases}))
            )
        }
        catalogue = CatalogueService(self.session, self.tenant)
        for case in cases:
            version = versions.get(case.form_version_id)
            contact_fields = (
                {f.name for f in catalogue.parsed(version).fields if f.type in CONTACT_TYPES or f.contact}
                if version is not None
                else set()
            )
            answers = dict(case.answers or {})
            removed = [str(answers.pop(name)) for name in contact_fields if answers.get(name)]
            if case.contact_email:
                removed.append(case.contact_email)
            search_text = case.search_text or ""
            for value in removed:
                search_text = search_text.replace(fold(value), "")
            case.answers = answers
            case.search_text = " ".join(search_text.split())
            case.contact_email = None
            case.emails_off = True
            case.account_id = None
        # E-mails about the cases and to the account's address: those not sent yet are dropped, the record of
        # those sent forgets the address.
        mails = or_(OutboxMessage.case_id.in_([c.id for c in cases]), OutboxMessage.email == account.email)
        await self.session.execute(
            delete(OutboxMessage)
            .where(mails, OutboxMessage.channel == "email", OutboxMessage.status == "pending")
            .execution_options(synchronize_session=False)
        )
        await self.session.execute(
            update(OutboxMessage)
            .where(mails, OutboxMessage.email.is_not(None))
            .values(email=None)
            .execution_options(synchronize_session=False)
        )
        await self.session.execute(
            delete(CitizenSignInCode)
            .where(CitizenSignInCode.email == account.email)
            .execution_options(synchronize_session=False)
        )
        await self.session.execute(
            delete(CitizenSession)
            .where(CitizenSession.account_id == account.id)
            .execution_options(synchronize_session=False)
        )
        # Its devices keep following the requests they follow, as devices without an account do.
        await self.session.execute(
            update(PushSubscription)
            .where(PushSubscription.account_id == account.id)
            .values(account_id=None)
            .execution_options(synchronize_session=False)
        )
        await self.session.flush()
        await self.session.delete(account)
        await self.session.flush()
        return len(cases)


def _safe_name(name: str) -> str:
    kept = "".join(ch if ch.isalnum() or ch in "._-" else "_" for ch in name)[-100:]
    return kept.lstrip(".") or "file"
