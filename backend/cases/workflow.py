"""The statuses of a case and, per service, who may move it from which status to which: data, not scattered ifs.

The statuses are a fixed set. Who may change them is data: the presets in ``workflows.toml`` (read once),
and a service's ``workflow`` column, which names a preset and may replace its staff transitions, choose the
statuses a clerk may only set with a message to the citizen, and word statuses its own way for citizens:

    {"preset": "report", "transitions": [["submitted", "completed"], ...], "message_required": ["rejected"],
     "labels": {"completed": {"de": "Repariert", "en": "Repaired"}}}

Every part is optional; no workflow at all (NULL) is the default preset with the shared wording.
"""

from __future__ import annotations

import functools
import json
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from backend.core import i18n
from backend.core.i18n import gettext as _
from backend.core.i18n import lazy

Status = Literal[
    "submitted", "in_review", "needs_info", "in_progress", "completed", "rejected", "withdrawn", "reopened"
]
Actor = Literal["staff", "citizen"]

STATUSES: tuple[str, ...] = (
    "submitted",
    "in_review",
    "needs_info",
    "in_progress",
    "completed",
    "rejected",
    "withdrawn",
    "reopened",
)
OPEN_STATUSES = ("submitted", "in_review", "needs_info", "in_progress", "reopened")
# A citizen who answers "not resolved" in time reopens a closed case once (backend/cases/feedback.py
# checks the period and the once); the clerk then takes it up again like a new request.
REOPENABLE_STATUSES = ("completed", "rejected")
# The statuses a clerk can set at all (the others are the citizen's own or the start): a service may require
# a message for these.
STAFF_TARGETS = ("in_review", "needs_info", "in_progress", "completed", "rejected")
# The longest wording of a status a service may choose (it stands in headings, badges and notifications).
MAX_LABEL = 60

PRESETS_FILE = Path(__file__).resolve().parent / "workflows.toml"

_LABELS = {
    "submitted": lazy("Received"),
    "in_review": lazy("Being reviewed"),
    "needs_info": lazy("Waiting for your information"),
    "in_progress": lazy("In progress"),
    "completed": lazy("Completed"),
    "rejected": lazy("Rejected"),
    "withdrawn": lazy("Withdrawn"),
    "reopened": lazy("Reopened"),
}

_STAFF_LABELS = {
    "submitted": lazy("New"),
    "in_review": lazy("In review"),
    "needs_info": lazy("Needs information"),
    "in_progress": lazy("In progress"),
    "completed": lazy("Completed"),
    "rejected": lazy("Rejected"),
    "withdrawn": lazy("Withdrawn by citizen"),
    "reopened": lazy("Reopened by citizen"),
}

_EXPLANATIONS = {
    "submitted": lazy("Your request has arrived at the town hall and will be looked at soon."),
    "in_review": lazy("A clerk is checking your request."),
    "needs_info": lazy("The town hall needs more information from you. Please read the latest message."),
    "in_progress": lazy("Your request is being worked on."),
    "completed": lazy("Your request has been dealt with."),
    "rejected": lazy("Your request could not be granted. The message below explains why."),
    "withdrawn": lazy("You withdrew this request."),
    "reopened": lazy("You told us your request was not resolved. The town hall is looking at it again."),
}


class WorkflowError(ValueError):
    """A workflow (a service's, a template's or the presets file) that does not fit the statuses."""


Pair = tuple[str, str]


@dataclass(frozen=True)
class Presets:
    """What ``workflows.toml`` holds."""

    staff: Mapping[str, tuple[Pair, ...]]  # preset name -> its staff transitions, in order
    citizen: tuple[Pair, ...]
    message_required: tuple[str, ...]
    default: str
    titles: Mapping[str, Mapping[str, str]] = field(default_factory=dict)  # preset name -> its name per language
    descriptions: Mapping[str, Mapping[str, str]] = field(default_factory=dict)

    def title(self, name: str) -> str:
        return i18n.translate_text(dict(self.titles.get(name, {}))) or name

    def description(self, name: str) -> str:
        return i18n.translate_text(dict(self.descriptions.get(name, {})))


