"""Customers, contact persons and addresses as plain values, and the rules they obey (pure)."""

from __future__ import annotations

import enum
import re
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from alix.customers.fields import Entity, Field, FieldType, fields_of, names_of

Value = str | bool | int | None
Errors = dict[str, list[str]]


class Origin(enum.StrEnum):
    """Why a change happened: a person in the pages, an API client, or an integration."""

    USER = "user"
    API = "api"
    ZOHO_CRM = "zoho_crm"
    IMPORT = "import"
    SYSTEM = "system"

    @property
    def is_integration(self) -> bool:
        """Changes an integration made itself must never be pushed back to it."""
        return self is Origin.ZOHO_CRM


class Operation(enum.StrEnum):
    """What a change did to its record."""

    CREATE = "create"
    UPDATE = "update"
    DELETE = "delete"


@dataclass(frozen=True, slots=True)
class Actor:
    """Who acts, for which organisation and why; every command of the service takes one."""

    organisation_id: int
    user_id: int
    origin: Origin


@dataclass(frozen=True, slots=True)
class Customer:
    """A customer of the organisation as stored, at one version."""

    id: int
    organisation_id: int
    name: str
    currency: str
    website: str | None
    phone: str | None
    email: str | None
    notes: str | None
    is_active: bool
    version: int
    created_at: datetime
    updated_at: datetime

    def values(self) -> dict[str, Value]:
        """The catalog fields and their values: what diffs and the outbox compare."""
        return {name: getattr(self, name) for name in names_of(Entity.CUSTOMER)}


@dataclass(frozen=True, slots=True)
class ContactPerson:
    """A contact person of exactly one customer, as stored."""

    id: int
    organisation_id: int
    customer_id: int
    first_name: str | None
    last_name: str
    email: str | None
    phone: str | None
    mobile: str | None
    title: str | None
    is_primary: bool
    version: int
    created_at: datetime
    updated_at: datetime

    @property
    def full_name(self) -> str:
        """First and last name, as people read them."""
        return " ".join(p for p in (self.first_name, self.last_name) if p)

    def values(self) -> dict[str, Value]:
        """The catalog fields and their values."""
        return {name: getattr(self, name) for name in names_of(Entity.CONTACT)}


@dataclass(frozen=True, slots=True)
class Address:
    """A billing or shipping address of one customer, as stored (ISO codes where known)."""

    id: int
    organisation_id: int
    customer_id: int
    kind: str
    is_main: bool
    label: str | None
    street: str | None
    city: str | None
    province: str | None
    postal_code: str | None
    country: str | None
    version: int
    created_at: datetime
    updated_at: datetime

    def values(self) -> dict[str, Value]:
        """The catalog fields and their values."""
        return {name: getattr(self, name) for name in names_of(Entity.ADDRESS)}


