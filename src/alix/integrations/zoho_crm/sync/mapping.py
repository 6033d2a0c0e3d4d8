"""Zoho records to ALIX values and ALIX values to Zoho payloads, driven by the mapping rows (pure).

Every mapped row flows CRM -> ALIX; only rows whose direction is `both` flow ALIX -> CRM (a
read-only CRM field is never written). A record whose values ALIX cannot hold maps to a
Rejection carrying a readable reason: it is reported, never silently dropped.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from alix.customers.domain import clean
from alix.integrations.zoho_crm.rules import Direction
from alix.integrations.zoho_crm.schema import HOME_CURRENCY

from .kinds import ACCOUNT, CONTACT_ACCOUNT_LOOKUP, LinkKind
from .normalize import (
    CODES_AS_GIVEN,
    Canonicalizer,
    Kind,
    Resolver,
    SyncValue,
    compile_canonical,
    kind_of,
)
from .sources import Configuration, Row, ZohoRecord

_INTEGER_CRM = frozenset({"integer", "bigint"})
MODIFIED_BY = "Modified_By"
_NUMERIC_CRM = frozenset({"double", "decimal", "currency", "percent"})


@dataclass(frozen=True, slots=True)
class Mapped:
    """A Zoho record as ALIX values: mapped fields (canonical) plus the values fixed by its kind."""

    kind: LinkKind
    zoho_id: str
    modified_time: datetime | None
    values: dict[str, SyncValue]
    account_id: str | None  # the Account's Zoho id: its own for Account kinds, the lookup's else
    fixed: dict[str, SyncValue] = field(default_factory=dict)
    modified_by: str | None = None  # the Zoho user who changed it last, by name

    @property
    def name(self) -> str | None:
        value = self.values.get("name")
        return value if isinstance(value, str) else None

    def __reduce__(self) -> tuple[type[Mapped], tuple[Any, ...]]:
        # An initial import sends every mapped record to its writer process (page_writer).
        # A slotted dataclass pickles through dataclasses' __getstate__, which calls fields()
        # per record: 200 records pickled 1.3 ms and unpickled 1.5 ms; as a constructor
        # call, 0.45 and 0.8 ms.
        return (Mapped, (self.kind, self.zoho_id, self.modified_time, self.values,
                         self.account_id, self.fixed, self.modified_by))


@dataclass(frozen=True, slots=True)
class Rejection:
    """A Zoho record that cannot become an ALIX record, and why, in a sentence."""

    kind: LinkKind
    zoho_id: str
    modified_time: datetime | None
    reason: str

    def __reduce__(self) -> tuple[type[Rejection], tuple[Any, ...]]:
        return (Rejection, (self.kind, self.zoho_id, self.modified_time, self.reason))  # as Mapped


def rows_of(config: Configuration, kind: LinkKind) -> tuple[Row, ...]:
    """The complete mapping rows of the kind's mapper."""
    return tuple(config.mapper(kind.mapper).fields)


def kinds_of(config: Configuration, kind: LinkKind) -> dict[str, Kind]:
    """ALIX field -> comparison kind, for merge and normalize."""
    return {r.alix_field: kind_of(r.alix_type, r.crm_type) for r in rows_of(config, kind)}


def read_only_fields(config: Configuration, kind: LinkKind) -> frozenset[str]:
    """ALIX fields that flow CRM -> ALIX only (read-only CRM fields, the fixed home currency)."""
    return frozenset(
        r.alix_field
        for r in rows_of(config, kind)
        if r.direction is not Direction.BOTH or r.crm_field == HOME_CURRENCY
    )


def account_lookup(config: Configuration, kind: LinkKind) -> str | None:
    """The CRM field pointing at the Account: none for Account kinds."""
    if kind is LinkKind.CONTACT:
        return CONTACT_ACCOUNT_LOOKUP
    if kind in (LinkKind.BILLING, LinkKind.SHIPPING):
        return config.module(kind.module).account_lookup
    return None


def crm_module(config: Configuration, kind: LinkKind) -> str | None:
    """The Zoho module the kind's records live in."""
    return config.mapper(kind.mapper).crm_module


def crm_fields(config: Configuration, kind: LinkKind) -> tuple[str, ...]:
    """The CRM fields to ask Zoho for, so that a record maps completely."""
    names = [r.crm_field for r in rows_of(config, kind) if r.crm_field != HOME_CURRENCY]
    lookup = account_lookup(config, kind)
    if lookup is not None:
        names.append(lookup)
    # Who last changed the record, for a person deciding a conflict (a system field every
    # module has; it counts toward the 50 fields a call may ask for, zoho-crm-api.md).
    names.append(MODIFIED_BY)
    return tuple(dict.fromkeys(names))


