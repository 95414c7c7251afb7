"""What changed in a standard template since a municipality adopted it, and taking the change over.

Three contents take part, each a plain dict of the same shape (see ``content``): the template as adopted
(the *base*), the template now (*new*) and the municipality's service now (*current*). The template's
changes are base → new; the municipality's own changes (local overrides) are base → current. Accepting an
update takes over exactly the parts the template changed and keeps every other local override.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from backend.cases import workflow
from backend.catalogue.schemas import FormDefinitionError, definition_to_builtins, parse_definition
from backend.core.i18n import gettext as _

# The parts of a service a template provides, besides its form; each is compared and taken over whole.
PARTS = (
    "name",
    "summary",
    "description",
    "category",
    "fees",
    "processing_time",
    "processing_days",
    "required_documents",
    "department",
    "leika_key",
    "keywords",
    "workflow",
)
_DEFAULTS: dict[str, Any] = {
    "required_documents": [],
    "keywords": "",
    "leika_key": "",
    "processing_days": None,
    "workflow": None,
}
LANGUAGE_NAMES: dict[str, Callable[[], str]] = {"de": lambda: _("German"), "en": lambda: _("English")}


def _part_titles() -> dict[str, str]:
    return {
        "name": _("Name"),
        "summary": _("Short description"),
        "description": _("Description"),
        "category": _("Category"),
        "fees": _("Fees"),
        "processing_time": _("Processing time"),
        "processing_days": _("Deadline (working days)"),
        "required_documents": _("Required documents"),
        "department": _("Department"),
        "leika_key": _("LeiKa key"),
        "keywords": _("Search words"),
        "workflow": _("Workflow"),
    }


def _setting_names() -> dict[str, str]:
    return {
        "type": _("Type"),
        "label": _("Label"),
        "help": _("Help text"),
        "required": _("Required"),
        "min_length": _("Minimum length"),
        "max_length": _("Maximum length"),
        "min": _("Minimum"),
        "max": _("Maximum"),
        "integer": _("Whole numbers only"),
        "pattern": _("Pattern"),
        "options": _("Options"),
        "max_files": _("Most files"),
        "accept": _("Accepted files"),
        "contact": _("Contact address for updates"),
    }


def normalized_fields(form: dict[str, Any]) -> list[dict[str, Any]]:
    """The form's fields in one spelling (defaults left out), so equal fields compare equal."""
    try:
        return list(definition_to_builtins(parse_definition(form))["fields"])
    except FormDefinitionError:
        return list(form.get("fields", []))


def normalized_workflow(raw: Any) -> Any:
    """A workflow in one spelling (so equal workflows compare equal); as it is if it does not fit."""
    try:
        return workflow.normalized(raw)
    except workflow.WorkflowError:
        return raw


def content(raw: dict[str, Any]) -> dict[str, Any]:
    """The comparable content of a template (as ``msgspec.to_builtins`` gives it, or a stored snapshot)."""
    result = {part: raw.get(part, _DEFAULTS.get(part, {})) for part in PARTS}
    result["workflow"] = normalized_workflow(result["workflow"])
    result["fields"] = normalized_fields(raw.get("form", {"fields": []}))
    return result


def service_content(service: Any, form: dict[str, Any]) -> dict[str, Any]:
    """The comparable content of a municipality's service with its current form definition."""
    result = {part: getattr(service, part) for part in PARTS}
    result["workflow"] = normalized_workflow(result["workflow"])
    result["fields"] = normalized_fields(form)
    return result


@dataclass(frozen=True)
class Row:
    """One difference inside a part: a language of a text, or a setting of a form field."""

    what: str
    old: str
    new: str


@dataclass(frozen=True)
class Change:
    key: str  # a part ("fees") or "field:<name>"
    title: str
    kind: str  # "changed", "added" or "removed"
    rows: list[Row]


def _show(value: Any) -> str:
    if value is None or value == "" or value == [] or value == {}:
        return "—"
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dict):
        return " / ".join(str(v) for v in value.values())
    if isinstance(value, list):
        return "; ".join(_show(v) for v in value)
    return str(value)


def _i18n_rows(old: dict[str, str], new: dict[str, str], prefix: str = "") -> list[Row]:
    rows = []
    for lang in sorted(set(old) | set(new), key=lambda lang: (lang not in LANGUAGE_NAMES, lang)):
        if old.get(lang) != new.get(lang):
            name = LANGUAGE_NAMES[lang]() if lang in LANGUAGE_NAMES else lang
            rows.append(Row(f"{prefix} ({name})" if prefix else name, old.get(lang) or "—", new.get(lang) or "—"))
    return rows


def _documents(documents: list[dict[str, str]], lang: str) -> str:
    return "; ".join(d.get(lang, "") for d in documents) or "—"


def _statuses(statuses: list[str]) -> str:
    return ", ".join(workflow.staff_label(s) for s in statuses) or "—"


