"""The rules of the modules and field mappers, one place for page, API and sync config (pure).

Every operation takes the current IntegrationState (and the CRM schema when fields matter) and
either returns the new value to store or raises: Conflict (409) when the request contradicts
the current state, ValidationFailed (422) when the input or the configuration is incomplete.
Switching modules on and off, and the pre-activation checks, are in activation.py.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace

from alix.customers.fields import Field as AlixField
from alix.errors import Conflict, NotFound, ValidationFailed

from .mappers import MAPPERS, MODULES, MapperKind, MapperSpec, ModuleKind
from .schema import HOME_CURRENCY, CrmField, CrmModule, CrmSchema, compatible


class Direction(enum.StrEnum):
    """Which way a mapped value flows."""

    BOTH = "both"
    CRM_TO_ALIX = "crm_to_alix"  # read-only CRM fields: ALIX can never write them


class ConflictPolicy(enum.StrEnum):
    """Who wins when both sides changed the same field since they last agreed."""

    MOST_RECENT = "most_recent"
    CRM_WINS = "crm_wins"
    ALIX_WINS = "alix_wins"
    ASK = "ask"


class DeletePolicy(enum.StrEnum):
    """What a deletion on one side does on the other."""

    DELETE = "delete"
    MARK_INACTIVE = "mark_inactive"
    IGNORE = "ignore"


@dataclass(frozen=True)
class ModuleState:
    """A module's switch and, for the custom-module modules, the CRM module and its lookup."""

    kind: ModuleKind
    active: bool = False
    crm_module: str | None = None
    account_lookup: str | None = None


@dataclass(frozen=True)
class Row:
    """One mapping row; stored even when half filled (then it is incomplete)."""

    id: int | None
    mapper: MapperKind
    alix_field: str | None = None
    crm_field: str | None = None
    direction: Direction = Direction.BOTH

    @property
    def complete(self) -> bool:
        return bool(self.alix_field) and bool(self.crm_field)


@dataclass(frozen=True)
class Policies:
    """The conflict policy and the delete policy of each direction."""

    conflict: ConflictPolicy = ConflictPolicy.MOST_RECENT
    delete_crm_to_alix: DeletePolicy = DeletePolicy.MARK_INACTIVE
    delete_alix_to_crm: DeletePolicy = DeletePolicy.MARK_INACTIVE


@dataclass(frozen=True)
class IntegrationState:
    """Everything configured on Details for one connection."""

    modules: Mapping[ModuleKind, ModuleState]
    rows: tuple[Row, ...]
    policies: Policies = Policies()

    def module(self, kind: ModuleKind) -> ModuleState:
        return self.modules.get(kind) or ModuleState(kind)

    def rows_of(self, mapper: MapperKind) -> tuple[Row, ...]:
        return tuple(r for r in self.rows if r.mapper is mapper)

    def row(self, row_id: int) -> Row:
        for candidate in self.rows:
            if candidate.id == row_id:
                return candidate
        raise NotFound(f"There is no mapping row {row_id}.")


def initial_state() -> IntegrationState:
    """A new connection: every module off, the preconfigured rows in place."""
    rows = tuple(
        Row(None, spec.kind, alix, crm)
        for spec in MAPPERS.values()
        for alix, crm in spec.fixed
    )
    return IntegrationState({k: ModuleState(k) for k in ModuleKind}, rows)


def crm_module_of(state: IntegrationState, mapper: MapperKind) -> str | None:
    """The CRM module a mapper's rows live in: fixed, or the one chosen for its module."""
    spec = MAPPERS[mapper]
    return spec.crm_module or state.module(spec.module).crm_module


def direction_for(crm: CrmField) -> Direction:
    """Read-only CRM fields can only flow from the CRM into ALIX."""
    return Direction.CRM_TO_ALIX if crm.read_only else Direction.BOTH


def _module_label(kind: ModuleKind) -> str:
    return MODULES[kind].label


def can_delete(state: IntegrationState, row: Row) -> bool:
    """Whether a row has an X: never the mandatory rows, never required rows while active."""
    spec = MAPPERS[row.mapper]
    return not spec.is_mandatory(row.alix_field) and not _locked_by_activation(state, row)


def can_edit(state: IntegrationState, row: Row) -> bool:
    """Whether a row's dropdowns may change: never the preconfigured rows, never required
    rows while their module is active (Currency's ALIX side is checked in edit_row)."""
    spec = MAPPERS[row.mapper]
    return not spec.is_fixed(row.alix_field) and not _locked_by_activation(state, row)


def _locked_by_activation(state: IntegrationState, row: Row) -> bool:
    spec = MAPPERS[row.mapper]
    return state.module(spec.module).active and spec.is_required(row.alix_field, row.crm_field)