@dataclass(frozen=True, slots=True)
class Change:
    """One captured change: what the outbox records for the sync (old and new per field)."""

    entity: Entity
    entity_id: int
    customer_id: int
    operation: Operation
    version: int
    fields: dict[str, tuple[Value, Value]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class NewCustomer:
    """A customer to create, with its contact persons and addresses (raw, uncleaned values)."""

    values: Mapping[str, object]
    contacts: Sequence[Mapping[str, object]] = ()
    addresses: Sequence[Mapping[str, object]] = ()


def normalize_name(name: str) -> str:
    """The key customers are looked up and linked by: NFKC, case-folded, single-spaced."""
    return " ".join(unicodedata.normalize("NFKC", name).casefold().split())


# Deliberately permissive: one @, no spaces, a dot in the domain. Deliverability is not ours.
_EMAIL = re.compile(r"^[^@\s]+@[^@\s.]+(\.[^@\s.]+)+$")
# At least three digits (the lookahead), then digits and separators, an extension optional.
_PHONE = re.compile(r"^(?=(?:[^0-9]*[0-9]){3})\+?[0-9 ().\-/]+(\s*(ext\.?|x)\s*[0-9]+)?$",
                    re.IGNORECASE)
_URL = re.compile(r"^(https?://)?[^\s/:]+\.[^\s/:]+(:\d+)?(/\S*)?$", re.IGNORECASE)
_TRUE = frozenset({"true", "on", "1", "yes"})
_FALSE = frozenset({"false", "off", "0", "no", ""})


def _email(f: Field, value: str, currencies: Sequence[str]) -> tuple[Value, str | None]:
    if not _EMAIL.match(value):
        return value, f"“{value}” is not a valid email address."
    return value, None


def _phone(f: Field, value: str, currencies: Sequence[str]) -> tuple[Value, str | None]:
    if not _PHONE.match(value):
        return value, f"“{value}” is not a phone number: use digits, spaces and + ( ) - ."
    return value, None


def _url(f: Field, value: str, currencies: Sequence[str]) -> tuple[Value, str | None]:
    if not _URL.match(value):
        return value, f"“{value}” is not a web address, e.g. https://example.com."
    return value, None


def _picklist(f: Field, value: str, currencies: Sequence[str]) -> tuple[Value, str | None]:
    lowered = value.lower()
    if lowered not in f.choice_values:
        return value, f"{f.label} must be one of: {', '.join(f.choice_values)}."
    return lowered, None


def _currency(f: Field, value: str, currencies: Sequence[str]) -> tuple[Value, str | None]:
    code = value.upper()
    if currencies and code not in currencies:
        return value, (
            f"{code} is not one of your organisation's currencies "
            f"({', '.join(currencies)})."
        )
    if len(code) != 3 or not code.isalpha():
        return value, f"“{value}” is not an ISO 4217 currency code such as CAD."
    return code, None


_Check = Callable[[Field, str, Sequence[str]], tuple[Value, str | None]]

# The type-specific check of a text value; types absent here take any text within max_length.
_TEXT_CHECKS: dict[FieldType, _Check] = {
    FieldType.EMAIL: _email,
    FieldType.PHONE: _phone,
    FieldType.URL: _url,
    FieldType.PICKLIST: _picklist,
    FieldType.CURRENCY: _currency,
}


@dataclass(frozen=True, slots=True)
class _Rule:
    """A field with what its check needs, looked up once (clean runs for every synced row)."""

    field: Field
    name: str
    boolean: bool
    required: bool
    max_length: int | None
    check: _Check | None


_RULES: dict[Entity, tuple[_Rule, ...]] = {
    entity: tuple(
        _Rule(f, f.name, f.is_boolean, f.required, f.max_length, _TEXT_CHECKS.get(f.type))
        for f in fields_of(entity)
    )
    for entity in Entity
}
_KNOWN: dict[Entity, frozenset[str]] = {entity: frozenset(names_of(entity)) for entity in Entity}


def _check_text(f: Field, value: str, currencies: Sequence[str]) -> tuple[Value, str | None]:
    if f.max_length is not None and len(value) > f.max_length:
        return value, f"{f.label} can be at most {f.max_length} characters ({len(value)} given)."
    check = _TEXT_CHECKS.get(f.type)
    return (value, None) if check is None else check(f, value, currencies)


def _check_boolean(f: Field, raw: object) -> tuple[Value, str | None]:
    if isinstance(raw, bool):
        return raw, None
    if raw is None:
        return bool(f.default), None
    if isinstance(raw, str) and raw.strip().lower() in _TRUE | _FALSE:
        return raw.strip().lower() in _TRUE, None
    return None, f"{f.label} must be true or false."


def _check(f: Field, raw: object, currencies: Sequence[str]) -> tuple[Value, str | None]:
    if f.is_boolean:
        return _check_boolean(f, raw)
    if raw is None:
        value = ""
    elif isinstance(raw, str):
        value = raw.strip()
    else:
        return None, f"{f.label} must be text."
    if not value:
        return None, (f"{f.label} is required." if f.required else None)
    return _check_text(f, value, currencies)


def clean(
    entity: Entity,
    raw: Mapping[str, object],
    *,
    partial: bool = False,
    currencies: Sequence[str] = (),
) -> tuple[dict[str, Value], Errors]:
    """Trim and check raw values against the catalog: (clean values, errors by field).

    Strings are trimmed and empty ones become None. With partial=False every field of the
    catalog gets a value (missing ones their default); with partial=True only those given.
    Unknown field names are errors, never silently ignored.
    """
    errors: Errors = {}
    values: dict[str, Value] = {}
    known = _KNOWN[entity]
    if not known.issuperset(raw):
        for name in raw:
            if name not in known:
                errors.setdefault(name, []).append(f"The {entity.value} has no field “{name}”.")
    problem: str | None
    for rule in _RULES[entity]:
        name = rule.name
        if partial and name not in raw:
            continue
        given = raw.get(name)
        # The check of _check inlined, for speed: trimmed text within its length, then the
        # check of its type; booleans and non-text values take the general path.
        if rule.boolean or not isinstance(given, str):
            value, problem = _check(rule.field, given, currencies)
        else:
            text = given.strip()
            if not text:
                value = None
                problem = f"{rule.field.label} is required." if rule.required else None
            elif rule.max_length is not None and len(text) > rule.max_length:
                value, problem = _check_text(rule.field, text, currencies)
            elif rule.check is None:
                values[name] = text
                continue
            else:
                value, problem = rule.check(rule.field, text, currencies)
        if problem:
            errors.setdefault(name, []).append(problem)
        else:
            values[name] = value
    return values, errors


def diff(old: Mapping[str, Value], new: Mapping[str, Value]) -> dict[str, tuple[Value, Value]]:
    """The fields of new whose value differs from old, as (old, new) pairs."""
    return {name: (old.get(name), value) for name, value in new.items() if old.get(name) != value}


def created(values: Mapping[str, Value]) -> dict[str, tuple[Value, Value]]:
    """The change of a creation: every field that has a value, from None."""
    return {name: (None, value) for name, value in values.items() if value is not None}


def removed(values: Mapping[str, Value]) -> dict[str, tuple[Value, Value]]:
    """The change of a deletion: every field that had a value, to None."""
    return {name: (value, None) for name, value in values.items() if value is not None}


def prefixed(prefix: str, errors: Errors) -> Errors:
    """Errors of a nested record, named as the API and forms address them (contacts.0.email)."""
    return {f"{prefix}.{name}": messages for name, messages in errors.items()}
