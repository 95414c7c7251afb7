"""Conditional fields: a hidden field is not required and its value is dropped; the server refuses answers the
conditions exclude; definitions with broken conditions are refused."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from backend.catalogue.builder import FormBuilder, machine_name
from backend.catalogue.forms import hidden_fields, validate
from backend.catalogue.schemas import FormDefinitionError, parse_definition
from backend.core import i18n


@pytest.fixture(autouse=True)
def english() -> Iterator[None]:
    i18n.set_language("en")
    yield
    i18n.set_language("en")


def _label(text: str) -> dict[str, str]:
    return {"de": text, "en": text}


KIND = {
    "name": "kind",
    "type": "choice",
    "required": True,
    "label": _label("Kind"),
    "options": [
        {"value": "furniture", "label": _label("Furniture")},
        {"value": "electronics", "label": _label("Electronics")},
        {"value": "tyres", "label": _label("Tyres")},
    ],
}
DEVICES = {
    "name": "devices",
    "type": "text",
    "required": True,
    "label": _label("Devices"),
    "show_if": {"field": "kind", "equals": ["electronics", "tyres"]},
}
AGREE = {"name": "agree", "type": "consent", "label": _label("Agree")}
WHY = {
    "name": "why",
    "type": "textarea",
    "required": True,
    "label": _label("Why"),
    "show_if": {"field": "agree", "equals": "no"},
}
# Depends on "devices", which is a text field: not allowed; used to build chains below with choice fields.
EXTRA = {
    "name": "count",
    "type": "choice",
    "label": _label("Count"),
    "options": [{"value": "many", "label": _label("Many")}],
    "show_if": {"field": "kind", "equals": "electronics"},
}
DETAIL = {
    "name": "detail",
    "type": "text",
    "required": True,
    "label": _label("Detail"),
    "show_if": {"field": "count", "equals": "many"},
}


def form(*fields: dict[str, Any]) -> Any:
    return parse_definition({"fields": list(fields)})


def test_a_hidden_field_is_not_required_and_its_value_is_dropped() -> None:
    result = validate(form(KIND, DEVICES), {"kind": "furniture", "devices": "a fridge"}, {})
    assert result.ok
    assert result.answers == {"kind": "furniture"}
    assert "devices" not in result.values and result.hidden == {"devices"}


def test_a_shown_conditional_field_is_required_and_kept() -> None:
    missing = validate(form(KIND, DEVICES), {"kind": "tyres", "devices": ""}, {})
    assert missing.errors == {"devices": "Please fill in this field."}
    kept = validate(form(KIND, DEVICES), {"kind": "electronics", "devices": "a fridge"}, {})
    assert kept.ok and kept.answers == {"kind": "electronics", "devices": "a fridge"}


def test_answers_outside_the_choices_are_refused_and_hide_what_depends_on_them() -> None:
    result = validate(form(KIND, DEVICES), {"kind": "cars", "devices": "x"}, {})
    assert result.errors == {"kind": "Please choose from the options shown."}
    assert "devices" in result.hidden and "devices" not in result.answers


def test_a_consent_condition_counts_ticked_as_yes_and_unticked_as_no() -> None:
    unticked = validate(form(AGREE, WHY), {"agree": "", "why": ""}, {})
    assert unticked.errors == {"why": "Please fill in this field."}
    ticked = validate(form(AGREE, WHY), {"agree": "yes", "why": "because"}, {})
    assert ticked.ok and ticked.answers == {"agree": True}


def test_a_field_depending_on_a_hidden_field_is_hidden_too() -> None:
    definition = form(KIND, EXTRA, DETAIL)
    result = validate(definition, {"kind": "furniture", "count": "many", "detail": "x"}, {})
    assert result.ok and result.answers == {"kind": "furniture"}
    assert result.hidden == {"count", "detail"}
    assert hidden_fields(definition, {"kind": "furniture", "count": "many", "detail": "x"}) == {"count", "detail"}
    assert hidden_fields(definition, {"kind": "electronics", "count": "many"}) == set()


def test_a_multichoice_condition_holds_when_any_chosen_value_matches() -> None:
    multi = {**KIND, "type": "multichoice", "required": False}
    assert (
        validate(form(multi, DEVICES), {"kind": ["furniture", "tyres"], "devices": "x"}, {}).answers["devices"] == "x"
    )
    assert "devices" in validate(form(multi, DEVICES), {"kind": [], "devices": "x"}, {}).hidden


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ([DEVICES, KIND], "earlier field"),
        ([KIND, {**DEVICES, "show_if": {"field": "nope", "equals": "x"}}], "earlier field"),
        ([{**KIND, "type": "text", "options": []}, DEVICES], "choice"),
        ([KIND, {**DEVICES, "show_if": {"field": "kind", "equals": "cars"}}], "values of"),
        ([AGREE, {**WHY, "show_if": {"field": "agree", "equals": "maybe"}}], "values of"),
    ],
)
def test_definitions_with_broken_conditions_are_refused(fields: list[dict[str, Any]], reason: str) -> None:
    with pytest.raises(FormDefinitionError, match=reason):
        form(*fields)


def test_the_builder_names_the_problems_of_a_draft_in_plain_words() -> None:
    builder = FormBuilder.__new__(FormBuilder)
    assert builder.problems([]) == {"": ["The form has no fields yet. Please add at least one."]}
    found = builder.problems([DEVICES, KIND])
    assert "devices" in found and "not before it" in found["devices"][0]
    gone = builder.problems([KIND, {**DEVICES, "show_if": {"field": "kind", "equals": "cars"}}])
    assert "no longer exists" in gone["devices"][0]
    assert builder.problems([KIND, DEVICES]) == {}


def test_machine_names_come_from_the_label_and_are_never_reused() -> None:
    assert machine_name("Straße & Hausnummer", set()) == "strasse_hausnummer"
    assert machine_name("Art", {"art"}) == "art_2"
    assert machine_name("123", set()) == "f_123"
    assert machine_name("???", set()) == "field"
