"""Validation of a citizen's answers against a form definition, field by field, with messages in their language."""

from __future__ import annotations

import datetime
import math
import re
from dataclasses import dataclass, field
from typing import Any

from backend.catalogue.schemas import DEFAULT_MAX_LENGTH, Field, FormDefinition
from backend.core.i18n import fmt_number, translate_text
from backend.core.i18n import gettext as _
from backend.core.text import clean_text, email_address

PHONE_RE = re.compile(r"^\+?[0-9 ()/.\-]{5,40}$")
LOCATION_PARTS = ("lat", "lon", "address", "description")


@dataclass
class FormResult:
    """What validation gives back: clean answers, errors per field, and the raw values to show again."""

    answers: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    values: dict[str, Any] = field(default_factory=dict)
    # Fields whose condition does not hold: not asked, their input dropped.
    hidden: set[str] = field(default_factory=set)

    @property
    def ok(self) -> bool:
        return not self.errors


def raw_values(definition: FormDefinition, form: Any) -> dict[str, Any]:
    """Pick each field's raw input out of a submitted form (a multi-dict), ready to fill the form again."""
    values: dict[str, Any] = {}
    for f in definition.fields:
        if f.type == "multichoice":
            values[f.name] = [clean_text(v) for v in form.getall(f.name, []) if isinstance(v, str)]
        elif f.type == "location":
            values[f.name] = {part: _str(form.get(f"{f.name}__{part}")) for part in LOCATION_PARTS}
        elif f.type == "file":
            continue
        else:
            values[f.name] = _str(form.get(f.name))
    return values


def _str(value: Any) -> str:
    """Every answer passes the one text cleaning (no NUL or other control characters, NFC)."""
    return clean_text(value) if isinstance(value, str) else ""


def condition_holds(f: Field, answers: dict[str, Any], hidden: set[str]) -> bool:
    """The one evaluator of conditional fields: does ``f`` show, given the (clean) answers of earlier fields?

    A field whose source field is itself hidden is hidden too. The browser (conditions.js) follows the same rule.
    """
    condition = f.show_if
    if condition is None:
        return True
    if condition.field in hidden:
        return False
    answer = answers.get(condition.field)
    if isinstance(answer, bool):
        answer = "yes" if answer else "no"
    elif answer is None:
        answer = ""
    chosen = set(answer) if isinstance(answer, list) else {answer}
    return bool(chosen & set(condition.values))


def hidden_fields(definition: FormDefinition, answers: dict[str, Any]) -> set[str]:
    """The fields of a form not shown for these answers (for pages showing stored answers)."""
    hidden: set[str] = set()
    for f in definition.fields:
        if not condition_holds(f, answers, hidden):
            hidden.add(f.name)
    return hidden


def validate(definition: FormDefinition, values: dict[str, Any], files: dict[str, list[str]]) -> FormResult:
    """Check every field; ``files`` maps file fields to the ids of the attachments the citizen kept.

    A field whose condition does not hold is skipped: not required, and what was sent for it is dropped from
    both the answers and the values kept for the next step.
    """
    result = FormResult(values=dict(values))
    for f in definition.fields:
        if not condition_holds(f, result.answers, result.hidden):
            result.hidden.add(f.name)
            result.values.pop(f.name, None)
            continue
        if f.type == "file":
            ids = files.get(f.name, [])
            if f.required and not ids:
                result.errors[f.name] = _("Please add at least one file.")
            elif len(ids) > f.max_files:
                result.errors[f.name] = _("Please add at most %(n)s files.", n=f.max_files)
            else:
                result.answers[f.name] = ids
            continue
        value, error = _check(f, values.get(f.name))
        if error:
            result.errors[f.name] = error
        elif value is not None:
            result.answers[f.name] = value
    return result


