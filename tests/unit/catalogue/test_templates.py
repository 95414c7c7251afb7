"""The standard catalogue is data: every template file passes the form schema and is complete in both languages."""

from __future__ import annotations

import copy
import tomllib
from importlib import resources
from pathlib import Path
from typing import Any

import msgspec
import pytest

from backend import demo
from backend.catalogue.schemas import parse_definition
from backend.catalogue.templates import (
    TemplateError,
    content_hash,
    customized_form,
    parse_template,
    standard_catalogue,
    template,
)

ROOT = Path(__file__).resolve().parents[3]
FILES = sorted((ROOT / "backend" / "catalogue" / "standard").glob("*.toml"))


def _raw(slug: str = "strassenlaterne-defekt") -> dict[str, Any]:
    return tomllib.loads((ROOT / "backend" / "catalogue" / "standard" / f"{slug}.toml").read_text("utf-8"))


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_every_template_file_passes_the_form_schema_in_german_and_english(path: Path) -> None:
    raw = tomllib.loads(path.read_text("utf-8"))
    t = parse_template(raw, path.name)  # the same msgspec form schema the database uses, plus complete texts
    assert parse_definition(t.form).fields
    assert path.stem == t.slug
    assert t.keywords and t.processing_days >= 1 and t.department


def test_the_catalogue_has_at_least_twenty_services_with_unique_slugs() -> None:
    catalogue = standard_catalogue()
    assert len(catalogue) == len(FILES) >= 20
    names = [t.name["de"] for t in catalogue.values()]
    assert len(set(names)) == len(names)


def test_federal_keys_are_fourteen_digits_where_present() -> None:
    for t in standard_catalogue().values():
        assert t.leika_key == "" or (len(t.leika_key) == 14 and t.leika_key.isdigit()), t.slug
    with pytest.raises(TemplateError, match="leika_key"):
        parse_template(_raw() | {"leika_key": "99-123"})


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (lambda r: r["name"].pop("en"), "name needs exactly a German and an English text"),
        (lambda r: r["description"].update(en=" "), "description needs"),
        (lambda r: r["form"]["fields"][0]["label"].pop("de"), "field ort label needs"),
        (lambda r: r["form"]["fields"][1]["options"][0]["label"].pop("en"), "option aus needs"),
        (lambda r: r["form"]["fields"][1].update(type="slider"), "Expected `str` matching|Invalid enum value"),
        (lambda r: r["form"]["fields"][1].pop("options"), "needs options"),
        (lambda r: r.update(slug="Not A Slug"), "slug"),
        (lambda r: r.update(colour="red"), "unknown field"),
    ],
)
def test_an_incomplete_or_invalid_template_is_refused_with_its_reason(change: Any, reason: str) -> None:
    raw = copy.deepcopy(_raw())
    change(raw)
    with pytest.raises(TemplateError, match=reason):
        parse_template(raw, "strassenlaterne-defekt.toml")


def test_the_template_version_changes_with_its_content_only() -> None:
    t = template("sperrmuell")
    assert t.version == content_hash(parse_template(_raw("sperrmuell")))
    changed = parse_template(_raw("sperrmuell") | {"fees": {"de": "10,00 €", "en": "€10.00"}})
    assert changed.version != t.version


def test_a_town_can_word_a_field_differently_and_the_result_is_checked_again() -> None:
    t = template("sperrmuell")
    form = customized_form(t, {"anzahl": {"max": 10}})
    assert form.field("anzahl").max == 10  # type: ignore[union-attr]
    with pytest.raises(TemplateError, match="min is larger than max"):
        customized_form(t, {"anzahl": {"max": 0}})
    with pytest.raises(TemplateError, match="no field"):
        customized_form(t, {"gibtsnicht": {"max": 1}})


def test_the_report_forms_keep_their_search_words_and_polished_details() -> None:
    light = template("strassenlaterne-defekt")
    for word in ("Lampe", "Licht", "kaputt", "Leuchte", "Mast"):
        assert word in light.keywords
    zone = template("bewohnerparkausweis").definition.field("zone")
    assert zone is not None and [o.value for o in zone.options] == ["a", "b", "c"]
    count = template("sperrmuell").definition.field("anzahl")
    assert count is not None and count.integer


def test_the_demo_defines_no_service_of_its_own() -> None:
    catalogue = standard_catalogue()
    for town in demo.TENANTS:
        assert town.services and all(adopted.template in catalogue for adopted in town.services)
    assert not [name for name, value in vars(demo).items() if isinstance(value, dict) and "form" in value]


def test_the_template_files_are_installed_with_the_package() -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))
    assert "standard/*.toml" in pyproject["tool"]["setuptools"]["package-data"]["backend.catalogue"]
    folder = resources.files("backend.catalogue") / "standard"
    assert len([f for f in folder.iterdir() if f.name.endswith(".toml")]) == len(FILES)
    assert msgspec.json.encode(msgspec.to_builtins(template("schlagloch")))  # plain data all the way down


REPORTS = {
    "baum-umgestuerzt",
    "fahrzeug-abgestellt",
    "fundsache",
    "graffiti",
    "gully-verstopft",
    "papierkorb",
    "schlagloch",
    "spielplatz-schaden",
    "strassenlaterne-defekt",
    "verkehrszeichen-beschaedigt",
    "wilder-muell",
    "winterdienst",
}


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_every_template_names_its_workflow_reports_as_reports(path: Path) -> None:
    t = parse_template(tomllib.loads(path.read_text("utf-8")), path.name)
    assert t.workflow is not None, "every template has a [workflow] section"
    assert t.workflow["preset"] == ("report" if t.slug in REPORTS else "application")


@pytest.mark.parametrize(
    ("workflow", "reason"),
    [
        ({"preset": "permit"}, "workflow: unknown preset"),
        ({"preset": "report", "transitions": [["submitted", "archived"]]}, "workflow: transitions: unknown status"),
        ({"preset": "report", "labels": {"completed": {"de": "x" * 61, "en": "Done"}}}, "workflow: .*at most 60"),
    ],
)
def test_a_template_with_a_workflow_that_does_not_fit_is_refused(workflow: dict[str, Any], reason: str) -> None:
    with pytest.raises(TemplateError, match=reason):
        parse_template(_raw() | {"workflow": workflow}, "strassenlaterne-defekt.toml")