def _workflow_rows(old: dict[str, Any] | None, new: dict[str, Any] | None) -> list[Row]:
    """A workflow's differences: its preset, its own transitions, the statuses that need a message, its wording."""
    old, new = old or {}, new or {}
    preset = workflow.presets().default
    defaults = list(workflow.presets().message_required)
    rows: list[Row] = []
    before, after = old.get("preset", preset), new.get("preset", preset)
    if before != after:
        rows.append(Row(_("Workflow"), workflow.presets().title(before), workflow.presets().title(after)))
    if old.get("transitions") != new.get("transitions"):

        def steps(pairs: list[list[str]] | None) -> str:
            if pairs is None:
                return _("as the preset says")
            return "; ".join(f"{workflow.staff_label(a)} → {workflow.staff_label(b)}" for a, b in pairs) or "—"

        rows.append(Row(_("Status changes"), steps(old.get("transitions")), steps(new.get("transitions"))))
    if old.get("message_required", defaults) != new.get("message_required", defaults):
        rows.append(
            Row(
                _("Statuses that need a message"),
                _statuses(old.get("message_required", defaults)),
                _statuses(new.get("message_required", defaults)),
            )
        )
    old_labels, new_labels = old.get("labels", {}), new.get("labels", {})
    for status in workflow.STATUSES:
        if old_labels.get(status, {}) != new_labels.get(status, {}):
            title = _("Wording of “%(status)s”", status=workflow.staff_label(status))
            rows += _i18n_rows(old_labels.get(status, {}), new_labels.get(status, {}), title)
    return rows


def _part_rows(part: str, old: Any, new: Any) -> list[Row]:
    if part == "workflow":
        return _workflow_rows(old, new)
    if isinstance(old, dict) and isinstance(new, dict):
        return _i18n_rows(old, new)
    if part == "required_documents" and isinstance(old, list) and isinstance(new, list):
        return [
            Row(LANGUAGE_NAMES[lang](), _documents(old, lang), _documents(new, lang))
            for lang in LANGUAGE_NAMES
            if _documents(old, lang) != _documents(new, lang)
        ]
    return [Row(_part_titles()[part], _show(old), _show(new))]


def _options(options: list[dict[str, Any]]) -> str:
    return "; ".join(f"{o.get('value')}: {_show(o.get('label', {}))}" for o in options) or "—"


def _field_rows(old: dict[str, Any], new: dict[str, Any]) -> list[Row]:
    names = _setting_names()
    rows: list[Row] = []
    for key in [*old, *(k for k in new if k not in old)]:
        if key == "name" or old.get(key) == new.get(key):
            continue
        title = names.get(key, key)
        if key in ("label", "help"):
            rows += _i18n_rows(old.get(key) or {}, new.get(key) or {}, title)
        elif key == "options":
            rows.append(Row(title, _options(old.get(key) or []), _options(new.get(key) or [])))
        else:
            rows.append(Row(title, _show(old.get(key)), _show(new.get(key))))
    return rows


def _field_title(field: dict[str, Any]) -> str:
    return _("Form field “%(label)s”", label=_show(field.get("label", {})) if field.get("label") else field["name"])


def changes(old: dict[str, Any], new: dict[str, Any]) -> list[Change]:
    """The differences from one content to another, as a readable list: parts first, then form fields."""
    titles = _part_titles()
    result = [
        Change(part, titles[part], "changed", _part_rows(part, old[part], new[part]))
        for part in PARTS
        if old[part] != new[part]
    ]
    old_fields = {f["name"]: f for f in old["fields"]}
    new_fields = {f["name"]: f for f in new["fields"]}
    for name, field in new_fields.items():
        if name not in old_fields:
            result.append(Change(f"field:{name}", _field_title(field), "added", []))
        elif old_fields[name] != field:
            result.append(Change(f"field:{name}", _field_title(field), "changed", _field_rows(old_fields[name], field)))
    for name, field in old_fields.items():
        if name not in new_fields:
            result.append(Change(f"field:{name}", _field_title(field), "removed", []))
    return result


def merged(current: dict[str, Any], base: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """The service's content after taking over the template's changes (base → new), keeping the rest as it is."""
    result = {part: new[part] if base[part] != new[part] else current[part] for part in PARTS}
    base_fields = {f["name"]: f for f in base["fields"]}
    new_fields = {f["name"]: f for f in new["fields"]}
    current_fields = {f["name"]: f for f in current["fields"]}
    fields: list[dict[str, Any]] = []
    for name, field in new_fields.items():
        if base_fields.get(name) != field:  # added or changed by the template
            fields.append(field)
        elif name in current_fields:  # unchanged by the template: the municipality's version
            fields.append(current_fields[name])
    # The municipality's own fields (not from the template) stay, after the template's.
    fields += [f for name, f in current_fields.items() if name not in new_fields and name not in base_fields]
    result["fields"] = fields
    return result
