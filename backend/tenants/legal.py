"""A municipality's contact details and legal pages: templates filled with its data, its own wording, and
the one safe way such text becomes HTML."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from markupsafe import Markup, escape
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.i18n import DEFAULT_LANGUAGE
from backend.core.i18n import gettext as _
from backend.tenants.models import LegalText, Tenant

TEMPLATES_DIR = Path(__file__).parent / "legal_templates"
KINDS = ("imprint", "privacy", "accessibility")
BODY_LIMIT = 20_000
_PLACEHOLDER = re.compile(r"\{(name|address|phone|email|feedback_email)\}")


@dataclass(frozen=True)
class Contact:
    """What citizens find on /contact; opening hours are text, so they are kept per language."""

    address: str = ""
    phone: str = ""
    email: str = ""
    accessibility_email: str = ""
    opening_hours: dict[str, str] | None = None

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> Contact:
        data = data or {}
        hours = data.get("opening_hours")
        return cls(
            address=str(data.get("address") or ""),
            phone=str(data.get("phone") or ""),
            email=str(data.get("email") or ""),
            accessibility_email=str(data.get("accessibility_email") or ""),
            opening_hours={str(k): str(v) for k, v in hours.items()} if isinstance(hours, dict) else {},
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "address": self.address,
            "phone": self.phone,
            "email": self.email,
            "accessibility_email": self.accessibility_email,
            "opening_hours": dict(self.opening_hours or {}),
        }

    @property
    def feedback_email(self) -> str:
        """Where citizens report barriers: its own address, else the general one."""
        return self.accessibility_email or self.email


def titles() -> dict[str, str]:
    return {
        "imprint": _("Imprint"),
        "privacy": _("Privacy policy"),
        "accessibility": _("Accessibility statement"),
    }


@cache
def _template(kind: str, language: str) -> str:
    path = TEMPLATES_DIR / f"{kind}.{language}.txt"
    if not path.exists():
        path = TEMPLATES_DIR / f"{kind}.{DEFAULT_LANGUAGE}.txt"
    return path.read_text(encoding="utf-8").strip()


def template_text(kind: str, language: str, name: str, contact: Contact) -> str:
    """The page's template in ``language``, filled with the municipality's current data."""
    missing = _("(not given yet)")
    values = {
        "name": name,
        "address": contact.address or missing,
        "phone": contact.phone or missing,
        "email": contact.email or missing,
        "feedback_email": contact.feedback_email or missing,
    }
    return _PLACEHOLDER.sub(lambda m: values[m.group(1)], _template(kind, language))


_LINK = re.compile(r"(https?://[^\s<>\"']+|[\w.+-]+@[\w-]+(?:\.[\w-]+)+)")


def _linked(line: str) -> Markup:
    """One line of text, escaped, with web and e-mail addresses as links."""
    out: list[str] = []
    last = 0
    for match in _LINK.finditer(line):
        found = match.group(0)
        trail = len(found) - len(found.rstrip(".,;:!?)"))
        target = found[: len(found) - trail]
        out.append(str(escape(line[last : match.start()])))
        href = target if target.startswith("http") else f"mailto:{target}"
        out.append(f'<a href="{escape(href)}">{escape(target)}</a>{escape(found[len(target) :])}')
        last = match.end()
    out.append(str(escape(line[last:])))
    return Markup("".join(out))


def render_text(body: str) -> Markup:
    """Text as typed by an admin, as HTML: paragraphs at empty lines, line breaks, ``## `` headings, links.

    Everything else is escaped: no HTML of the admin's ever reaches the page.
    """
    parts: list[str] = []
    for block in re.split(r"\n\s*\n", body.replace("\r\n", "\n").strip()):
        lines = [line.strip() for line in block.split("\n") if line.strip()]
        if lines and lines[0].startswith("## "):
            parts.append(f"<h2>{_linked(lines.pop(0)[3:].strip())}</h2>")
        if lines:
            parts.append("<p>" + "<br>\n".join(str(_linked(line)) for line in lines) + "</p>")
    return Markup("\n".join(parts))


class LegalService:
    """A municipality's contact details and legal texts; the session is scoped to it."""

    def __init__(self, session: AsyncSession, tenant_id: uuid.UUID) -> None:
        self.session = session
        self.tenant_id = tenant_id

    async def _tenant(self) -> Tenant:
        tenant = await self.session.get(Tenant, self.tenant_id)
        if tenant is None:
            raise LookupError("unknown municipality")
        return tenant

    async def contact(self) -> Contact:
        return Contact.from_json((await self._tenant()).contact)

    async def save_contact(self, contact: Contact) -> None:
        (await self._tenant()).contact = contact.to_json()
        await self.session.flush()

    async def own_texts(self, kind: str) -> dict[str, str]:
        """The municipality's own wording of a page, by language (languages without one show the template)."""
        rows = await self.session.scalars(select(LegalText).where(LegalText.kind == kind))
        return {row.language: row.body for row in rows}

    async def page(self, kind: str, language: str, name: str) -> str:
        own = (await self.own_texts(kind)).get(language)
        return own if own else template_text(kind, language, name, await self.contact())

    async def save_texts(self, kind: str, name: str, bodies: dict[str, str], contact: Contact) -> None:
        """Keep each language's text; an empty one, or one equal to the filled template, follows the template
        again (so a later change of the address shows in it)."""
        current = {
            row.language: row for row in await self.session.scalars(select(LegalText).where(LegalText.kind == kind))
        }
        for language, body in bodies.items():
            row = current.get(language)
            if not body or body == template_text(kind, language, name, contact):
                if row is not None:
                    await self.session.execute(
                        delete(LegalText).where(LegalText.kind == kind, LegalText.language == language)
                    )
            elif row is None:
                self.session.add(LegalText(kind=kind, language=language, body=body))
            else:
                row.body = body
        await self.session.flush()