def fixed_values(kind: LinkKind) -> dict[str, SyncValue]:
    """The ALIX values a kind implies: an address's type; a main address is always the main one."""
    address_kind = kind.address_kind
    if address_kind is None:
        return {}
    return {"kind": address_kind, "is_main": True} if kind.is_main_address else {
        "kind": address_kind
    }


def _user_name(value: object) -> str | None:
    """A Zoho user field ({"name", "id", "email"}) as a person reads it."""
    if not isinstance(value, Mapping):
        return None
    name = value.get("name") or value.get("email")
    return str(name) if name else None


def _lookup_id(value: object) -> str | None:
    if isinstance(value, Mapping):
        value = value.get("id")
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _problems(kind: LinkKind, values: Mapping[str, SyncValue]) -> list[str]:
    as_alix = {
        name: str(value) if isinstance(value, Decimal | int) and not isinstance(value, bool)
        else value
        for name, value in values.items()
    }
    _clean, errors = clean(kind.entity, as_alix, partial=True)
    return [message for messages in errors.values() for message in messages]


def from_crm(
    record: ZohoRecord,
    kind: LinkKind,
    config: Configuration,
    *,
    resolver: Resolver = CODES_AS_GIVEN,
) -> Mapped | Rejection:
    """The ALIX values of a Zoho record of this kind, or the reason it cannot be imported.

    Values are canonical (normalize.canonical_values). Required ALIX fields (customer name and
    currency, contact last name) must be present; the Account lookup may be empty (the plan
    decides what a Contact without Account means). A page maps through `crm_mapper` instead.
    """
    return compile_from_crm(config, kind, resolver=resolver)(record)


CrmMapper = Callable[[ZohoRecord], "Mapped | Rejection"]


def compile_from_crm(
    config: Configuration, kind: LinkKind, *, resolver: Resolver = CODES_AS_GIVEN
) -> CrmMapper:
    """from_crm with everything the configuration decides (the mapping rows, the comparison
    kinds, the module, the Account lookup, the fixed values) worked out once, not per record."""
    sources = tuple((r.alix_field, r.crm_field) for r in rows_of(config, kind))
    home = config.home_currency
    kinds = kinds_of(config, kind)
    module = crm_module(config, kind) or kind.value
    lookup = account_lookup(config, kind)
    fixed = fixed_values(kind)
    required = (("name", "Customer name"), ("currency", "Currency")) \
        if kind is LinkKind.CUSTOMER else ()
    canonicalize = compile_canonical(tuple(dict.fromkeys(a for a, _c in sources)), kinds,
                                     resolver=resolver)

    def mapper(record: ZohoRecord) -> Mapped | Rejection:
        given = record.values
        raw = {alix: home if crm == HOME_CURRENCY else given.get(crm) for alix, crm in sources}
        values = canonicalize(raw)
        problems = _problems(kind, values)
        problems += [f"{label} is required." for name, label in required
                     if name not in values and f"{label} is required." not in problems]
        if kind is LinkKind.CONTACT and "last_name" not in values:
            problems.append("Last name is required.")
        if problems:
            return Rejection(
                kind, record.id, record.modified_time,
                f"Zoho {module} record {record.id} cannot be imported: {' '.join(problems)}",
            )
        account_id = record.id if kind.on_account else (
            _lookup_id(given.get(lookup)) if lookup else None
        )
        if kind is LinkKind.CONTACT:
            values[ACCOUNT] = account_id
        return Mapped(kind, record.id, record.modified_time, values, account_id, dict(fixed),
                      modified_by=_user_name(given.get(MODIFIED_BY)))

    return mapper


_COMPILED: dict[tuple[Configuration, LinkKind, Resolver], CrmMapper] = {}
_KEEP = 32  # configurations are few: forget them all past this many


def crm_mapper(
    config: Configuration, kind: LinkKind, *, resolver: Resolver = CODES_AS_GIVEN
) -> CrmMapper:
    """compile_from_crm, compiled once per configuration (a frozen value: a new version is a
    new configuration), kind and resolver; an unhashable configuration is compiled per call."""
    key = (config, kind, resolver)
    try:
        found = _COMPILED.get(key)
    except TypeError:
        return compile_from_crm(config, kind, resolver=resolver)
    if found is None:
        if len(_COMPILED) >= _KEEP:
            _COMPILED.clear()
        found = _COMPILED[key] = compile_from_crm(config, kind, resolver=resolver)
    return found


