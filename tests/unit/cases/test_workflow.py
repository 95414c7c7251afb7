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
    ("reopened", "in_review"),
    ("reopened", "needs_info"),
    ("reopened", "in_progress"),
    ("reopened", "completed"),
    ("reopened", "rejected"),
}
ALLOWED_CITIZEN = {
    ("submitted", "withdrawn"),
    ("in_review", "withdrawn"),
    ("needs_info", "withdrawn"),
    ("needs_info", "in_review"),  # an answer to the town hall's question hands the case back
    ("completed", "reopened"),
    ("rejected", "reopened"),
}
ALL_PAIRS = list(itertools.product(workflow.STATUSES, workflow.STATUSES))


@pytest.mark.parametrize(("frm", "to"), ALL_PAIRS)
def test_staff_may_make_exactly_the_listed_transitions(frm: str, to: str) -> None:
    assert workflow.can_transition(frm, to, "staff") is ((frm, to) in ALLOWED_STAFF)


@pytest.mark.parametrize(("frm", "to"), ALL_PAIRS)
def test_citizens_may_only_withdraw_answer_a_question_or_reopen_closed_ones(frm: str, to: str) -> None:
    assert workflow.can_transition(frm, to, "citizen") is ((frm, to) in ALLOWED_CITIZEN)


@pytest.mark.parametrize("final", ["completed", "rejected", "withdrawn"])
def test_staff_cannot_move_a_closed_case(final: str) -> None:
    assert workflow.next_statuses(final, "staff") == []


def test_a_withdrawn_request_leads_nowhere() -> None:
    assert workflow.next_statuses("withdrawn", "citizen") == []


@pytest.mark.parametrize("closed", ["completed", "rejected"])
def test_only_the_citizen_reopens_a_closed_case(closed: str) -> None:
    assert workflow.next_statuses(closed, "citizen") == ["reopened"]
    assert not workflow.can_transition(closed, "reopened", "staff")


def test_a_reopened_case_is_open_and_back_with_the_clerk() -> None:
    assert "reopened" in workflow.OPEN_STATUSES
    assert set(workflow.next_statuses("reopened", "staff")) == {
        "in_review",
        "needs_info",
        "in_progress",
        "completed",
        "rejected",
    }
    assert workflow.next_statuses("reopened", "citizen") == []


def test_every_status_has_plain_words_for_citizens_and_staff() -> None:
    for status in workflow.STATUSES:
        assert workflow.label(status) != status
        assert workflow.staff_label(status) != status
        assert workflow.explanation(status)
