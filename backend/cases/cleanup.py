"""Expires what a citizen started but never sent: draft files (rows and stored blobs) and drafts; and sign-in
codes and citizen sessions that ran out (backend/accounts/citizens.py); and folds the running case counts
(backend/cases/tally.py)."""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import logging

from advanced_alchemy.extensions.litestar import SQLAlchemyAsyncConfig
from sqlalchemy import delete, select

from backend.accounts.citizens import purge_expired_sign_ins
from backend.cases import tally
from backend.cases.models import Attachment, Draft
from backend.core.db import unscoped_session
from backend.core.storage import Storage

log = logging.getLogger("rathaus.cases.cleanup")

DRAFT_LIFETIME = datetime.timedelta(hours=24)
CLEANUP_EVERY_SECONDS = 3600.0
BATCH = 500


async def purge_expired_drafts(
    db: SQLAlchemyAsyncConfig, storage: Storage, now: datetime.datetime | None = None
) -> int:
    """Delete draft files uploaded before the cutoff and drafts untouched since; returns the files removed.

    Rows go first, in short batches (the embedded database has one writer); the blobs after the commit,
    so a failure never leaves a row pointing at a deleted file.
    """
    cutoff = (now or datetime.datetime.now(datetime.UTC)) - DRAFT_LIFETIME
    removed = 0
    while True:
        async with unscoped_session(db) as session:
            ids = list(
                await session.scalars(
                    select(Attachment.id)
                    .where(Attachment.case_id.is_(None), Attachment.created_at < cutoff)
                    .limit(BATCH)
                )
            )
            # The condition again: a file submitted meanwhile belongs to its case now and stays.
            keys = (
                list(
                    await session.scalars(
                        delete(Attachment)
                        .where(Attachment.id.in_(ids), Attachment.case_id.is_(None))
                        .returning(Attachment.storage_key)
                        .execution_options(synchronize_session=False)
                    )
                )
                if ids
                else []
            )
        for key in keys:
            await storage.delete(key)
        removed += len(keys)
        if len(ids) < BATCH:
            break
    async with unscoped_session(db) as session:
        await session.execute(
            delete(Draft).where(Draft.updated_at < cutoff).execution_options(synchronize_session=False)
        )
    return removed


async def run_periodically(
    db: SQLAlchemyAsyncConfig, storage: Storage, stop: asyncio.Event, every: float = CLEANUP_EVERY_SECONDS
) -> None:
    """The app's background cleanup; every instance may run it (deleting twice is harmless)."""
    while not stop.is_set():
        try:
            removed = await purge_expired_drafts(db, storage)
            if removed:
                log.info("removed %s expired draft files", removed)
        except Exception:  # a failed round is retried on the next one
            log.exception("draft cleanup failed")
        try:
            await purge_expired_sign_ins(db)
        except Exception:
            log.exception("cleanup of expired sign-ins failed")
        try:
            await tally.compact(db)
        except Exception:
            log.exception("compacting the case counts failed")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=every)
