"""Form definitions as data: the fields a service asks for, validated with msgspec."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

import msgspec

FieldType = Literal[
    "text",
    "textarea",
    "number",
    "date",
    "email",
    "phone",
    "choice",
    "multichoice",
    "consent",
    "file",
    "location",
]
FIELD_TYPES: tuple[str, ...] = FieldType.__args__  # type: ignore[attr-defined]

I18n = dict[str, str]
Name = Annotated[str, msgspec.Meta(pattern=r"^[a-z][a-z0-9_]{0,39}$")]


class Option(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    value: Annotated[str, msgspec.Meta(min_length=1, max_length=80)]
    label: I18n


class Condition(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Show a field only when an earlier choice, multiple choice or consent field has one of these values.

    A consent field counts as "yes" when ticked and "no" when not.
    """

    field: Name
    equals: (
        Annotated[str, msgspec.Meta(min_length=1, max_length=80)]
        | list[Annotated[str, msgspec.Meta(min_length=1, max_length=80)]]
    )

    @property
    def values(self) -> list[str]:
        return [self.equals] if isinstance(self.equals, str) else list(self.equals)


CONDITION_SOURCES = ("choice", "multichoice", "consent")
CONSENT_VALUES = ("yes", "no")


class Field(msgspec.Struct, frozen=True, forbid_unknown_fields=True, omit_defaults=True):
    name: Name
    type: FieldType
    label: I18n
    help: I18n = {}
    required: bool = False
    min_length: Annotated[int, msgspec.Meta(ge=0)] | None = None
    max_length: Annotated[int, msgspec.Meta(ge=1, le=10000)] | None = None
    min: float | None = None
    max: float | None = None
    # A number field that takes whole numbers only (a count, an age): phones then offer the digit keypad.
    integer: bool = False
    pattern: str | None = None
    options: list[Option] = []
    max_files: Annotated[int, msgspec.Meta(ge=1, le=20)] = 5
    # "image": photos (the phone camera is offered); "document": also PDF.
    accept: Literal["image", "document"] = "image"
    # An e-mail field marked as contact: the case's contact address for notifications.
    contact: bool = False
    # Asked only when the condition holds; otherwise not required, and an answer to it is dropped.
    show_if: Condition | None = None


class FormDefinition(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    fields: list[Field]

    def field(self, name: str) -> Field | None:
        return next((f for f in self.fields if f.name == name), None)


class FormDefinitionError(ValueError):
    pass


DEFAULT_MAX_LENGTH = {"text": 200, "textarea": 4000, "email": 254, "phone": 40}


def parse_definition(raw: Any) -> FormDefinition:
    """Validate a stored or uploaded form definition; raise FormDefinitionError with a readable reason."""
    try:
        definition = msgspec.convert(raw, FormDefinition)
    except msgspec.ValidationError as exc:
        raise FormDefinitionError(str(exc)) from exc
    names = [f.name for f in definition.fields]
    if len(names) != len(set(names)):
        raise FormDefinitionError("field names must be unique")
    for f in definition.fields:
        if not f.label:
            raise FormDefinitionError(f"field {f.name!r} needs a label")
        if f.type in ("choice", "multichoice") and not f.options:
            raise FormDefinitionError(f"field {f.name!r} of type {f.type} needs options")
        if f.type not in ("choice", "multichoice") and f.options:
            raise FormDefinitionError(f"field {f.name!r} of type {f.type} takes no options")
        if f.pattern is not None:
            try:
                re.compile(f.pattern)
            except re.error as exc:
                raise FormDefinitionError(f"field {f.name!r}: invalid pattern: {exc}") from exc
        if f.min is not None and f.max is not None and f.min > f.max:
            raise FormDefinitionError(f"field {f.name!r}: min is larger than max")
        if f.integer and f.type != "number":
            raise FormDefinitionError(f"field {f.name!r}: only a number field can be an integer")
        if f.contact and f.type != "email":
            raise FormDefinitionError(f"field {f.name!r}: only an e-mail field can be the contact")
        if f.show_if is not None:
            _check_condition(definition, f)
    if sum(1 for f in definition.fields if f.type == "location") > 1:
        raise FormDefinitionError("a form has at most one location field")
    return definition


def _check_condition(definition: FormDefinition, f: Field) -> None:
    assert f.show_if is not None
    earlier = definition.fields[: definition.fields.index(f)]
    source = next((e for e in earlier if e.name == f.show_if.field), None)
    if source is None:
        raise FormDefinitionError(f"field {f.name!r}: its condition must name an earlier field")
    if source.type not in CONDITION_SOURCES:
        raise FormDefinitionError(
            f"field {f.name!r}: its condition must name a choice, multiple choice or consent field"
        )
    allowed = CONSENT_VALUES if source.type == "consent" else tuple(o.value for o in source.options)
    values = f.show_if.values
    if not values or any(v not in allowed for v in values):
        raise FormDefinitionError(f"field {f.name!r}: its condition must use values of {source.name!r}")


def definition_to_builtins(definition: FormDefinition) -> dict[str, Any]:
    return msgspec.to_builtins(definition)  # type: ignore[no-any-return]
