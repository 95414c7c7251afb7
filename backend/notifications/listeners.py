"""Which events notify the citizen: registered once when the app (or a worker) starts."""

from __future__ import annotations

from backend.cases.events import CaseUpdated
from backend.core.events import listen
from backend.notifications.services import enqueue_case_update


def register() -> None:
    listen(CaseUpdated, enqueue_case_update)
