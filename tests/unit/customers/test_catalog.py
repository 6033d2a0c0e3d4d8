"""The field catalog is the one source: tables, API schemas and forms all agree with it."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest
from sqlalchemy import String

from alix.customers import forms, geography, schemas
from alix.customers.fields import CATALOG, Entity, FieldType, field_named, fields_of, names_of
from alix.customers.repository import TABLES

PACKAGE = Path(__file__).resolve().parents[3] / "src" / "alix" / "customers"


def test_every_field_is_described_once() -> None:
    for entity, fields in CATALOG.items():
        assert len(set(names_of(entity))) == len(fields)
        for f in fields:
            assert f.entity is entity and f.label
            assert f.is_boolean or f.max_length, f"{entity}.{f.name} has no maximum length"
    assert field_named(Entity.CONTACT, "last_name").required
    with pytest.raises(KeyError, match="no field 'vat'"):
        field_named(Entity.CUSTOMER, "vat")


@pytest.mark.parametrize("entity", list(Entity))
def test_the_tables_hold_what_the_catalog_allows(entity: Entity) -> None:
    table = TABLES[entity]
    for f in fields_of(entity):
        column = table.c[f.name]
        assert column.nullable == (not f.required and not f.is_boolean), f.name
        if isinstance(column.type, String) and column.type.length:
            assert column.type.length >= (f.max_length or 0), f.name


@pytest.mark.parametrize(
    ("model", "entity"),
    [("CustomerIn", Entity.CUSTOMER), ("ContactPatch", Entity.CONTACT),
     ("AddressOut", Entity.ADDRESS)],
)
def test_the_api_schemas_follow_the_catalog(model: str, entity: Entity) -> None:
    properties = getattr(schemas, model).model_json_schema()["properties"]
    for f in fields_of(entity):
        assert properties[f.name]["x-alix-type"] == f.type.value
        assert properties[f.name].get("maxLength") == f.max_length


def test_forms_draw_and_read_every_catalog_field() -> None:
    drawn = forms.form_fields(Entity.ADDRESS, {"kind": "shipping", "is_main": 1},
                              {"city": ["Too long."]})
    assert [d.field.name for d in drawn] == list(names_of(Entity.ADDRESS))
    city = next(d for d in drawn if d.field.name == "city")
    assert city.autofocus and city.errors == ["Too long."]
    assert {d.input for d in drawn} >= {"select", "checkbox", "text", "textarea"}
    read = forms.read_form(Entity.ADDRESS, {"kind": "billing", "city": "Laval"})
    assert read["is_main"] is False and read["street"] == ""
    currency = forms.form_fields(Entity.CUSTOMER, {"currency": "GBP"}, currencies=["CAD"])[1]
    assert currency.field.type is FieldType.CURRENCY
    assert currency.options == (("GBP", "GBP"), ("CAD", "CAD"))


def test_places_become_codes_when_known_and_stay_as_typed_otherwise() -> None:
    assert geography.country_code("canada") == "CA"
    assert geography.country_code("DEU") == "DE"
    assert geography.country_code("Atlantis ") == "Atlantis"
    assert geography.province_code("Québec", "CA") == "CA-QC"
    assert geography.province_code("on", "CA") == "CA-ON"
    assert geography.province_code("Somewhere", "CA") == "Somewhere"
    assert geography.province_code("Bavaria", "Atlantis") == "Bavaria"
    assert geography.province_name("US-TX") == "Texas"
    assert geography.country_name("Atlantis") == "Atlantis"
    assert forms.for_editing({"country": "CA", "province": "CA-QC"}) == {
        "country": "Canada", "province": "Quebec"}


@pytest.mark.parametrize("module", ["fields.py", "domain.py"])
def test_the_pure_modules_import_only_the_standard_library(module: str) -> None:
    tree = ast.parse((PACKAGE / module).read_text())
    imported = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
    imported |= {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    outside = {m for m in imported
               if m.split(".")[0] not in sys.stdlib_module_names and m != "__future__"}
    assert outside <= {"alix.customers.fields"}
