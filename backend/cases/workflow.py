"""The statuses of a case and who may move it from which status to which: a table, not scattered ifs."""

from __future__ import annotations

from typing import Literal

from backend.core.i18n import gettext as _
from backend.core.i18n import lazy

Status = Literal["submitted", "in_review", "needs_info", "in_progress", "completed", "rejected", "withdrawn"]
Actor = Literal["staff", "citizen"]

STATUSES: tuple[str, ...] = (
    "submitted",
    "in_review",
    "needs_info",
    "in_progress",
    "completed",
    "rejected",
    "withdrawn",
)
OPEN_STATUSES = ("submitted", "in_review", "needs_info", "in_progress")

# (from, to) -> who may make that change.
TRANSITIONS: dict[tuple[str, str], Actor] = {
    ("submitted", "in_review"): "staff",
    ("submitted", "rejected"): "staff",
    ("in_review", "needs_info"): "staff",
    ("in_review", "in_progress"): "staff",
    ("in_review", "rejected"): "staff",
    ("needs_info", "in_review"): "staff",
    ("needs_info", "in_progress"): "staff",
    ("needs_info", "rejected"): "staff",
    ("in_progress", "needs_info"): "staff",
    ("in_progress", "completed"): "staff",
    ("in_progress", "rejected"): "staff",
    ("submitted", "withdrawn"): "citizen",
    ("in_review", "withdrawn"): "citizen",
    ("needs_info", "withdrawn"): "citizen",
}

_LABELS = {
    "submitted": lazy("Received"),
    "in_review": lazy("Being reviewed"),
    "needs_info": lazy("Waiting for your information"),
    "in_progress": lazy("In progress"),
    "completed": lazy("Completed"),
    "rejected": lazy("Rejected"),
    "withdrawn": lazy("Withdrawn"),
}

_STAFF_LABELS = {
    "submitted": lazy("New"),
    "in_review": lazy("In review"),
    "needs_info": lazy("Needs information"),
    "in_progress": lazy("In progress"),
    "completed": lazy("Completed"),
    "rejected": lazy("Rejected"),
    "withdrawn": lazy("Withdrawn by citizen"),
}

_EXPLANATIONS = {
    "submitted": lazy("Your request has arrived at the town hall and will be looked at soon."),
    "in_review": lazy("A clerk is checking your request."),
    "needs_info": lazy("The town hall needs more information from you. Please read the latest message."),
    "in_progress": lazy("Your request is being worked on."),
    "completed": lazy("Your request has been dealt with."),
    "rejected": lazy("Your request could not be granted. The message below explains why."),
    "withdrawn": lazy("You withdrew this request."),
}


def can_transition(from_status: str, to_status: str, actor: Actor) -> bool:
    return TRANSITIONS.get((from_status, to_status)) == actor


def next_statuses(from_status: str, actor: Actor) -> list[str]:
    return [to for (frm, to), who in TRANSITIONS.items() if frm == from_status and who == actor]


def label(status: str) -> str:
    """The status in plain words, as the citizen reads it."""
    return _(_LABELS.get(status, status))


def staff_label(status: str) -> str:
    return _(_STAFF_LABELS.get(status, status))


def explanation(status: str) -> str:
    return _(_EXPLANATIONS.get(status, ""))
