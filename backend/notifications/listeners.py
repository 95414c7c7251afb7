"""Which events notify the citizen (and webhooks): registered once when the app (or a worker) starts."""

from __future__ import annotations

from backend.cases.events import CaseSubmitted, CaseUpdated
from backend.core.events import listen
from backend.notifications.receipt import queue_receipt
from backend.notifications.services import enqueue_case_update
from backend.notifications.webhooks import queue_case_created, queue_case_updated


def register() -> None:
    listen(CaseUpdated, enqueue_case_update)
    listen(CaseSubmitted, queue_receipt)
    listen(CaseUpdated, queue_case_updated)
    listen(CaseSubmitted, queue_case_created)