def new_row(state: IntegrationState, mapper: MapperKind) -> Row:
    """The empty row + adds; refused while the mapper has an incomplete row."""
    spec = MAPPERS[mapper]
    if spec.crm_module is None and not state.module(spec.module).crm_module:
        raise Conflict(
            f"Choose the CRM module of {_module_label(spec.module)} before mapping its fields."
        )
    if any(not r.complete for r in state.rows_of(mapper)):
        raise Conflict(
            f"Complete the field mapping in {spec.label} before adding another one: "
            "choose both the ALIX field and the CRM field, or delete the incomplete row."
        )
    return Row(None, mapper)


def remove_row(state: IntegrationState, row_id: int) -> Row:
    """The row the X deletes; mandatory rows and required rows of an active module refuse."""
    row = state.row(row_id)
    spec = MAPPERS[row.mapper]
    if spec.is_mandatory(row.alix_field):
        label = alix_label(spec, row.alix_field)
        raise Conflict(f"{label} is a mandatory mapping of {spec.label}; it cannot be deleted.")
    if not can_delete(state, row):
        module = _module_label(spec.module)
        raise Conflict(f"Deactivate {module} to change its required mappings.")
    return row


def edit_row(
    state: IntegrationState,
    schema: CrmSchema,
    row_id: int,
    alix_field: str | None,
    crm_field: str | None,
    *,
    suggest: bool = True,
) -> Row:
    """The row with new sides (None clears a side); checks types, duplicates and locks.

    With `suggest`, a side left empty next to a chosen one is filled with the suggested
    counterpart (the Billing_* standard fields for the main billing address, Default for
    "Is main address", the address label for a custom module's Name...) when it is free.
    """
    row = state.row(row_id)
    spec = MAPPERS[row.mapper]
    alix_field, crm_field = alix_field or None, crm_field or None
    if (alix_field, crm_field) == (row.alix_field, row.crm_field):
        return row
    if spec.is_fixed(row.alix_field):
        raise Conflict(
            f"{alix_label(spec, row.alix_field)} is preconfigured in {spec.label}; "
            "it cannot be modified."
        )
    if row.alix_field in spec.mandatory_alix and alix_field != row.alix_field:
        raise Conflict(
            f"{alix_label(spec, row.alix_field)} must stay mapped in {spec.label}; "
            "change its CRM field instead."
        )
    if not can_edit(state, row):
        raise Conflict(f"Deactivate {_module_label(spec.module)} to change its required mappings.")
    module_name = crm_module_of(state, row.mapper)
    others = [r for r in state.rows_of(row.mapper) if r.id != row.id]
    if suggest:
        alix_field, crm_field = _suggest(spec, schema, module_name, others, alix_field, crm_field)
    errors: dict[str, list[str]] = {}
    alix = spec.alix_field(alix_field) if alix_field else None
    if alix_field and alix is None:
        errors.setdefault("alix_field", []).append(
            f"{alix_field!r} is not an ALIX field {spec.label} can map."
        )
    if alix_field and alix_field in {r.alix_field for r in others}:
        errors.setdefault("alix_field", []).append(
            f"{alix_label(spec, alix_field)} is already mapped in {spec.label}."
        )
    crm = schema.field(module_name, crm_field) if crm_field else None
    if crm_field and (crm is None or not crm.mappable or _forbidden_home(spec, crm, alix)):
        errors.setdefault("crm_field", []).append(
            f"{crm_field!r} is not a field of {module_name or 'the chosen CRM module'} "
            f"that {spec.label} can map."
        )
    if crm_field and crm_field in {r.crm_field for r in others}:
        errors.setdefault("crm_field", []).append(
            f"{_crm_label(crm, crm_field)} is already mapped in {spec.label}."
        )
    if alix is not None and crm is not None and not compatible(alix.type.value, crm.data_type):
        errors.setdefault("crm_field", []).append(
            f"{alix.label} ({alix.type.value}) cannot be mapped to {crm.label} "
            f"({crm.data_type}): the types are not compatible."
        )
    if errors:
        raise ValidationFailed(errors)
    direction = direction_for(crm) if crm is not None else Direction.BOTH
    return replace(row, alix_field=alix_field, crm_field=crm_field, direction=direction)


def _forbidden_home(spec: MapperSpec, crm: CrmField, alix: AlixField | None) -> bool:
    # The fixed home currency only stands in for Currency, only in the customer mapper.
    return crm.api_name == HOME_CURRENCY and (
        spec.kind is not MapperKind.CUSTOMER or (alix is not None and alix.name != "currency")
    )


def _suggest(
    spec: MapperSpec,
    schema: CrmSchema,
    module_name: str | None,
    others: Iterable[Row],
    alix_field: str | None,
    crm_field: str | None,
) -> tuple[str | None, str | None]:
    others = list(others)
    used_alix = {r.alix_field for r in others}
    used_crm = {r.crm_field for r in others}
    if alix_field and not crm_field:
        wanted = spec.suggestions.get(alix_field)
        home = not schema.multi_currency and spec.kind is MapperKind.CUSTOMER
        if alix_field == "currency" and home:
            wanted = HOME_CURRENCY
        if wanted and wanted not in used_crm and schema.field(module_name, wanted) is not None:
            crm_field = wanted
    elif crm_field and not alix_field:
        for alix, crm in spec.suggestions.items():
            if crm == crm_field and alix not in used_alix:
                alix_field = alix
                break
    return alix_field, crm_field


