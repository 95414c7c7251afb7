"""A municipality's own wording of the citizen pages' texts: which texts there are, and the overrides kept
per language in front of the shared catalogue (core/i18n.py applies them)."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import jinja2.ext
from babel.messages.extract import extract_from_file
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core import i18n
from backend.core.db import scope_session
from backend.tenants.models import TextOverride

TEXT_LIMIT = 2000
_OPTIONS = {"extensions": "jinja2.ext.i18n", "trim_blocks": "True", "lstrip_blocks": "True"}


@cache
def citizen_messages(templates_dir: Path) -> tuple[str, ...]:
    """Every text of the citizen pages (templates/base/*.html, the staff pages not), as the catalogue keys it.

    Read from the templates themselves, once per process, so a new text can be worded at once. Plural texts
    are left out: their wording depends on a number.
    """
    found: dict[str, None] = {}
    for path in sorted((templates_dir / "base").glob("*.html")):
        for _line, message, _comments, _context in extract_from_file(
            jinja2.ext.babel_extract,  # type: ignore[arg-type]
            str(path),
            keywords={"_": None, "gettext": None},
            options=_OPTIONS,
        ):
            if isinstance(message, str) and message:
                found[message] = None
    return tuple(sorted(found, key=str.casefold))


@dataclass(frozen=True)
class Row:
    """One text on the admin page: its key, the shared wording and the municipality's own, per language."""

    index: int
    msgid: str
    shared: dict[str, str]
    own: dict[str, str]


class WordingService:
    """The overrides of one municipality; the session is scoped to it."""

    def __init__(self, session: AsyncSession, templates_dir: Path) -> None:
        self.session = session
        self.messages = citizen_messages(templates_dir)

    async def overrides(self) -> dict[str, dict[str, str]]:
        """language -> message id -> the municipality's text."""
        out: dict[str, dict[str, str]] = {}
        for row in await self.session.scalars(select(TextOverride)):
            out.setdefault(row.language, {})[row.msgid] = row.text
        return out

    async def rows(self, languages: list[str], query: str) -> list[Row]:
        """The texts whose key, shared or own wording contains ``query`` (all when empty)."""
        own = await self.overrides()
        needle = query.casefold().strip()
        rows = []
        for index, msgid in enumerate(self.messages):
            shared = {lang: i18n.catalogue_text(msgid, lang) for lang in languages}
            mine = {lang: own[lang][msgid] for lang in languages if msgid in own.get(lang, {})}
            haystack = "\n".join([msgid, *shared.values(), *mine.values()]).casefold()
            if not needle or needle in haystack:
                rows.append(Row(index, msgid, shared, mine))
        return rows

    async def save(self, msgid: str, texts: dict[str, str]) -> None:
        """Keep the given languages' texts; an empty text removes the override (the shared wording returns)."""
        current = {
            row.language: row
            for row in await self.session.scalars(select(TextOverride).where(TextOverride.msgid == msgid))
        }
        for language, text in texts.items():
            row = current.get(language)
            if not text:
                if row is not None:
                    await self.session.execute(
                        delete(TextOverride).where(TextOverride.msgid == msgid, TextOverride.language == language)
                    )
            elif row is None:
                self.session.add(TextOverride(language=language, msgid=msgid, text=text))
            else:
                row.text = text
        await self.session.flush()


def override_loader(
    session_maker: Callable[[], AsyncSession],
) -> Callable[[uuid.UUID], Awaitable[i18n.Overrides]]:
    """Loads one municipality's overrides for core/i18n.py's OverrideCache."""

    async def load(tenant_id: uuid.UUID) -> i18n.Overrides:
        async with session_maker() as session:
            scope_session(session, tenant_id)
            rows = await session.execute(select(TextOverride.language, TextOverride.msgid, TextOverride.text))
            out: dict[str, dict[str, str]] = {}
            for language, msgid, text in rows:
                out.setdefault(language, {})[msgid] = text
            return out

    return load
