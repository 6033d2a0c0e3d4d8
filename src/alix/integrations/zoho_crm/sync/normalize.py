"""What "equal" means between an ALIX value and a Zoho value: one canonical form and one key.

`canonical` is the form we store as the base and write to either side: strings trimmed, the
empty string as None, numbers as Decimal, booleans as bool, lookups as their id, countries and
provinces as codes when the resolver knows them. `key` is what two canonical values are
compared by (e-mails and unresolved place names ignore case). Compare keys only, never raw values.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import Protocol

# A value of the sync: what ALIX holds (str, bool, int, None) plus Zoho's numbers.
SyncValue = str | bool | int | Decimal | None


class Kind(enum.StrEnum):
    """How a mapped field is compared; decided by the ALIX type and the CRM data type."""

    TEXT = "text"
    EMAIL = "email"
    NUMBER = "number"
    BOOLEAN = "boolean"
    LOOKUP = "lookup"
    CURRENCY_CODE = "currency_code"
    COUNTRY = "country"
    SUBDIVISION = "subdivision"


_NUMERIC_CRM = frozenset({"integer", "bigint", "double", "decimal", "currency", "percent"})
_BY_ALIX_TYPE = {
    "email": Kind.EMAIL,
    "boolean": Kind.BOOLEAN,
    "currency": Kind.CURRENCY_CODE,
    "country": Kind.COUNTRY,
    "subdivision": Kind.SUBDIVISION,
    "integer": Kind.NUMBER,
    "decimal": Kind.NUMBER,
    "number": Kind.NUMBER,
    "money": Kind.NUMBER,
}


def kind_of(alix_type: str, crm_type: str = "text") -> Kind:
    """The comparison kind of a mapping row; a numeric CRM field compares numerically."""
    if crm_type == "lookup":
        return Kind.LOOKUP
    if crm_type in _NUMERIC_CRM:
        return Kind.NUMBER
    if crm_type == "boolean":
        return Kind.BOOLEAN
    return _BY_ALIX_TYPE.get(alix_type, Kind.TEXT)


class Resolver(Protocol):
    """Resolves place names to ISO codes; None when unknown (then the text is compared)."""

    def country(self, text: str) -> str | None: ...

    def subdivision(self, text: str, country: str | None) -> str | None: ...


_COUNTRY_CODE = re.compile(r"^[A-Za-z]{2}$")
_SUBDIVISION_CODE = re.compile(r"^([A-Za-z]{2})-[A-Za-z0-9]{1,3}$")


class CodesAsGiven:
    """The resolver of the pure core: a value shaped like an ISO code is that code, no lookup.

    The shell may pass a pycountry-backed resolver (alix.customers.geography) instead.
    """

    def country(self, text: str) -> str | None:
        return text.upper() if _COUNTRY_CODE.match(text) else None

    def subdivision(self, text: str, country: str | None) -> str | None:
        match = _SUBDIVISION_CODE.match(text)
        if match is None:
            return None
        if country is not None and match.group(1).upper() != country.upper():
            return None
        return text.upper()


CODES_AS_GIVEN = CodesAsGiven()
_TRUE = frozenset({"true", "yes", "1", "on"})
_FALSE = frozenset({"false", "no", "0", "off", ""})


def _text(value: object) -> str | None:
    if type(value) is str:  # nearly every value: no ABC check (Mapping) on the way
        return value.strip() or None
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Mapping):  # a lookup mapped to a text field: its name is the text
        value = value.get("name")
        if value is None:
            return None
    text = str(value).strip()
    return text or None


def _number(value: object) -> SyncValue:
    if isinstance(value, bool):
        return Decimal(int(value))
    if isinstance(value, Decimal):
        return value
    if isinstance(value, int | float):
        return Decimal(str(value))
    text = _text(value)
    if text is None:
        return None
    try:
        number = Decimal(text)
    except InvalidOperation:
        return text  # not a number: kept as typed, so nothing is lost, compared as text
    return number if number.is_finite() else text


def _boolean(value: object) -> SyncValue:
    # An unset Zoho checkbox is false, never null (zoho-crm-api.md 5.2).
    if value is None or isinstance(value, bool):
        return bool(value)
    if isinstance(value, int | Decimal):
        return value != 0
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    return text


def _lookup(value: object) -> str | None:
    # Lookups compare by id only: the related record's name changes without this record changing.
    if isinstance(value, Mapping):
        value = value.get("id")
    return _text(value)


def canonical(
    value: object,
    kind: Kind,
    *,
    resolver: Resolver = CODES_AS_GIVEN,
    country: str | None = None,
) -> SyncValue:
    """The canonical form of one value; idempotent (canonical(canonical(v)) == canonical(v)).

    `country` is the record's country code, which the province is resolved within.
    """
    if kind is Kind.NUMBER:
        return _number(value)
    if kind is Kind.BOOLEAN:
        return _boolean(value)
    if kind is Kind.LOOKUP:
        return _lookup(value)
    text = _text(value)
    if text is None:
        return None
    if kind is Kind.CURRENCY_CODE:
        return text.upper()
    if kind is Kind.COUNTRY:
        return resolver.country(text) or text
    if kind is Kind.SUBDIVISION:
        return resolver.subdivision(text, country) or text
    return text


def key(value: SyncValue, kind: Kind) -> object:
    """What canonical values are compared by: equal keys mean equal values."""
    if isinstance(value, str) and kind in (Kind.EMAIL, Kind.COUNTRY, Kind.SUBDIVISION):
        return value.casefold()
    if isinstance(value, Decimal):
        return ("number", value)  # Decimal("1.50") == Decimal("1.5"); never equal to text
    return (type(value).__name__, value) if isinstance(value, bool | int) else value


def canonical_values(
    values: Mapping[str, object],
    kinds: Mapping[str, Kind],
    *,
    resolver: Resolver = CODES_AS_GIVEN,
) -> dict[str, SyncValue]:
    """Every value of a record in canonical form; provinces resolved within its country.

    Fields without a kind are compared as text.
    """
    country_raw = next(
        (v for name, v in values.items() if kinds.get(name) is Kind.COUNTRY), None
    )
    country_value = canonical(country_raw, Kind.COUNTRY, resolver=resolver)
    country = country_value if isinstance(country_value, str) else None
    return {
        name: canonical(value, kinds.get(name, Kind.TEXT), resolver=resolver, country=country)
        for name, value in values.items()
    }


Canonicalizer = Callable[[Mapping[str, object]], dict[str, SyncValue]]
_AS_TEXT = frozenset({Kind.TEXT, Kind.EMAIL})  # canonical() of these is _text() alone


def compile_canonical(
    names: Sequence[str], kinds: Mapping[str, Kind], *, resolver: Resolver = CODES_AS_GIVEN
) -> Canonicalizer:
    """canonical_values for records whose keys are exactly `names`, in that order (a mapper's
    raw values), with each field's kind and the country field worked out once: a page maps
    thousands of records through the same fields."""
    fields = tuple((name, kinds.get(name, Kind.TEXT)) for name in names)
    plan = tuple((name, kind, kind in _AS_TEXT) for name, kind in fields)
    country_field = next((name for name, kind in fields if kind is Kind.COUNTRY), None)

    def canonicalize(values: Mapping[str, object]) -> dict[str, SyncValue]:
        country: str | None = None
        if country_field is not None:
            found = canonical(values[country_field], Kind.COUNTRY, resolver=resolver)
            country = found if isinstance(found, str) else None
        out: dict[str, SyncValue] = {}
        for name, kind, as_text in plan:
            value = values[name]
            if as_text:
                out[name] = (value.strip() or None) if type(value) is str else _text(value)
            else:
                out[name] = canonical(value, kind, resolver=resolver, country=country)
        return out

    return canonicalize
