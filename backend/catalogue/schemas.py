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
    pattern: str | None = None
    options: list[Option] = []
    max_files: Annotated[int, msgspec.Meta(ge=1, le=20)] = 5
    # "image": photos (the phone camera is offered); "document": also PDF.
    accept: Literal["image", "document"] = "image"
    # An e-mail field marked as contact: the case's contact address for notifications.
    contact: bool = False


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
        if f.contact and f.type != "email":
            raise FormDefinitionError(f"field {f.name!r}: only an e-mail field can be the contact")
    if sum(1 for f in definition.fields if f.type == "location") > 1:
        raise FormDefinitionError("a form has at most one location field")
    return definition


def definition_to_builtins(definition: FormDefinition) -> dict[str, Any]:
    return msgspec.to_builtins(definition)  # type: ignore[no-any-return]
