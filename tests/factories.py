"""Test data made through the app's own services, each with a fresh municipality so tests never collide."""

from __future__ import annotations

import io
import secrets
import uuid
from dataclasses import dataclass
from typing import Any

from PIL import Image

from backend.accounts.departments import DepartmentService
from backend.accounts.services import AccountService
from backend.catalogue.services import CatalogueService
from backend.core.db import alchemy_config, tenant_session, unscoped_session
from backend.settings import Settings
from backend.tenants.services import TenantService, to_context

PASSWORD = "correct horse battery staple"

REPORT_FORM: dict[str, Any] = {
    "fields": [
        {"name": "where", "type": "location", "required": True, "label": {"de": "Ort", "en": "Place"}},
        {
            "name": "what",
            "type": "textarea",
            "required": True,
            "max_length": 500,
            "label": {"de": "Was ist kaputt?", "en": "What is broken?"},
        },
        {"name": "photos", "type": "file", "max_files": 3, "label": {"de": "Fotos", "en": "Photos"}},
        {
            "name": "kind",
            "type": "choice",
            "label": {"de": "Art des Schadens", "en": "Kind of damage"},
            "options": [
                {"value": "dark", "label": {"de": "Leuchtet nicht", "en": "Not lit"}},
                {"value": "flicker", "label": {"de": "Flackert", "en": "Flickers"}},
            ],
        },
        {
            "name": "email",
            "type": "email",
            "contact": True,
            "label": {"de": "E-Mail für Rückfragen", "en": "E-mail for updates"},
        },
    ]
}


@dataclass(frozen=True)
class TenantFixture:
    id: uuid.UUID
    slug: str
    name: str
    service_slug: str
    clerk_email: str
    admin_email: str
    password: str = PASSWORD

    @property
    def host(self) -> str:
        return f"{self.slug}.localhost"


# The department the factory's service is routed to, and the clerk works in (clerks see their departments' cases).
DEPARTMENT = "Straßenbetrieb"


async def make_tenant(
    settings: Settings, *, name: str | None = None, form: dict[str, Any] | None = None
) -> TenantFixture:
    slug = "t" + secrets.token_hex(5)
    db = alchemy_config(settings)
    try:
        async with unscoped_session(db) as session:
            tenant = await TenantService(session).create(slug=slug, name=name or f"Gemeinde {slug}")
            ctx = to_context(tenant)
        async with tenant_session(db, ctx.id) as session:
            service = await CatalogueService(session, ctx).create_service(
                slug="street-light",
                category={"de": "Straßen", "en": "Streets"},
                name={"de": "Straßenlaterne defekt", "en": "Broken street light"},
                summary={"de": "Melden Sie eine defekte Laterne.", "en": "Report a broken street light."},
                keywords="Laterne Licht Beleuchtung",
                form=form or REPORT_FORM,
            )
            accounts = AccountService(session, ctx)
            clerk = await accounts.add_staff(f"clerk@{slug}.example", PASSWORD, "Clara Clerk", "clerk")
            await accounts.add_staff(f"admin@{slug}.example", PASSWORD, "Anna Admin", "admin")
            departments = DepartmentService(session, ctx)
            await departments.save(await departments.create(DEPARTMENT), DEPARTMENT, [clerk.id], [service.id])
    finally:
        await db.get_engine().dispose()
    return TenantFixture(
        id=ctx.id,
        slug=slug,
        name=ctx.name,
        service_slug="street-light",
        clerk_email=f"clerk@{slug}.example",
        admin_email=f"admin@{slug}.example",
    )


def jpeg_bytes(
    size: tuple[int, int] = (1200, 900), color: tuple[int, int, int] = (200, 40, 40), exif: Any = None
) -> bytes:
    buf = io.BytesIO()
    img = Image.new("RGB", size, color)
    if exif is not None:
        img.save(buf, format="JPEG", exif=exif)
    else:
        img.save(buf, format="JPEG")
    return buf.getvalue()