def alix_label(spec: MapperSpec, name: str | None) -> str:
    found = spec.alix_field(name)
    return found.label if found is not None else str(name)


def _crm_label(crm: CrmField | None, name: str) -> str:
    return f"{crm.label} ({name})" if crm is not None else name


def offered_alix_fields(state: IntegrationState, row: Row) -> tuple[AlixField, ...]:
    """ALIX fields a row's dropdown offers: not mapped by another row of its mapper."""
    spec = MAPPERS[row.mapper]
    used = {r.alix_field for r in state.rows_of(row.mapper) if r.id != row.id}
    return tuple(f for f in spec.alix_fields() if f.name not in used)


def offered_crm_fields(
    state: IntegrationState, schema: CrmSchema, row: Row
) -> tuple[CrmField, ...]:
    """CRM fields a row's dropdown offers: compatible with its ALIX field, not mapped twice."""
    spec = MAPPERS[row.mapper]
    module = schema.module(crm_module_of(state, row.mapper))
    candidates: list[CrmField] = list(module.fields) if module is not None else []
    if spec.kind is MapperKind.CUSTOMER and not schema.multi_currency:
        candidates.append(schema.home_currency_field)
    used = {r.crm_field for r in state.rows_of(row.mapper) if r.id != row.id}
    alix = spec.alix_field(row.alix_field)
    offered = []
    for crm in candidates:
        if not crm.mappable or crm.api_name in used or _forbidden_home(spec, crm, alix):
            continue
        if alix is not None and not compatible(alix.type.value, crm.data_type):
            continue
        offered.append(crm)
    return tuple(offered)


def offered_crm_modules(schema: CrmSchema) -> tuple[CrmModule, ...]:
    """Custom modules that can hold extra addresses: those with a lookup to Accounts."""
    return schema.address_modules


def choose_crm_module(
    state: IntegrationState,
    schema: CrmSchema,
    kind: ModuleKind,
    crm_module: str | None,
    account_lookup: str | None = None,
) -> ModuleState:
    """The module with its CRM module chosen; locked while active or while mappings exist."""
    spec = MODULES[kind]
    current = state.module(kind)
    if not spec.custom:
        raise Conflict(f"{spec.label} always syncs with Accounts; its CRM module is fixed.")
    crm_module = crm_module or None
    if crm_module != current.crm_module:
        if current.active:
            raise Conflict(
                f"Deactivate {spec.label}, then delete its field mappings, then change its "
                "CRM module."
            )
        if any(state.rows_of(m) for m in spec.mappers):
            raise Conflict(
                f"Delete the field mappings of {spec.label} before changing its CRM module: "
                "they name fields of the current one."
            )
    if crm_module is None:
        return replace(current, crm_module=None, account_lookup=None)
    module = next((m for m in offered_crm_modules(schema) if m.api_name == crm_module), None)
    if module is None:
        raise ValidationFailed({"crm_module": (
            f"{crm_module!r} is not a custom CRM module with a lookup to Accounts."
        )})
    for other in ModuleKind:
        if other is not kind and state.module(other).crm_module == crm_module:
            # One CRM module holding both kinds would make every record both a billing and a
            # shipping address: the sync could not tell them apart.
            raise Conflict(
                f"{module.label} already holds the {MODULES[other].label.lower()}; choose "
                f"another CRM module for {spec.label}."
            )
    lookups = [f.api_name for f in module.account_lookups]
    if account_lookup and account_lookup not in lookups:
        raise ValidationFailed({"account_lookup": (
            f"{account_lookup!r} is not a lookup to Accounts in {module.label}; "
            f"choose one of {', '.join(lookups)}."
        )})
    if current.active and account_lookup != current.account_lookup:
        raise Conflict(f"Deactivate {spec.label} to change its lookup to Accounts.")
    chosen = account_lookup or (lookups[0] if len(lookups) == 1 else None)
    return replace(current, crm_module=crm_module, account_lookup=chosen)


def policies(conflict: str, delete_crm_to_alix: str, delete_alix_to_crm: str) -> Policies:
    """Parse the policies chosen on Details; unknown values are a 422 naming the choices."""
    errors: dict[str, str] = {}
    values: dict[str, object] = {}
    for key, raw, enum_type in (
        ("conflict", conflict, ConflictPolicy),
        ("delete_crm_to_alix", delete_crm_to_alix, DeletePolicy),
        ("delete_alix_to_crm", delete_alix_to_crm, DeletePolicy),
    ):
        try:
            values[key] = enum_type(raw)
        except ValueError:
            choices = ", ".join(m.value for m in enum_type)
            errors[key] = f"{raw!r} is not one of {choices}."
    if errors:
        raise ValidationFailed(errors)
    return Policies(**values)  # type: ignore[arg-type]