def _check(f: Field, raw: Any) -> tuple[Any, str | None]:
    if f.type == "location":
        return _check_location(f, raw or {})
    if f.type == "multichoice":
        chosen = raw or []
        allowed = {o.value for o in f.options}
        if any(v not in allowed for v in chosen):
            return None, _("Please choose from the options shown.")
        if f.required and not chosen:
            return None, _("Please choose at least one option.")
        return (chosen or None), None
    if f.type == "consent":
        if raw in ("on", "yes", "true", "1"):
            return True, None
        return (None, _("Please confirm this to continue.")) if f.required else (False, None)
    text = raw or ""
    if not text:
        return None, (_("Please fill in this field.") if f.required else None)
    if f.type in ("text", "textarea", "email", "phone"):
        return _check_text(f, text)
    if f.type == "number":
        return _check_number(f, text)
    if f.type == "date":
        return _check_date(f, text)
    if f.type == "choice":
        if text not in {o.value for o in f.options}:
            return None, _("Please choose from the options shown.")
        return text, None
    return None, _("This field cannot be answered.")  # pragma: no cover - definitions are validated


def _check_text(f: Field, text: str) -> tuple[Any, str | None]:
    max_length = f.max_length or DEFAULT_MAX_LENGTH.get(f.type, 4000)
    if len(text) > max_length:
        return None, _("Please use at most %(n)s characters (you entered %(m)s).", n=max_length, m=len(text))
    if f.min_length and len(text) < f.min_length:
        return None, _("Please enter at least %(n)s characters.", n=f.min_length)
    if f.type == "email":
        try:
            text = email_address(text)
        except ValueError:
            return None, _("Please enter an e-mail address like name@example.org.")
    if f.type == "phone" and not PHONE_RE.match(text):
        return None, _("Please enter a phone number using digits, spaces and an optional leading +.")
    if f.pattern and not re.fullmatch(f.pattern, text):
        hint = translate_text(f.help)
        return None, (_("Please check the format: %(hint)s", hint=hint) if hint else _("Please check the format."))
    return text, None


def _check_number(f: Field, text: str) -> tuple[Any, str | None]:
    try:
        number = float(text.replace(",", ".").replace(" ", ""))
    except ValueError:
        return None, _("Please enter a number.")
    if not math.isfinite(number):
        return None, _("Please enter a number.")
    if f.integer and not number.is_integer():
        return None, _("Please enter a whole number.")
    if f.min is not None and number < f.min:
        return None, _("Please enter a number of at least %(n)s.", n=fmt_number(f.min))
    if f.max is not None and number > f.max:
        return None, _("Please enter a number of at most %(n)s.", n=fmt_number(f.max))
    return (int(number) if number.is_integer() else number), None


def _check_date(f: Field, text: str) -> tuple[Any, str | None]:
    try:
        day: datetime.date | None = datetime.date.fromisoformat(text)
    except ValueError:
        day = _parse_german_date(text)
    if day is None:
        return None, _("Please enter a date like 2026-12-24.")
    if f.min is not None or f.max is not None:
        # Limits on dates count days from today: min 1 means "tomorrow at the earliest".
        offset = (day - datetime.date.today()).days
        if f.min is not None and offset < f.min:
            return None, _("Please choose a later date.")
        if f.max is not None and offset > f.max:
            return None, _("Please choose an earlier date.")
    return day.isoformat(), None


def _parse_german_date(text: str) -> datetime.date | None:
    m = re.fullmatch(r"(\d{1,2})\.(\d{1,2})\.(\d{4})", text)
    if not m:
        return None
    try:
        return datetime.date(int(m.group(3)), int(m.group(2)), int(m.group(1)))
    except ValueError:
        return None


def _check_location(f: Field, raw: dict[str, str]) -> tuple[Any, str | None]:
    lat_s, lon_s = raw.get("lat", ""), raw.get("lon", "")
    address, description = raw.get("address", ""), raw.get("description", "")
    location: dict[str, Any] = {}
    if lat_s or lon_s:
        try:
            lat, lon = float(lat_s), float(lon_s)
        except ValueError:
            return None, _("The position could not be read. Please enter an address or describe the place.")
        if not (-90 <= lat <= 90 and -180 <= lon <= 180):
            return None, _("The position could not be read. Please enter an address or describe the place.")
        location.update(lat=round(lat, 6), lon=round(lon, 6))
    if len(address) > 300 or len(description) > 1000:
        return None, _("Please shorten the address or the description.")
    if address:
        location["address"] = address
    if description:
        location["description"] = description
    if not location:
        return None, (
            _("Please tell us where: use your position, enter an address or describe the place.")
            if f.required
            else None
        )
    return location, None
