"""Form definitions are data: invalid ones are refused with a reason."""

from __future__ import annotations

from typing import Any

import pytest

from backend.catalogue.schemas import FIELD_TYPES, FormDefinitionError, parse_definition

LABEL = {"de": "Feld", "en": "Field"}


def field(**kw: Any) -> dict[str, Any]:
    return {"name": "f", "type": "text", "label": LABEL, **kw}


def test_every_field_type_is_accepted() -> None:
    fields = []
    for i, kind in enumerate(FIELD_TYPES):
        extra = {"options": [{"value": "a", "label": LABEL}]} if kind in ("choice", "multichoice") else {}
        fields.append({"name": f"f{i}", "type": kind, "label": LABEL, **extra})
    assert len(parse_definition({"fields": fields}).fields) == len(FIELD_TYPES)


@pytest.mark.parametrize(
    ("definition", "reason"),
    [
        ({"fields": [field(type="colour")]}, "type"),
        ({"fields": [field(name="Bad Name")]}, "name"),
        ({"fields": [field(), field()]}, "unique"),
        ({"fields": [field(type="choice")]}, "options"),
        ({"fields": [field(options=[{"value": "a", "label": LABEL}])]}, "no options"),
        ({"fields": [field(pattern="[")]}, "pattern"),
        ({"fields": [field(type="number", min=5, max=1)]}, "min"),
        ({"fields": [field(contact=True)]}, "contact"),
        ({"fields": [field(name="a", type="location"), field(name="b", type="location")]}, "location"),
        ({"fields": [field(surprise=True)]}, "surprise"),
    ],
)
def test_invalid_definitions_are_refused_with_a_reason(definition: dict[str, Any], reason: str) -> None:
    with pytest.raises(FormDefinitionError, match=reason):
        parse_definition(definition)
