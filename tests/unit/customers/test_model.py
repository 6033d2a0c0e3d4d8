"""The pure model: cleaning against the catalog, diffs, names, origins."""

from __future__ import annotations

import pytest

from alix.customers.domain import (
    Origin,
    clean,
    created,
    diff,
    normalize_name,
    prefixed,
    removed,
)
from alix.customers.fields import Entity


def test_a_full_clean_trims_defaults_and_normalizes() -> None:
    values, errors = clean(Entity.CUSTOMER, {"name": "  Acme  ", "currency": "cad",
                                             "website": "", "notes": None},
                           currencies=["CAD", "USD"])
    assert errors == {}
    assert values == {"name": "Acme", "currency": "CAD", "website": None, "phone": None,
                      "email": None, "notes": None, "is_active": True}


@pytest.mark.parametrize(
    ("entity", "raw", "field", "message"),
    [
        (Entity.CUSTOMER, {"name": " "}, "name", "Customer name is required."),
        (Entity.CUSTOMER, {"name": "x" * 201}, "name", "at most 200 characters (201 given)"),
        (Entity.CUSTOMER, {"currency": "JPY"}, "currency", "(CAD, USD)"),
        (Entity.CUSTOMER, {"email": "a@b"}, "email", "not a valid email address"),
        (Entity.CUSTOMER, {"email": "a b@c.com"}, "email", "not a valid email address"),
        (Entity.CUSTOMER, {"phone": "call me"}, "phone", "not a phone number"),
        (Entity.CUSTOMER, {"phone": "+1"}, "phone", "not a phone number"),
        (Entity.CUSTOMER, {"phone": "(1) 2"}, "phone", "not a phone number"),  # two digits
        (Entity.CUSTOMER, {"phone": "1 ext 2"}, "phone", "not a phone number"),
        (Entity.CUSTOMER, {"website": "not a site"}, "website", "not a web address"),
        (Entity.CUSTOMER, {"is_active": "maybe"}, "is_active", "true or false"),
        (Entity.CUSTOMER, {"name": 42}, "name", "must be text"),
        (Entity.CUSTOMER, {"vat": "1"}, "vat", "has no field “vat”"),
        (Entity.CONTACT, {"first_name": "Ada"}, "last_name", "Last name is required."),
        (Entity.ADDRESS, {"kind": "home"}, "kind", "billing, shipping"),
    ],
)
def test_bad_values_get_a_message_on_their_field(
    entity: Entity, raw: dict[str, object], field: str, message: str
) -> None:
    _values, errors = clean(entity, raw, partial=field not in ("last_name",),
                            currencies=["CAD", "USD"])
    assert field in errors
    assert message in errors[field][0]


@pytest.mark.parametrize("phone", ["+1 (514) 555-0100", "514.555.0100 ext. 12", "0049/30 1234",
                                   "1-2-3", "12 ext 3"])
def test_phones_people_write_are_accepted(phone: str) -> None:
    assert clean(Entity.CONTACT, {"phone": phone}, partial=True)[1] == {}


@pytest.mark.parametrize("site", ["example.com", "https://www.example.com/about?x=1",
                                  "http://localhost.localdomain:8080"])
def test_websites_with_or_without_scheme_are_accepted(site: str) -> None:
    assert clean(Entity.CUSTOMER, {"website": site}, partial=True)[1] == {}


def test_a_partial_clean_keeps_only_the_given_fields() -> None:
    values, errors = clean(Entity.ADDRESS, {"kind": "Shipping", "is_main": "on"}, partial=True)
    assert (values, errors) == ({"kind": "shipping", "is_main": True}, {})


def test_diffs_of_creation_update_and_deletion() -> None:
    old = {"name": "A", "email": None, "is_active": True}
    assert diff(old, {"name": "B", "email": None, "is_active": True}) == {"name": ("A", "B")}
    assert created(old) == {"name": (None, "A"), "is_active": (None, True)}
    assert removed(old) == {"name": ("A", None), "is_active": (True, None)}
    assert prefixed("contacts.0", {"email": ["bad"]}) == {"contacts.0.email": ["bad"]}


def test_names_normalize_for_lookups() -> None:
    assert normalize_name("  ACME   Québec\tInc ") == "acme québec inc"
    assert normalize_name("\uff26\uff55\uff4c\uff4c width") == normalize_name("full WIDTH")


def test_only_integrations_are_echo_sources() -> None:
    assert [o for o in Origin if o.is_integration] == [Origin.ZOHO_CRM]
