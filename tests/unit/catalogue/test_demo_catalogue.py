"""The standard catalogue is what a new municipality adopts: its forms must be consistent and well worded."""

from __future__ import annotations

import datetime
import re
from pathlib import Path
from typing import Any

import msgspec
import pytest

from backend.catalogue.forms import validate
from backend.catalogue.schemas import Field, parse_definition
from backend.catalogue.templates import standard_catalogue
from backend.core.templating import build_environment

TEMPLATES = Path(__file__).resolve().parents[3] / "pwa" / "templates"
SERVICES = {slug: msgspec.to_builtins(t) for slug, t in standard_catalogue().items()}


def _fields() -> list[tuple[str, Field]]:
    return [(slug, f) for slug, spec in SERVICES.items() for f in parse_definition(spec["form"]).fields]


def _render(f: Field) -> str:
    env = build_environment(TEMPLATES)
    macro: Any = env.get_template("_fields.html").module.field  # type: ignore[attr-defined]
    return str(macro(f, {}, {}, {}, "", {"slug": "x"}))


def test_choices_are_listed_in_order() -> None:
    zone = parse_definition(SERVICES["bewohnerparkausweis"]["form"]).field("zone")
    assert zone is not None
    assert [o.label["de"] for o in zone.options] == sorted(o.label["de"] for o in zone.options)


def test_a_document_the_service_page_calls_required_is_a_required_field() -> None:
    for slug, spec in SERVICES.items():
        documents = " ".join(doc["de"] for doc in spec["required_documents"])
        for f in parse_definition(spec["form"]).fields:
            if f.type == "file" and f.label["de"] in documents:
                assert f.required, f"{slug}: {f.name} is listed as required but optional in the form"


def test_help_texts_do_not_repeat_that_a_field_is_optional() -> None:
    for slug, f in _fields():
        for text in f.help.values():
            assert not re.match(r"(?i)(freiwillig|optional)\b", text), (slug, f.name, text)


@pytest.mark.parametrize(("slug", "name"), [(s, f.name) for s, f in _fields() if f.type == "date"])
def test_date_inputs_carry_the_limits_their_validation_enforces(slug: str, name: str) -> None:
    f = parse_definition(SERVICES[slug]["form"]).field(name)
    assert f is not None
    html = _render(f)
    today = datetime.date.today()
    for attribute, days in (("min", f.min), ("max", f.max)):
        if days is None:
            assert f' {attribute}="' not in html
        else:
            limit = (today + datetime.timedelta(days=int(days))).isoformat()
            assert f'{attribute}="{limit}"' in html, (slug, name, html)


def test_whole_number_fields_open_the_digit_keypad() -> None:
    numbers = [(slug, f) for slug, f in _fields() if f.type == "number"]
    assert numbers
    for slug, f in numbers:
        assert f.integer, f"{slug}: {f.name} counts whole things"
        html = _render(f)
        assert 'type="number" inputmode="numeric" step="1"' in html, html
        assert f'min="{int(f.min or 0)}"' in html and f'max="{int(f.max or 0)}"' in html


def test_a_whole_number_field_refuses_fractions() -> None:
    definition = parse_definition(
        {"fields": [{"name": "anzahl", "type": "number", "label": {"de": "Anzahl"}, "integer": True, "min": 1}]}
    )
    assert validate(definition, {"anzahl": "3"}, {}).answers["anzahl"] == 3
    assert "anzahl" in validate(definition, {"anzahl": "2,5"}, {}).errors
