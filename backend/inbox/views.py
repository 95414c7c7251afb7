"""Saved views: a staff member's named inbox filters, listed on the inbox page as links (the URL holds them).

A view belongs to one person in one municipality: another person's view is "not found". Only filters the
inbox knows are stored, in their normal form (``InboxFilter.query``), never a page cursor.
"""

from __future__ import annotations

import uuid
from urllib.parse import parse_qsl

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.errors import NotFound
from backend.core.i18n import gettext as _
from backend.core.tenancy import TenantContext
from backend.core.text import clean_line
from backend.inbox.models import NAME_MAX, QUERY_MAX, SavedView
from backend.inbox.services import InboxFilter

MAX_VIEWS = 30


class ViewProblem(ValueError):
    """A view that cannot be saved; the message says why, for the person."""


def clean_name(raw: str) -> str:
    return " ".join(clean_line(raw).split())


def normal_query(raw: str) -> str:
    """The filters of a query string as the inbox reads them: unknown parameters and the page cursor dropped."""
    params = dict(parse_qsl(raw.strip().lstrip("?")[: QUERY_MAX * 2], keep_blank_values=False))
    return InboxFilter.parse(params).query(after="")


class SavedViewService:
    """The saved views of one staff member in the session's municipality."""

    def __init__(self, session: AsyncSession, tenant: TenantContext, user_id: uuid.UUID) -> None:
        self.session = session
        self.tenant = tenant
        self.user_id = user_id

    async def mine(self) -> list[SavedView]:
        rows = await self.session.scalars(
            select(SavedView)
            .where(SavedView.user_id == self.user_id)
            .order_by(SavedView.position, SavedView.created_at, SavedView.id)
        )
        return list(rows)

    async def save(self, raw_name: str, raw_query: str) -> SavedView:
        """A new view named ``raw_name`` for the filters of ``raw_query``; ViewProblem when it cannot be."""
        name = clean_name(raw_name)
        if not name:
            raise ViewProblem(_("Please give the view a name."))
        if len(name) > NAME_MAX:
            raise ViewProblem(_("The name is too long (at most %(n)s characters).", n=NAME_MAX))
        query = normal_query(raw_query)
        if len(query) > QUERY_MAX:
            raise ViewProblem(_("These filters are too long to be saved. Please shorten the search."))
        taken = await self.session.scalar(
            select(func.count())
            .select_from(SavedView)
            .where(SavedView.user_id == self.user_id, func.lower(SavedView.name) == name.lower())
        )
        if taken:
            raise ViewProblem(_("You already have a view with this name. Please choose another name."))
        count, last = (
            await self.session.execute(
                select(func.count(), func.max(SavedView.position)).where(SavedView.user_id == self.user_id)
            )
        ).one()
        if count >= MAX_VIEWS:
            raise ViewProblem(
                _("You have %(n)s saved views, the most there can be. Please delete one first.", n=MAX_VIEWS)
            )
        view = SavedView(
            tenant_id=self.tenant.id,
            user_id=self.user_id,
            name=name,
            query=query,
            position=0 if last is None else last + 1,
        )
        self.session.add(view)
        try:
            await self.session.flush()
        except IntegrityError:  # the same name saved twice at once (a double click): the other one counted
            await self.session.rollback()
            raise ViewProblem(_("You already have a view with this name. Please choose another name.")) from None
        return view

    async def delete(self, view_id: uuid.UUID) -> SavedView:
        """Removes one of this person's views; NotFound for any other id (another person's included)."""
        view = await self.session.scalar(
            select(SavedView).where(SavedView.id == view_id, SavedView.user_id == self.user_id)
        )
        if view is None:
            raise NotFound(_("This saved view does not exist (any more)."))
        await self.session.delete(view)
        await self.session.flush()
        return view
