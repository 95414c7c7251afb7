"""Comparing a template's versions and taking over its changes while keeping the municipality's own ones."""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msgspec
import pytest

from backend.catalogue import updates
from backend.catalogue.templates import STANDARD_FOLDER, standard_catalogue, template
from backend.core import i18n


def _content(**changes: Any) -> dict[str, Any]:
    raw = msgspec.to_builtins(template("hundeanmeldung"))
    return updates.content({**raw, **changes})


def _fields(content: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {f["name"]: f for f in content["fields"]}


@pytest.fixture
def english() -> Iterator[None]:
    i18n.set_language("en")
    yield
    i18n.set_language(i18n.DEFAULT_LANGUAGE)


def test_the_changes_name_texts_per_language_and_form_fields_old_and_new(english: None) -> None:
    base = _content()
    raw_fields = msgspec.to_builtins(template("hundeanmeldung"))["form"]["fields"]
    fields = [f | {"max_length": 60} if f["name"] == "hund_name" else f for f in raw_fields if f["name"] != "telefon"]
    fields.append({"name": "farbe", "type": "text", "label": {"de": "Farbe", "en": "Colour"}})
    new = _content(fees={"de": "96 Euro im Jahr", "en": "96 euros a year"}, form={"fields": fields})
    found = {c.key: c for c in updates.changes(base, new)}
    assert set(found) == {"fees", "field:hund_name", "field:farbe", "field:telefon"}
    assert [(r.what, r.new) for r in found["fees"].rows] == [
        ("German", "96 Euro im Jahr"),
        ("English", "96 euros a year"),
    ]
    assert [(r.what, r.old, r.new) for r in found["field:hund_name"].rows] == [("Maximum length", "50", "60")]
    assert found["field:farbe"].kind == "added" and found["field:telefon"].kind == "removed"
    assert updates.changes(base, _content()) == []


def test_taking_over_keeps_local_changes_the_template_did_not_touch() -> None:
    base = _content()
    base_fields = base["fields"]
    current = {
        **base,
        "fees": {"de": "60 Euro", "en": "60 euros"},
        "processing_time": {"de": "3 Tage", "en": "3 days"},
        "fields": [
            f | {"required": False} if f["name"] == "rasse" else f for f in base_fields if f["name"] != "chipnummer"
        ]
        + [{"name": "eigen", "type": "text", "label": {"de": "Eigen", "en": "Own"}}],
    }
    new_fields = [f | {"max_length": 60} if f["name"] == "hund_name" else f for f in base_fields]
    new = {**base, "fees": {"de": "96 Euro", "en": "96 euros"}, "fields": new_fields}
    result = updates.merged(current, base, new)
    assert result["fees"] == new["fees"]  # changed by the template: taken over
    assert result["processing_time"] == current["processing_time"]  # only changed here: kept
    fields = _fields(result)
    assert fields["hund_name"]["max_length"] == 60
    assert fields["rasse"]["required"] is False  # the local setting stays
    assert "chipnummer" not in fields and "eigen" in fields
    assert list(fields)[-1] == "eigen"


def test_a_changed_template_file_is_read_again(tmp_path: Path) -> None:
    folder = tmp_path / "standard"
    folder.mkdir()
    shutil.copy(STANDARD_FOLDER / "hundeanmeldung.toml", folder)
    before = standard_catalogue(folder)["hundeanmeldung"]
    assert standard_catalogue(folder) is standard_catalogue(folder)  # read once while unchanged
    time.sleep(0.01)
    path = folder / "hundeanmeldung.toml"
    path.write_text(path.read_text("utf-8").replace("etwa 2 Wochen", "etwa 3 Wochen"), "utf-8")
    after = standard_catalogue(folder)["hundeanmeldung"]
    assert after.processing_time["de"] == "etwa 3 Wochen" and after.version != before.version
    assert set(standard_catalogue()) > {"hundeanmeldung"}  # the platform's own folder is untouched