def _pairs(raw: Any, where: str) -> tuple[Pair, ...]:
    if not isinstance(raw, list):
        raise WorkflowError(f"{where}: a list of [from, to] pairs is expected")
    pairs: list[Pair] = []
    for item in raw:
        if not (isinstance(item, list | tuple) and len(item) == 2 and all(isinstance(s, str) for s in item)):
            raise WorkflowError(f"{where}: {item!r} is not a [from, to] pair")
        frm, to = item
        unknown = [s for s in (frm, to) if s not in STATUSES]
        if unknown:
            raise WorkflowError(f"{where}: unknown status {unknown[0]!r}")
        if frm == to:
            raise WorkflowError(f"{where}: {frm!r} to itself is no change")
        if (frm, to) not in pairs:
            pairs.append((frm, to))
    return tuple(pairs)


def parse_presets(raw: Mapping[str, Any], source: str = "workflows.toml") -> Presets:
    presets = raw.get("presets")
    if not isinstance(presets, Mapping) or not presets:
        raise WorkflowError(f"{source}: no presets")
    staff = {name: _pairs(p.get("staff"), f"{source}: presets.{name}.staff") for name, p in presets.items()}
    default = raw.get("default_preset")
    if default not in staff:
        raise WorkflowError(f"{source}: default_preset must name a preset")
    required = raw.get("message_required", [])
    if not isinstance(required, list) or any(s not in STATUSES for s in required):
        raise WorkflowError(f"{source}: message_required must list known statuses")
    texts = {}
    for part in ("title", "description"):
        texts[part] = {name: dict(p.get(part) or {}) for name, p in presets.items()}
        for name, text in texts[part].items():
            missing = [lang for lang in i18n.SUPPORTED_LANGUAGES if not str(text.get(lang, "")).strip()]
            if missing:
                raise WorkflowError(f"{source}: presets.{name}.{part} needs a text in {', '.join(missing)}")
    return Presets(
        staff,
        _pairs(raw.get("citizen"), f"{source}: citizen"),
        tuple(required),
        default,
        texts["title"],
        texts["description"],
    )


@functools.cache
def presets() -> Presets:
    """The presets file, read once per process."""
    with PRESETS_FILE.open("rb") as fh:
        return parse_presets(tomllib.load(fh), PRESETS_FILE.name)


def preset_names() -> tuple[str, ...]:
    return tuple(presets().staff)


@dataclass(frozen=True)
class Workflow:
    """One service's workflow, ready to answer: may this actor make this change, what does the citizen read."""

    preset: str
    staff: tuple[Pair, ...]
    citizen: tuple[Pair, ...]
    message_required: tuple[str, ...]
    labels: Mapping[str, Mapping[str, str]] = field(default_factory=dict)

    def _pairs(self, actor: Actor) -> tuple[Pair, ...]:
        return self.staff if actor == "staff" else self.citizen

    def can_transition(self, from_status: str, to_status: str, actor: Actor) -> bool:
        return (from_status, to_status) in self._pairs(actor)

    def next_statuses(self, from_status: str, actor: Actor) -> list[str]:
        return [to for frm, to in self._pairs(actor) if frm == from_status]

    def needs_message(self, to_status: str) -> bool:
        return to_status in self.message_required

    def label(self, status: str, language: str | None = None) -> str:
        """The status as the citizen reads it: the service's own wording, else the shared one."""
        own = self.labels.get(status, {}).get(language or i18n.get_language(), "")
        return own or _(_LABELS.get(status, status))

    def labels_of(self, status: str) -> dict[str, str]:
        """The service's own wording of one status, per language (empty: the shared wording)."""
        return dict(self.labels.get(status, {}))


