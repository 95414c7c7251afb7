"""A service's workflow is data: presets from workflows.toml, a service's own statuses needing a message and wording."""

from __future__ import annotations

import tomllib
from collections.abc import Iterator

import pytest

from backend.cases import workflow
from backend.core import i18n
from backend.settings import Settings

SETTINGS = Settings(env="development").with_defaults()
REPORT_ONLY = {("submitted", "completed"), ("submitted", "in_progress"), ("in_review", "completed")}


@pytest.fixture(autouse=True)
def translations() -> Iterator[None]:
    i18n.configure(SETTINGS.locales_dir)
    yield
    i18n.set_language("de")


def test_the_presets_are_read_from_the_data_file() -> None:
    raw = tomllib.loads(workflow.PRESETS_FILE.read_text("utf-8"))
    presets = workflow.presets()
    assert set(presets.staff) == set(raw["presets"]) == {"report", "application"}
    for name, preset in raw["presets"].items():
        assert presets.staff[name] == tuple(tuple(pair) for pair in preset["staff"])
    assert presets.citizen == tuple(tuple(pair) for pair in raw["citizen"])
    assert presets.message_required == ("needs_info", "rejected")
    assert presets.default == "application"


def test_a_report_goes_from_new_to_completed_in_one_step_an_application_does_not() -> None:
    report, application = workflow.of({"preset": "report"}), workflow.of({"preset": "application"})
    assert report.can_transition("submitted", "completed", "staff")
    assert not application.can_transition("submitted", "completed", "staff")
    assert "completed" in report.next_statuses("submitted", "staff")
    assert "completed" not in application.next_statuses("submitted", "staff")


def test_the_report_preset_is_the_application_with_the_short_cuts() -> None:
    report, application = set(workflow.presets().staff["report"]), set(workflow.presets().staff["application"])
    assert report - application == REPORT_ONLY
    assert application <= report
    assert ("reopened", "completed") in report


def test_no_workflow_is_the_application_preset() -> None:
    default = workflow.of(None)
    assert default.preset == "application"
    assert default.staff == workflow.of({"preset": "application"}).staff
    assert not workflow.can_transition("submitted", "completed", "staff")


@pytest.mark.parametrize("preset", ["report", "application"])
def test_citizen_transitions_are_the_same_in_every_preset(preset: str) -> None:
    flow = workflow.of({"preset": preset})
    assert set(flow.citizen) == {
        ("submitted", "withdrawn"),
        ("in_review", "withdrawn"),
        ("needs_info", "withdrawn"),
        ("needs_info", "in_review"),
        ("completed", "reopened"),
        ("rejected", "reopened"),
    }
    assert flow.next_statuses("completed", "citizen") == ["reopened"]


def test_own_transitions_replace_the_presets_staff_transitions() -> None:
    flow = workflow.of({"preset": "report", "transitions": [["submitted", "completed"]]})
    assert flow.next_statuses("submitted", "staff") == ["completed"]
    assert flow.next_statuses("in_review", "staff") == []
    assert flow.can_transition("submitted", "withdrawn", "citizen"), "the citizen's steps stay"


def test_a_message_is_required_for_questions_and_rejections_unless_the_service_says_otherwise() -> None:
    default = workflow.of(None)
    assert default.needs_message("needs_info") and default.needs_message("rejected")
    assert not default.needs_message("completed")
    own = workflow.of({"preset": "report", "message_required": ["completed"]})
    assert own.needs_message("completed") and not own.needs_message("rejected")
    assert workflow.of({"preset": "report", "message_required": []}).message_required == ()


def test_labels_are_the_services_wording_falling_back_to_the_shared_one() -> None:
    flow = workflow.of({"preset": "report", "labels": {"completed": {"de": "Repariert", "en": "Repaired"}}})
    i18n.set_language("de")
    assert flow.label("completed") == "Repariert"
    assert flow.label("in_progress") == workflow.label("in_progress") == "In Bearbeitung"
    i18n.set_language("en")
    assert flow.label("completed") == "Repaired"
    assert flow.label("submitted") == "Received"
    only_german = workflow.of({"labels": {"completed": {"de": "Repariert"}}})
    assert only_german.label("completed") == "Completed", "a language without its own wording gets the shared one"
    assert only_german.label("completed", "de") == "Repariert"
    assert workflow.shared_label("completed", "de") == "Erledigt"


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ({"preset": "permit"}, "unknown preset"),
        ({"transitions": [["submitted", "archived"]]}, "unknown status"),
        ({"transitions": [["submitted", "submitted"]]}, "no change"),
        ({"transitions": [["submitted"]]}, "pair"),
        ({"message_required": ["teleported"]}, "message_required"),
        ({"message_required": ["withdrawn"]}, "message_required"),
        ({"labels": {"archived": {"de": "Archiviert"}}}, "unknown status"),
        ({"labels": {"completed": {"fr": "Terminé"}}}, "unknown language"),
        ({"labels": {"completed": {"de": "x" * 61}}}, "at most 60"),
        ({"steps": []}, "unknown part"),
    ],
)
def test_a_workflow_that_does_not_fit_the_statuses_is_refused(raw: dict[str, object], reason: str) -> None:
    with pytest.raises(workflow.WorkflowError, match=reason):
        workflow.normalized(raw)


def test_a_stored_workflow_that_no_longer_fits_falls_back_to_the_default() -> None:
    assert workflow.of({"preset": "gone"}).staff == workflow.of(None).staff


def test_workflows_are_stored_in_one_spelling() -> None:
    assert workflow.normalized(None) is None
    assert workflow.normalized({}) == {"preset": "application"}
    assert workflow.normalized(
        {
            "preset": "report",
            "message_required": ["rejected", "completed"],
            "labels": {"completed": {"de": " Fertig ", "en": ""}},
        }
    ) == {"preset": "report", "message_required": ["completed", "rejected"], "labels": {"completed": {"de": "Fertig"}}}