def from_alix(
    kind: LinkKind,
    values: Mapping[str, object],
    config: Configuration,
    *,
    resolver: Resolver = CODES_AS_GIVEN,
) -> dict[str, SyncValue]:
    """An ALIX record's mapped values in canonical form: what merge compares with the CRM's.
    A page maps through `alix_mapper` instead."""
    return compile_to_crm(config, kind).from_alix(values, resolver=resolver)


def _crm_value(value: SyncValue, crm_type: str) -> Any:
    if value is None or isinstance(value, bool):
        return value
    if crm_type in _INTEGER_CRM or crm_type in _NUMERIC_CRM:
        try:
            number = value if isinstance(value, Decimal) else Decimal(str(value))
        except ArithmeticError:
            return str(value)
        if crm_type in _INTEGER_CRM and number == number.to_integral_value():
            return int(number)
        return float(number)  # Zoho's JSON numbers are doubles (zoho-crm-api.md 5.2)
    if isinstance(value, Decimal):
        return str(value)
    return value


def to_crm(
    kind: LinkKind,
    values: Mapping[str, SyncValue],
    config: Configuration,
    *,
    only: Collection[str] | None = None,
    account_id: str | None = None,
) -> dict[str, Any]:
    """The Zoho payload (without `id`) of ALIX values: rows of direction `both` only.

    `only` limits it to those ALIX fields (the changed ones); `account_id` adds the Account
    lookup of a Contact or custom-module address, as `{"id": ...}`, as does a contact's
    `kinds.ACCOUNT` value among `values` (a move merged or pushed like any field). A page maps
    through `alix_mapper` instead.
    """
    return compile_to_crm(config, kind).to_crm(values, only=only, account_id=account_id)


@dataclass(frozen=True)
class AlixMapper:
    """The ALIX -> CRM direction of one kind with everything the configuration decides (the
    rows written, the comparison kinds, the read-only fields, the module, the Account lookup)
    worked out once, not per record."""

    kind: LinkKind
    module: str | None
    kinds: Mapping[str, Kind]
    read_only: frozenset[str]
    mapped: tuple[str, ...]  # every mapped ALIX field
    writes: tuple[tuple[str, str, str], ...]  # (ALIX field, CRM field, CRM type) sent to Zoho
    lookup: str | None
    # compile_canonical of `mapped` by resolver (few: the shell's and the pure core's).
    canonicalizers: dict[Resolver, Canonicalizer] = field(
        default_factory=dict, compare=False, repr=False)

    def from_alix(self, values: Mapping[str, object], *,
                  resolver: Resolver = CODES_AS_GIVEN) -> dict[str, SyncValue]:
        canonicalize = self.canonicalizers.get(resolver)
        if canonicalize is None:
            canonicalize = self.canonicalizers[resolver] = compile_canonical(
                self.mapped, self.kinds, resolver=resolver)
        return canonicalize({name: values.get(name) for name in self.mapped})

    def to_crm(self, values: Mapping[str, SyncValue], *, only: Collection[str] | None = None,
               account_id: str | None = None) -> dict[str, Any]:
        payload: dict[str, Any] = {}
        for alix_field, crm_field, crm_type in self.writes:
            if alix_field in values and (only is None or alix_field in only):
                payload[crm_field] = _crm_value(values[alix_field], crm_type)
        if account_id is None and ACCOUNT in values and (only is None or ACCOUNT in only):
            moved_to = values[ACCOUNT]  # a contact's Account is a value like the others
            account_id = None if moved_to is None else str(moved_to)
        if self.lookup is not None and account_id is not None:
            payload[self.lookup] = {"id": account_id}
        return payload


def compile_to_crm(config: Configuration, kind: LinkKind) -> AlixMapper:
    rows = rows_of(config, kind)
    return AlixMapper(
        kind=kind,
        module=crm_module(config, kind),
        kinds=kinds_of(config, kind),
        read_only=read_only_fields(config, kind),
        mapped=tuple(dict.fromkeys(r.alix_field for r in rows)),
        writes=tuple((r.alix_field, r.crm_field, r.crm_type) for r in rows
                     if r.direction is Direction.BOTH and r.crm_field != HOME_CURRENCY),
        lookup=account_lookup(config, kind),
    )


_COMPILED_ALIX: dict[tuple[Configuration, LinkKind], AlixMapper] = {}


def alix_mapper(config: Configuration, kind: LinkKind) -> AlixMapper:
    """compile_to_crm, compiled once per configuration and kind (as `crm_mapper`)."""
    key = (config, kind)
    try:
        found = _COMPILED_ALIX.get(key)
    except TypeError:
        return compile_to_crm(config, kind)
    if found is None:
        if len(_COMPILED_ALIX) >= _KEEP:
            _COMPILED_ALIX.clear()
        found = _COMPILED_ALIX[key] = compile_to_crm(config, kind)
    return found
