"""The field catalog: every field of the customer master that can be edited or mapped (pure)."""

from __future__ import annotations

import enum
from dataclasses import dataclass


class Entity(enum.StrEnum):
    """The three kinds of record of the customer master."""

    CUSTOMER = "customer"
    CONTACT = "contact"
    ADDRESS = "address"


class FieldType(enum.StrEnum):
    """What a field holds; decides its validation, its form input and its API type."""

    TEXT = "text"
    LONG_TEXT = "long_text"
    EMAIL = "email"
    PHONE = "phone"
    URL = "url"
    PICKLIST = "picklist"
    BOOLEAN = "boolean"
    CURRENCY = "currency"
    COUNTRY = "country"
    SUBDIVISION = "subdivision"


@dataclass(frozen=True, slots=True)
class Field:
    """One field: its name in ALIX, its label for people, its type and its limits."""

    entity: Entity
    name: str
    label: str
    type: FieldType
    max_length: int | None = None
    required: bool = False
    choices: tuple[tuple[str, str], ...] = ()
    help: str = ""
    default: str | bool | None = None

    @property
    def is_boolean(self) -> bool:
        """A tick box: never empty, defaults instead of being required."""
        return self.type is FieldType.BOOLEAN

    @property
    def choice_values(self) -> tuple[str, ...]:
        """The stored values of a picklist, in order."""
        return tuple(value for value, _label in self.choices)


ADDRESS_KINDS: tuple[tuple[str, str], ...] = (("billing", "Billing"), ("shipping", "Shipping"))

_C, _P, _A = Entity.CUSTOMER, Entity.CONTACT, Entity.ADDRESS
T = FieldType

CUSTOMER_FIELDS: tuple[Field, ...] = (
    Field(_C, "name", "Customer name", T.TEXT, 200, required=True),
    Field(_C, "currency", "Currency", T.CURRENCY, 3, required=True,
          help="One of your organisation's currencies (ISO 4217)."),
    Field(_C, "website", "Website", T.URL, 255),
    Field(_C, "phone", "Phone", T.PHONE, 50),
    Field(_C, "email", "Email", T.EMAIL, 254),
    Field(_C, "notes", "Notes", T.LONG_TEXT, 2000),
    Field(_C, "is_active", "Active", T.BOOLEAN, default=True),
)

CONTACT_FIELDS: tuple[Field, ...] = (
    Field(_P, "first_name", "First name", T.TEXT, 100),
    Field(_P, "last_name", "Last name", T.TEXT, 100, required=True),
    Field(_P, "email", "Email", T.EMAIL, 254),
    Field(_P, "phone", "Phone", T.PHONE, 50),
    Field(_P, "mobile", "Mobile", T.PHONE, 50),
    Field(_P, "title", "Title", T.TEXT, 100),
    Field(_P, "is_primary", "Primary contact", T.BOOLEAN, default=False),
)

ADDRESS_FIELDS: tuple[Field, ...] = (
    Field(_A, "kind", "Type", T.PICKLIST, 10, required=True, choices=ADDRESS_KINDS),
    Field(_A, "is_main", "Main address", T.BOOLEAN, default=False,
          help="At most one main address of each type per customer."),
    Field(_A, "label", "Label", T.TEXT, 100),
    Field(_A, "street", "Street", T.LONG_TEXT, 250),
    Field(_A, "city", "City", T.TEXT, 100),
    Field(_A, "province", "Province / state", T.SUBDIVISION, 100,
          help="Stored as an ISO 3166-2 code when it is known, as typed otherwise."),
    Field(_A, "postal_code", "Postal code", T.TEXT, 30),
    Field(_A, "country", "Country", T.COUNTRY, 100,
          help="Stored as an ISO 3166-1 code when it is known, as typed otherwise."),
)

CATALOG: dict[Entity, tuple[Field, ...]] = {
    Entity.CUSTOMER: CUSTOMER_FIELDS,
    Entity.CONTACT: CONTACT_FIELDS,
    Entity.ADDRESS: ADDRESS_FIELDS,
}


def fields_of(entity: Entity) -> tuple[Field, ...]:
    """The fields of entity, in the order forms and tables show them."""
    return CATALOG[entity]


def field_named(entity: Entity, name: str) -> Field:
    """The field called name of entity; KeyError names both when there is none."""
    for candidate in CATALOG[entity]:
        if candidate.name == name:
            return candidate
    raise KeyError(f"The {entity.value} has no field {name!r}.")


_NAMES: dict[Entity, tuple[str, ...]] = {
    entity: tuple(f.name for f in fields) for entity, fields in CATALOG.items()
}


def names_of(entity: Entity) -> tuple[str, ...]:
    """The names of entity's fields, in catalog order (computed once: every diff reads them)."""
    return _NAMES[entity]