def _normalized(raw: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """A workflow as stored: checked, in one spelling (empty parts left out); None for the default."""
    if raw is None:
        return None
    if not isinstance(raw, Mapping):
        raise WorkflowError("a workflow is a table of preset, transitions, message_required and labels")
    unknown = set(raw) - {"preset", "transitions", "message_required", "labels"}
    if unknown:
        raise WorkflowError(f"unknown part {sorted(unknown)[0]!r}")
    known = presets()
    preset = raw.get("preset", known.default)
    if preset not in known.staff:
        raise WorkflowError(f"unknown preset {preset!r} (known: {', '.join(known.staff)})")
    result: dict[str, Any] = {"preset": preset}
    if raw.get("transitions") is not None:
        result["transitions"] = [list(p) for p in _pairs(raw["transitions"], "transitions")]
    if raw.get("message_required") is not None:
        required = raw["message_required"]
        if not isinstance(required, list) or any(s not in STAFF_TARGETS for s in required):
            raise WorkflowError(f"message_required may only name {', '.join(STAFF_TARGETS)}")
        result["message_required"] = [s for s in STAFF_TARGETS if s in required]
    labels = raw.get("labels") or {}
    if not isinstance(labels, Mapping):
        raise WorkflowError("labels is a table of statuses")
    clean: dict[str, dict[str, str]] = {}
    for status, texts in labels.items():
        if status not in STATUSES:
            raise WorkflowError(f"labels: unknown status {status!r}")
        if not isinstance(texts, Mapping):
            raise WorkflowError(f"labels.{status}: a table of languages is expected")
        for lang, text in texts.items():
            if lang not in i18n.SUPPORTED_LANGUAGES:
                raise WorkflowError(f"labels.{status}: unknown language {lang!r}")
            if not isinstance(text, str):
                raise WorkflowError(f"labels.{status}.{lang}: a text is expected")
            text = " ".join(text.split())
            if len(text) > MAX_LABEL:
                raise WorkflowError(f"labels.{status}.{lang}: at most {MAX_LABEL} characters")
            if text:
                clean.setdefault(status, {})[lang] = text
    if clean:
        result["labels"] = {s: clean[s] for s in STATUSES if s in clean}
    return result


def normalized(raw: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """Check a workflow (as stored on a service or written in a template); raises WorkflowError."""
    return _normalized(raw)


@functools.lru_cache(maxsize=512)
def _build(spelled: str) -> Workflow:
    raw = json.loads(spelled)
    known = presets()
    spec = _normalized(raw) or {"preset": known.default}
    staff = tuple(tuple(p) for p in spec["transitions"]) if "transitions" in spec else known.staff[spec["preset"]]
    return Workflow(
        preset=spec["preset"],
        staff=staff,  # type: ignore[arg-type]
        citizen=known.citizen,
        message_required=tuple(spec.get("message_required", known.message_required)),
        labels=spec.get("labels", {}),
    )


def of(raw: Mapping[str, Any] | None) -> Workflow:
    """The workflow of a service's ``workflow`` column (None: the default). A stored workflow that no longer
    fits (say, a preset that was removed) falls back to the default rather than lock its cases."""
    try:
        return _build(json.dumps(raw, sort_keys=True))
    except (WorkflowError, TypeError, ValueError):
        return _build("null")


def _flow(flow: Workflow | None) -> Workflow:
    return flow if flow is not None else of(None)


def can_transition(from_status: str, to_status: str, actor: Actor, flow: Workflow | None = None) -> bool:
    return _flow(flow).can_transition(from_status, to_status, actor)


def next_statuses(from_status: str, actor: Actor, flow: Workflow | None = None) -> list[str]:
    return _flow(flow).next_statuses(from_status, actor)


def label(status: str, flow: Workflow | None = None) -> str:
    """The status in plain words, as the citizen reads it (the service's own wording where it has one)."""
    return _flow(flow).label(status)


def shared_label(status: str, language: str) -> str:
    """The shared catalogue's wording of a status in ``language`` (what an empty service label falls back to)."""
    return i18n.catalogue_text(_LABELS.get(status, status), language)


def staff_label(status: str) -> str:
    """The status as clerks read it: the same words for every service (a service words statuses for citizens)."""
    return _(_STAFF_LABELS.get(status, status))


def explanation(status: str) -> str:
    return _(_EXPLANATIONS.get(status, ""))
