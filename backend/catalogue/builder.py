"""The form builder: a municipality's admins edit a service, its texts and a working draft of its form, then publish.

The draft lives on the service (``draft_form``) as plain data and may be incomplete while being edited; every
change to a field is checked on its own, the whole form when it is published. Publishing adds a form version
(cases keep the one they were submitted on). Field names are machine names made once from the label and never
given to another field of the same service, so an answer stored under a name always means the same question.
"""

from __future__ import annotations

import re
import unicodedata
import uuid
from dataclasses import dataclass, field
from typing import Any

import msgspec
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.cases import workflow
from backend.catalogue.models import FormVersion, Service
from backend.catalogue.schemas import (
    CONDITION_SOURCES,
    CONSENT_VALUES,
    FIELD_TYPES,
    Field,
    FormDefinition,
    FormDefinitionError,
    parse_definition,
)
from backend.catalogue.services import CatalogueService
from backend.core.errors import NotFound
from backend.core.i18n import SUPPORTED_LANGUAGES
from backend.core.i18n import gettext as _
from backend.core.tenancy import TenantContext
from backend.core.text import clean_line, clean_text

LANGS = SUPPORTED_LANGUAGES
TEXTS = ("name", "summary", "description", "fees", "processing_time", "category")
MULTILINE_TEXTS = ("description", "fees", "processing_time")
SLUG_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,78}[a-z0-9])?$")
TEXT_TYPES = ("text", "textarea", "email", "phone")
LIMIT_TYPES = ("number", "date")
CHOICE_TYPES = ("choice", "multichoice")
# The settings form's workflow inputs besides the wording of each status (status_<status>_<language>).
WORKFLOW_VALUES = ("workflow_preset", "message_required")
# Empty option rows offered under a choice field's options, to add new ones without JavaScript.
NEW_OPTION_ROWS = 3


def type_label(kind: str) -> str:
    return {
        "text": _("Short text"),
        "textarea": _("Long text"),
        "number": _("Number"),
        "date": _("Date"),
        "email": _("E-mail address"),
        "phone": _("Phone number"),
        "choice": _("Single choice"),
        "multichoice": _("Multiple choice"),
        "consent": _("Confirmation (checkbox)"),
        "file": _("Photos or files"),
        "location": _("Place (address or position)"),
    }[kind]


@dataclass
class Outcome:
    """A change as the admin typed it: the values to show again and the problems, per input."""

    values: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.errors


def machine_name(label: str, taken: set[str]) -> str:
    """A field name made from the label: lower-case ASCII, unique among ``taken`` (names ever used)."""
    text = unicodedata.normalize("NFKD", label.replace("ß", "ss")).encode("ascii", "ignore").decode()
    base = re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")[:32].strip("_") or "field"
    if not base[0].isalpha():
        base = "f_" + base
    name, n = base, 2
    while name in taken:
        name, n = f"{base}_{n}", n + 1
    return name


def _texts(data: Any, prefix: str, *, multiline: bool = False, limit: int = 4000) -> dict[str, str]:
    out = {}
    for lang in LANGS:
        raw = data.get(f"{prefix}_{lang}")
        text = clean_text(raw, multiline=multiline) if isinstance(raw, str) else ""
        out[lang] = text[:limit]
    return out


def _int(raw: Any) -> int | None:
    text = str(raw or "").strip()
    return int(text) if re.fullmatch(r"-?\d{1,9}", text) else None


def _number(raw: Any) -> float | None:
    text = str(raw or "").strip().replace(",", ".")
    try:
        value = float(text)
    except ValueError:
        return None
    return value if value == value and abs(value) < 1e15 else None


