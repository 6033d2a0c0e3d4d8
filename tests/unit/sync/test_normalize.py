"""normalize: what "equal" means between an ALIX value and a Zoho value."""

from __future__ import annotations

import random
from decimal import Decimal

import pytest

from alix.integrations.zoho_crm.sync.normalize import (
    CODES_AS_GIVEN,
    Kind,
    canonical,
    canonical_values,
    compile_canonical,
    key,
    kind_of,
)


@pytest.mark.parametrize(
    ("a", "b", "kind", "same"),
    [
        ("  Acme ", "Acme", Kind.TEXT, True),
        ("", None, Kind.TEXT, True),
        ("   ", None, Kind.TEXT, True),
        ("Acme", "acme", Kind.TEXT, False),
        ("Jo@Example.COM ", "jo@example.com", Kind.EMAIL, True),
        ("jo@example.com", "jo@example.org", Kind.EMAIL, False),
        ("1.50", Decimal("1.5"), Kind.NUMBER, True),
        (3, "3.0", Kind.NUMBER, True),
        (1.25, Decimal("1.25"), Kind.NUMBER, True),
        ("2", "3", Kind.NUMBER, False),
        ("", None, Kind.NUMBER, True),
        (True, "true", Kind.BOOLEAN, True),
        (None, False, Kind.BOOLEAN, True),  # an unset Zoho checkbox is false
        ("yes", True, Kind.BOOLEAN, True),
        (True, False, Kind.BOOLEAN, False),
        ({"name": "Acme", "id": "42"}, {"name": "Acme Inc.", "id": "42"}, Kind.LOOKUP, True),
        ({"name": "Acme", "id": "42"}, "42", Kind.LOOKUP, True),
        ({"name": "Acme", "id": "42"}, {"name": "Acme", "id": "43"}, Kind.LOOKUP, False),
        ("cad", "CAD", Kind.CURRENCY_CODE, True),
        ("ca", "CA", Kind.COUNTRY, True),
        ("Canada", "canada", Kind.COUNTRY, True),  # unresolved names compare without case
        ("Canada", "CA", Kind.COUNTRY, False),  # no resolver here: a name is not its code
        ("ca-qc", "CA-QC", Kind.SUBDIVISION, True),
    ],
)
def test_equal(a: object, b: object, kind: Kind, same: bool) -> None:
    def equal(x: object, y: object) -> bool:  # how merge and the plans compare raw values
        return key(canonical(x, kind), kind) == key(canonical(y, kind), kind)

    assert equal(a, b) is same
    assert equal(b, a) is same


class _Geo:
    def country(self, text: str) -> str | None:
        return {"canada": "CA", "ca": "CA", "france": "FR"}.get(text.lower())

    def subdivision(self, text: str, country: str | None) -> str | None:
        known = {("CA", "quebec"): "CA-QC", ("CA", "qc"): "CA-QC"}
        return known.get((country or "", text.lower()))


def test_places_compare_by_code_when_the_resolver_knows_them() -> None:
    kinds = {"country": Kind.COUNTRY, "province": Kind.SUBDIVISION}
    crm = canonical_values({"country": "Canada", "province": "Quebec"}, kinds, resolver=_Geo())
    alix = canonical_values({"country": "CA", "province": "QC"}, kinds, resolver=_Geo())
    assert crm == alix == {"country": "CA", "province": "CA-QC"}
    unknown = canonical_values({"country": "Narnia", "province": "Quebec"}, kinds,
                               resolver=_Geo())
    assert unknown == {"country": "Narnia", "province": "Quebec"}  # kept as typed


@pytest.mark.parametrize(
    ("value", "kind"),
    [(" x ", Kind.TEXT), ("1.50", Kind.NUMBER), ("no", Kind.BOOLEAN), ("abc", Kind.NUMBER),
     ({"id": "7", "name": "n"}, Kind.LOOKUP), ("usd", Kind.CURRENCY_CODE), (None, Kind.EMAIL)],
)
def test_canonical_is_idempotent(value: object, kind: Kind) -> None:
    once = canonical(value, kind)
    assert canonical(once, kind) == once


def test_a_number_never_equals_its_text_nor_a_boolean_its_integer() -> None:
    assert key(Decimal(1), Kind.NUMBER) != key("1", Kind.NUMBER)
    assert key(True, Kind.TEXT) != key(1, Kind.TEXT)


@pytest.mark.parametrize(
    ("alix_type", "crm_type", "kind"),
    [("text", "text", Kind.TEXT), ("email", "email", Kind.EMAIL), ("text", "double", Kind.NUMBER),
     ("boolean", "boolean", Kind.BOOLEAN), ("currency", "picklist", Kind.CURRENCY_CODE),
     ("currency", "home_currency", Kind.CURRENCY_CODE), ("country", "text", Kind.COUNTRY),
     ("subdivision", "text", Kind.SUBDIVISION), ("text", "lookup", Kind.LOOKUP)],
)
def test_kind_of(alix_type: str, crm_type: str, kind: Kind) -> None:
    assert kind_of(alix_type, crm_type) is kind


_SAMPLES: tuple[object, ...] = (
    None, "", "  ", " Acme ", "acme", "1.50", "3", 3, 2.5, Decimal("7.10"), True, False, "yes",
    "off", "ca", " De ", "CA-QC", "ca-on", "Québec", "DE-BY", {"id": "42", "name": "Acme"},
    {"name": "Only a name"}, {}, "x" * 3,
)


def test_a_compiled_canonicalizer_gives_what_canonical_values_gives() -> None:
    # Seeded: records of random fields, kinds and values, each field order (the country first,
    # last or absent, two countries) compared with the reference.
    rng = random.Random(20261129)
    for _ in range(2_000):
        names = [f"f{i}" for i in range(rng.randint(0, 7))]
        kinds = {name: rng.choice(list(Kind)) for name in names if rng.random() < 0.9}
        values = {name: rng.choice(_SAMPLES) for name in names}
        for resolver in (CODES_AS_GIVEN, _Geo()):
            assert compile_canonical(names, kinds, resolver=resolver)(values) == \
                canonical_values(values, kinds, resolver=resolver), (names, kinds, values)
