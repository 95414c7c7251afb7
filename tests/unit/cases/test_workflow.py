"""Every allowed and every forbidden status transition, for staff and for citizens."""

from __future__ import annotations

import itertools

import pytest

from backend.cases import workflow

ALLOWED_STAFF = {
    ("submitted", "in_review"),
    ("submitted", "rejected"),
    ("in_review", "needs_info"),
    ("in_review", "in_progress"),
    ("in_review", "rejected"),
    ("needs_info", "in_review"),
    ("needs_info", "in_progress"),
    ("needs_info", "rejected"),
    ("in_progress", "needs_info"),
    ("in_progress", "completed"),
    ("in_progress", "rejected"),
}
ALLOWED_CITIZEN = {("submitted", "withdrawn"), ("in_review", "withdrawn"), ("needs_info", "withdrawn")}
ALL_PAIRS = list(itertools.product(workflow.STATUSES, workflow.STATUSES))


@pytest.mark.parametrize(("frm", "to"), ALL_PAIRS)
def test_staff_may_make_exactly_the_listed_transitions(frm: str, to: str) -> None:
    assert workflow.can_transition(frm, to, "staff") is ((frm, to) in ALLOWED_STAFF)


@pytest.mark.parametrize(("frm", "to"), ALL_PAIRS)
def test_citizens_may_only_withdraw_unprocessed_requests(frm: str, to: str) -> None:
    assert workflow.can_transition(frm, to, "citizen") is ((frm, to) in ALLOWED_CITIZEN)


@pytest.mark.parametrize("final", ["completed", "rejected", "withdrawn"])
def test_final_statuses_lead_nowhere(final: str) -> None:
    assert workflow.next_statuses(final, "staff") == []
    assert workflow.next_statuses(final, "citizen") == []


def test_every_status_has_plain_words_for_citizens_and_staff() -> None:
    for status in workflow.STATUSES:
        assert workflow.label(status) != status
        assert workflow.staff_label(status) != status
        assert workflow.explanation(status)