class FormBuilder:
    def __init__(self, session: AsyncSession, tenant: TenantContext) -> None:
        self.session = session
        self.tenant = tenant
        self.catalogue = CatalogueService(session, tenant)

    # Services ---------------------------------------------------------------------------------------------

    async def services(self) -> list[Service]:
        return await self.catalogue.all_services()

    async def service(self, service_id: uuid.UUID) -> Service:
        service = await self.session.scalar(select(Service).where(Service.id == service_id))
        if service is None:
            raise NotFound()
        return service  # type: ignore[no-any-return]

    @staticmethod
    def settings_values(service: Service | None) -> dict[str, Any]:
        values: dict[str, Any] = {"slug": "", "processing_days": ""}
        for name in TEXTS:
            for lang in LANGS:
                values[f"{name}_{lang}"] = getattr(service, name).get(lang, "") if service else ""
        for lang in LANGS:
            docs = service.required_documents if service else []
            values[f"documents_{lang}"] = "\n".join(d.get(lang, "") for d in docs)
        if service:
            values.update(
                slug=service.slug,
                processing_days="" if service.processing_days is None else str(service.processing_days),
            )
        flow = workflow.of(service.workflow if service else None)
        values["workflow_preset"] = flow.preset
        values["message_required"] = list(flow.message_required)
        for status in workflow.STATUSES:
            for lang in LANGS:
                values[f"status_{status}_{lang}"] = flow.labels.get(status, {}).get(lang, "")
        return values

    @staticmethod
    def _workflow(service: Service | None, data: Any, out: Outcome) -> dict[str, Any] | None:
        """The workflow part of the settings form: preset, statuses that need a message, citizens' wording."""
        current = service.workflow if service is not None else None
        if data.get("workflow_preset") is None:
            # A form without the workflow part (an older page still open): the workflow stays as it is.
            stored = FormBuilder.settings_values(service)
            out.values.update({k: v for k, v in stored.items() if k in WORKFLOW_VALUES or k.startswith("status_")})
            return current
        preset = str(data.get("workflow_preset") or "")
        out.values["workflow_preset"] = preset
        if preset not in workflow.preset_names():
            out.errors["workflow_preset"] = _("Please choose how the cases of this service move.")
        chosen = [str(v) for v in data.getall("message_required", [])][:20] if hasattr(data, "getall") else []
        out.values["message_required"] = [s for s in chosen if s in workflow.STAFF_TARGETS]
        if any(s not in workflow.STAFF_TARGETS for s in chosen):
            out.errors["message_required"] = _("Please choose only among the statuses shown.")
        labels: dict[str, dict[str, str]] = {}
        for status in workflow.STATUSES:
            for lang in LANGS:
                name = f"status_{status}_{lang}"
                raw = data.get(name)
                text = clean_line(raw) if isinstance(raw, str) else ""
                out.values[name] = text[:200]
                if len(text) > workflow.MAX_LABEL:
                    out.errors[name] = _("Please use at most %(n)s characters.", n=workflow.MAX_LABEL)
                elif text:
                    labels.setdefault(status, {})[lang] = text
        if not out.ok:
            return None
        spec: dict[str, Any] = {"preset": preset}
        # Transitions of the service's own (set outside this form) stay as they are.
        if (current or {}).get("transitions") is not None:
            spec["transitions"] = current["transitions"]  # type: ignore[index]
        required = out.values["message_required"]
        if tuple(required) != workflow.presets().message_required:
            spec["message_required"] = required
        if labels:
            spec["labels"] = labels
        try:
            return workflow.normalized(spec)
        except workflow.WorkflowError:
            out.errors["workflow_preset"] = _("Please choose how the cases of this service move.")
            return None

    async def save_settings(self, service: Service | None, data: Any) -> tuple[Outcome, Service | None]:
        """Check the service's texts and settings; create the service (``service`` None) or change it."""
        out = Outcome()
        texts = {name: _texts(data, name, multiline=name in MULTILINE_TEXTS) for name in TEXTS}
        for name, per_lang in texts.items():
            for lang, text in per_lang.items():
                out.values[f"{name}_{lang}"] = text
        docs = {lang: _texts(data, "documents", multiline=True)[lang] for lang in LANGS}
        out.values.update({f"documents_{lang}": docs[lang] for lang in LANGS})
        for lang in LANGS:
            if not texts["name"][lang]:
                out.errors[f"name_{lang}"] = _("Please enter the name of the service.")
            elif len(texts["name"][lang]) > 200:
                out.errors[f"name_{lang}"] = _("Please use at most %(n)s characters.", n=200)
            if not texts["category"][lang]:
                out.errors[f"category_{lang}"] = _("Please enter a category, e.g. “Streets”.")
        days_raw = str(data.get("processing_days") or "").strip()
        out.values["processing_days"] = days_raw
        days = _int(days_raw)
        if days_raw and (days is None or not 1 <= days <= 365):
            out.errors["processing_days"] = _(
                "Please enter a whole number of working days from 1 to 365, or leave it empty."
            )
        if service is None:
            slug = clean_line(str(data.get("slug") or ""))[:80]
            out.values["slug"] = slug
            if not SLUG_RE.match(slug):
                out.errors["slug"] = _("Please use lower-case letters, digits and hyphens only, e.g. “bulky-waste”.")
            elif await self.session.scalar(select(Service.id).where(Service.slug == slug)) is not None:
                out.errors["slug"] = _("Another service of your municipality already has this address.")
        else:
            out.values["slug"] = service.slug
        flow = self._workflow(service, data, out)
        if not out.ok:
            return out, None
        lines = {lang: [line.strip() for line in docs[lang].splitlines() if line.strip()] for lang in LANGS}
        count = max(len(items) for items in lines.values())
        documents = [
            {
                lang: (
                    lines[lang][i] if i < len(lines[lang]) else lines[LANGS[0]][i] if i < len(lines[LANGS[0]]) else ""
                )
                for lang in LANGS
            }
            for i in range(count)
        ]
        # A text left empty in every language is stored empty, so pages leave its paragraph out.
        columns: dict[str, Any] = {name: {k: t for k, t in per_lang.items() if t} for name, per_lang in texts.items()}
        columns.update(required_documents=documents, processing_days=days, workflow=flow)
        if service is None:
            position = (await self.session.scalar(select(func.max(Service.position))) or 0) + 10
            service = Service(
                tenant_id=self.tenant.id,
                slug=out.values["slug"],
                position=position,
                active=False,
                draft_form={"fields": []},
                **columns,
            )
            self.session.add(service)
        else:
            for name, value in columns.items():
                setattr(service, name, value)
        await self.session.flush()
        return out, service

    # The draft form ---------------------------------------------------------------------------------------

    async def draft(self, service: Service) -> list[dict[str, Any]]:
        """The fields being edited: the draft, or (none yet) a copy of the current form version."""
        if service.draft_form is not None:
            return [dict(f) for f in service.draft_form.get("fields", [])]
        if service.current_form_id is None:
            return []
        form = await self.session.scalar(select(FormVersion).where(FormVersion.id == service.current_form_id))
        return [dict(f) for f in (form.definition.get("fields", []) if form else [])]

    def _store(self, service: Service, fields: list[dict[str, Any]]) -> None:
        service.draft_form = {"fields": fields}  # a new object, so the JSON column is seen as changed

    async def names_ever_used(self, service: Service) -> set[str]:
        names = {f["name"] for f in await self.draft(service)}
        for definition in await self.session.scalars(
            select(FormVersion.definition).where(FormVersion.service_id == service.id)
        ):
            names.update(f.get("name", "") for f in definition.get("fields", []))
        return names

    async def add_field(self, service: Service, data: Any) -> tuple[Outcome, str | None]:
        out = Outcome()
        kind = str(data.get("type") or "")
        label = _texts(data, "label", limit=300)
        out.values = {"type": kind, **{f"label_{lang}": label[lang] for lang in LANGS}}
        if kind not in FIELD_TYPES:
            out.errors["type"] = _("Please choose the kind of field.")
        for lang in LANGS:
            if not label[lang]:
                out.errors[f"label_{lang}"] = _("Please enter the question or label of the field.")
        fields = await self.draft(service)
        if kind == "location" and any(f.get("type") == "location" for f in fields):
            out.errors["type"] = _("A form can have only one place field.")
        if not out.ok:
            return out, None
        name = machine_name(label[LANGS[0]], await self.names_ever_used(service))
        new: dict[str, Any] = {"name": name, "type": kind, "label": label}
        if kind in CHOICE_TYPES:
            new["options"] = []
        fields.append(new)
        self._store(service, fields)
        return out, name

    @staticmethod
    def field_values(f: dict[str, Any]) -> dict[str, Any]:
        values: dict[str, Any] = {"required": bool(f.get("required"))}
        for part in ("label", "help"):
            for lang in LANGS:
                values[f"{part}_{lang}"] = (f.get(part) or {}).get(lang, "")
        for key in ("min_length", "max_length", "min", "max", "max_files"):
            number = f.get(key)
            values[key] = "" if number is None else (str(int(number)) if float(number).is_integer() else str(number))
        values.update(
            integer=bool(f.get("integer")),
            contact=bool(f.get("contact")),
            accept=f.get("accept", "image"),
            options=[
                {"value": o["value"], **{lang: o["label"].get(lang, "") for lang in LANGS}}
                for o in f.get("options", [])
            ]
            + [{"value": "", **dict.fromkeys(LANGS, "")} for _i in range(NEW_OPTION_ROWS)],
            show_if=[f"{f['show_if']['field']}={v}" for v in _condition_values(f.get("show_if"))],
        )
        return values

    @staticmethod
    def condition_choices(fields: list[dict[str, Any]], name: str) -> list[dict[str, str]]:
        """What a field may depend on: each value of each earlier choice, multiple choice and consent field."""
        choices: list[dict[str, str]] = []
        for f in fields:
            if f["name"] == name:
                break
            if f.get("type") not in CONDITION_SOURCES:
                continue
            question = f.get("label") or {}
            if f["type"] == "consent":
                for value, answer in (("yes", _("Yes")), ("no", _("No"))):
                    choices.append({"key": f"{f['name']}={value}", "question": question, "answer": answer})
            else:
                for o in f.get("options", []):
                    choices.append({"key": f"{f['name']}={o['value']}", "question": question, "answer": o["label"]})
        return choices

    async def save_field(self, service: Service, name: str, data: Any) -> Outcome:
        """Check one field's settings as typed; store them in the draft when they are all right."""
        fields = await self.draft(service)
        index = _index(fields, name)
        current = fields[index]
        kind = current["type"]
        out = Outcome()
        label = _texts(data, "label", limit=300)
        help_text = _texts(data, "help", multiline=True, limit=1000)
        v: dict[str, Any] = out.values
        v.update({f"label_{lang}": label[lang] for lang in LANGS})
        v.update({f"help_{lang}": help_text[lang] for lang in LANGS})
        v["required"] = data.get("required") == "yes"
        new: dict[str, Any] = {"name": name, "type": kind, "label": label}
        if any(help_text.values()):
            new["help"] = help_text
        if v["required"]:
            new["required"] = True
        for lang in LANGS:
            if not label[lang]:
                out.errors[f"label_{lang}"] = _("Please enter the question or label of the field.")

        def whole(key: str, low: int, high: int) -> int | None:
            raw = str(data.get(key) or "").strip()
            v[key] = raw
            number = _int(raw)
            if raw and (number is None or not low <= number <= high):
                out.errors[key] = _("Please enter a whole number from %(low)s to %(high)s.", low=low, high=high)
                return None
            return number

        if kind in TEXT_TYPES:
            low, high = whole("min_length", 0, 10000), whole("max_length", 1, 10000)
            if low is not None and high is not None and low > high and "min_length" not in out.errors:
                out.errors["min_length"] = _("The minimum must not be larger than the maximum.")
            new.update({k: n for k, n in (("min_length", low), ("max_length", high)) if n is not None})
        if kind == "number":
            v["integer"] = data.get("integer") == "yes"
            if v["integer"]:
                new["integer"] = True
        if kind in LIMIT_TYPES:
            limits: dict[str, float] = {}
            for key in ("min", "max"):
                raw = str(data.get(key) or "").strip()
                v[key] = raw
                if not raw:
                    continue
                number = _int(raw) if kind == "date" else _number(raw)
                if number is None:
                    out.errors[key] = (
                        _("Please enter a whole number of days (negative: in the past).")
                        if kind == "date"
                        else _("Please enter a number.")
                    )
                else:
                    limits[key] = number
            if "min" in limits and "max" in limits and limits["min"] > limits["max"]:
                out.errors["min"] = _("The minimum must not be larger than the maximum.")
            new.update(limits)
        if kind == "email":
            v["contact"] = data.get("contact") == "yes"
            if v["contact"]:
                new["contact"] = True
        if kind == "file":
            count = whole("max_files", 1, 20)
            if count is not None:
                new["max_files"] = count
            v["accept"] = "document" if data.get("accept") == "document" else "image"
            if v["accept"] == "document":
                new["accept"] = "document"
        if kind in CHOICE_TYPES:
            options, v["options"] = self._options(
                current, data, out, await self._option_values_ever_used(service, name)
            )
            new["options"] = options
        # The condition: pairs "field=value", all of one earlier field.
        pairs = [str(p) for p in data.getall("show_if", []) if isinstance(p, str)]
        v["show_if"] = pairs
        allowed = {c["key"] for c in self.condition_choices(fields, name)}
        if pairs:
            sources = {p.split("=", 1)[0] for p in pairs}
            if any(p not in allowed for p in pairs):
                out.errors["show_if"] = _("Please choose among the answers of earlier fields.")
            elif len(sources) > 1:
                out.errors["show_if"] = _("Please choose answers of one field only.")
            else:
                values = [p.split("=", 1)[1] for p in pairs]
                new["show_if"] = {"field": sources.pop(), "equals": values[0] if len(values) == 1 else values}
        if not out.ok:
            return out
        try:
            msgspec.convert(new, Field)
        except msgspec.ValidationError as exc:  # pragma: no cover - every input is checked above
            out.errors["label_" + LANGS[0]] = str(exc)
            return out
        fields[index] = new
        self._store(service, fields)
        return out

    async def _option_values_ever_used(self, service: Service, name: str) -> set[str]:
        used: set[str] = set()
        for definition in await self.session.scalars(
            select(FormVersion.definition).where(FormVersion.service_id == service.id)
        ):
            for f in definition.get("fields", []):
                if f.get("name") == name:
                    used.update(o.get("value", "") for o in f.get("options", []))
        return used

    @staticmethod
    def _options(
        current: dict[str, Any], data: Any, out: Outcome, ever_used: set[str]
    ) -> tuple[list[dict[str, Any]], list[dict[str, str]]]:
        """Option rows as typed: a row keeps its value (answers refer to it), a new row gets one from its label
        that no earlier option of this field had, so that old answers never change their meaning."""
        old_values = {o["value"] for o in current.get("options", [])}
        rows: list[dict[str, str]] = []
        options: list[dict[str, Any]] = []
        taken = old_values | ever_used
        for i in range(len(current.get("options", [])) + NEW_OPTION_ROWS):
            value = str(data.get(f"option_value_{i}") or "")
            labels = {lang: clean_line(str(data.get(f"option_{lang}_{i}") or ""))[:200] for lang in LANGS}
            rows.append({"value": value, **labels})
            if not any(labels.values()):
                continue  # an empty row: not added, or an old option removed
            if not all(labels.values()):
                out.errors["options"] = _("Please enter each option in every language.")
                continue
            if value not in old_values:
                value = machine_name(labels[LANGS[0]], taken)
                taken.add(value)
            options.append({"value": value, "label": labels})
        if not options and not out.errors.get("options"):
            out.errors["options"] = _("Please enter at least one option.")
        seen = [o["value"] for o in options]
        if len(seen) != len(set(seen)):
            out.errors["options"] = _("Each option may appear only once.")
        return options, rows

    async def move_field(self, service: Service, name: str, direction: str) -> None:
        fields = await self.draft(service)
        i = _index(fields, name)
        j = i - 1 if direction == "up" else i + 1
        if 0 <= j < len(fields):
            fields[i], fields[j] = fields[j], fields[i]
        self._store(service, fields)

    async def remove_field(self, service: Service, name: str) -> None:
        fields = await self.draft(service)
        del fields[_index(fields, name)]
        self._store(service, fields)

    async def discard_draft(self, service: Service) -> None:
        service.draft_form = None

    # Checking, previewing and publishing ------------------------------------------------------------------

    def problems(self, fields: list[dict[str, Any]]) -> dict[str, list[str]]:
        """What stands in the way of publishing, per field name ("" for the whole form), in plain words."""
        found: dict[str, list[str]] = {}

        def add(name: str, message: str) -> None:
            found.setdefault(name, []).append(message)

        not_before = _("It depends on a field that is not before it. Please change the condition or the order.")
        if not fields:
            add("", _("The form has no fields yet. Please add at least one."))
        seen: dict[str, dict[str, Any]] = {}
        for f in fields:
            name = f.get("name", "")
            if f.get("type") in CHOICE_TYPES and not f.get("options"):
                add(name, _("This field needs at least one option."))
            condition = f.get("show_if")
            if condition:
                source = seen.get(condition.get("field", ""))
                if source is None:
                    add(name, not_before)
                elif source.get("type") not in CONDITION_SOURCES:
                    add(name, _("It depends on a field that offers no choices. Please change the condition."))
                else:
                    allowed = (
                        CONSENT_VALUES
                        if source["type"] == "consent"
                        else [o["value"] for o in source.get("options", [])]
                    )
                    if any(v not in allowed for v in _condition_values(condition)):
                        add(name, _("It depends on an option that no longer exists. Please change the condition."))
            seen[name] = f
        if sum(1 for f in fields if f.get("type") == "location") > 1:
            add("", _("A form can have only one place field."))
        if not found:
            try:
                parse_definition({"fields": fields})
            except FormDefinitionError as exc:
                add("", _("The form cannot be published: %(reason)s", reason=str(exc)))
        return found

    @staticmethod
    def preview_definition(fields: list[dict[str, Any]]) -> FormDefinition:
        """The draft as a definition to render, leaving out fields not complete enough to show."""
        usable = []
        for f in fields:
            try:
                usable.append(msgspec.convert(f, Field))
            except msgspec.ValidationError:
                continue
        return FormDefinition(fields=usable)

    async def publish(self, service: Service) -> dict[str, list[str]]:
        """Publish the draft as a new form version (if changed) and offer the service to citizens."""
        if service.draft_form is not None:
            fields = await self.draft(service)
            found = self.problems(fields)
            if found:
                return found
            await self.catalogue.publish_form(service, parse_definition({"fields": fields}))
            service.draft_form = None
        elif service.current_form_id is None:
            return {"": [_("The form has no fields yet. Please add at least one.")]}
        service.active = True
        await self.session.flush()
        return {}

    async def unpublish(self, service: Service) -> None:
        service.active = False
        await self.session.flush()

    async def versions(self, service: Service) -> int:
        return int(
            await self.session.scalar(
                select(func.count()).select_from(FormVersion).where(FormVersion.service_id == service.id)
            )
            or 0
        )


def _condition_values(condition: dict[str, Any] | None) -> list[str]:
    if not condition:
        return []
    equals = condition.get("equals")
    return [equals] if isinstance(equals, str) else list(equals or [])


def _index(fields: list[dict[str, Any]], name: str) -> int:
    for i, f in enumerate(fields):
        if f.get("name") == name:
            return i
    raise NotFound()
