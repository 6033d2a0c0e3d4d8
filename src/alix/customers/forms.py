"""HTML forms from the field catalog: which input each field gets, and reading a posted form."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from alix.customers import geography
from alix.customers.domain import Value
from alix.customers.fields import Entity, Field, FieldType, fields_of

_INPUTS = {
    FieldType.EMAIL: "email",
    FieldType.PHONE: "tel",
    FieldType.URL: "text",
    FieldType.LONG_TEXT: "textarea",
    FieldType.PICKLIST: "select",
    FieldType.CURRENCY: "select",
    FieldType.BOOLEAN: "checkbox",
}


@dataclass(frozen=True, slots=True)
class FormField:
    """One field as the template draws it, with the value typed and its error messages."""

    field: Field
    value: str | bool
    errors: list[str]
    input: str
    options: tuple[tuple[str, str], ...] = ()
    autofocus: bool = False

    @property
    def id(self) -> str:
        """The input's HTML id, which its label points at."""
        return f"f-{self.field.name}"


def form_fields(
    entity: Entity,
    values: Mapping[str, object],
    errors: Mapping[str, list[str]] | None = None,
    *,
    currencies: Sequence[str] = (),
) -> list[FormField]:
    """The entity's fields to draw; focus goes to the first field in error, else the first."""
    errors = errors or {}
    drawn: list[FormField] = []
    focus = next((f.name for f in fields_of(entity) if f.name in errors), None)
    for index, f in enumerate(fields_of(entity)):
        raw = values.get(f.name)
        value: str | bool = bool(raw) if f.is_boolean else ("" if raw is None else str(raw))
        options = f.choices
        if f.type is FieldType.CURRENCY:
            options = tuple((c, c) for c in currencies)
            if isinstance(value, str) and value and value not in currencies:
                options = ((value, value), *options)
        drawn.append(FormField(
            field=f,
            value=value,
            errors=list(errors.get(f.name, [])),
            input=_INPUTS.get(f.type, "text"),
            options=options,
            autofocus=(f.name == focus) if focus else index == 0,
        ))
    return drawn


def read_form(entity: Entity, form: Mapping[str, object]) -> dict[str, object]:
    """The catalog fields of a posted form; an unticked checkbox is sent as nothing: False."""
    raw: dict[str, object] = {}
    for f in fields_of(entity):
        if f.is_boolean:
            raw[f.name] = f.name in form
        else:
            value = form.get(f.name, "")
            raw[f.name] = value if isinstance(value, str) else ""
    return raw


def for_editing(values: Mapping[str, Value]) -> dict[str, Value]:
    """Stored values as people type them: country and province by name, not by code."""
    shown = dict(values)
    if "country" in shown:
        shown["country"] = geography.country_name(_str(shown["country"])) or None
    if "province" in shown:
        shown["province"] = geography.province_name(_str(shown["province"])) or None
    return shown


def _str(value: Value) -> str | None:
    return value if isinstance(value, str) else None

