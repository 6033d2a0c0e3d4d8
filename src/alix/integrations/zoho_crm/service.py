"""Commands on Details: load, call one rule, store; shared by the pages and the REST API."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from alix.errors import NotFound
from alix.identity.tables import Organisation

from . import activation, repository, rules
from .mappers import MAPPERS, MODULES, MapperKind, ModuleKind
from .rules import IntegrationState, Row
from .schema import CrmSchema
from .tables import ZohoConnection


@dataclass(frozen=True)
class Snapshot:
    """A connection with its state and CRM schema, as one command or page sees them."""

    connection: ZohoConnection
    state: IntegrationState
    schema: CrmSchema
    currencies: tuple[str, ...]


def snapshot(session: Session, organisation_id: int, *, for_update: bool = False) -> Snapshot:
    """The live connection of the organisation, its configuration and its CRM schema."""
    connection = repository.connected(session, organisation_id, for_update=for_update)
    org = session.get(Organisation, organisation_id)
    currencies = tuple(org.currencies) if org is not None else ()
    return Snapshot(connection, repository.load_state(session, connection),
                    repository.schema_of(connection), currencies)


def add_row(session: Session, organisation_id: int, mapper: MapperKind) -> Row:
    snap = snapshot(session, organisation_id, for_update=True)
    return repository.insert_row(session, snap.connection, rules.new_row(snap.state, mapper))


def edit_row(
    session: Session,
    organisation_id: int,
    mapper: MapperKind,
    row_id: int,
    changes: dict[str, str | None],
) -> Row:
    """Change the sides named in `changes` ("alix_field", "crm_field"); others stay."""
    snap = snapshot(session, organisation_id, for_update=True)
    current = _row_of(snap.state, mapper, row_id)
    alix = changes.get("alix_field", current.alix_field)
    crm = changes.get("crm_field", current.crm_field)
    row = rules.edit_row(snap.state, snap.schema, row_id, alix, crm)
    if row != current:
        repository.update_row(session, snap.connection, row)
    return row


def delete_row(session: Session, organisation_id: int, mapper: MapperKind, row_id: int) -> None:
    snap = snapshot(session, organisation_id, for_update=True)
    _row_of(snap.state, mapper, row_id)
    rules.remove_row(snap.state, row_id)
    repository.delete_row(session, snap.connection, row_id)


def update_module(
    session: Session,
    organisation_id: int,
    kind: ModuleKind,
    changes: dict[str, Any],
) -> rules.ModuleState:
    """Apply the CRM module choice first, then the switch (as the page does, left to right)."""
    snap = snapshot(session, organisation_id, for_update=True)
    state = snap.state
    module = state.module(kind)
    if "crm_module" in changes or "account_lookup" in changes:
        module = rules.choose_crm_module(
            state, snap.schema, kind,
            changes.get("crm_module", module.crm_module),
            changes.get("account_lookup", module.account_lookup),
        )
        state = _with_module(state, module)
    if "active" in changes and bool(changes["active"]) != module.active:
        if changes["active"]:
            module = activation.activate(state, snap.schema, kind)
        else:
            module = activation.deactivate(state, kind)
    if module != snap.state.module(kind):
        repository.save_module(session, snap.connection, module)
    return module


def set_policies(
    session: Session, organisation_id: int, conflict: str, crm_to_alix: str, alix_to_crm: str
) -> rules.Policies:
    snap = snapshot(session, organisation_id, for_update=True)
    chosen = rules.policies(conflict, crm_to_alix, alix_to_crm)
    if chosen != snap.state.policies:
        repository.save_policies(snap.connection, chosen)
    return chosen


def describe(snap: Snapshot) -> dict[str, Any]:
    """Everything Details shows, as JSON: modules, rows with their options, errors, warnings."""
    state, schema = snap.state, snap.schema
    modules = []
    for kind, spec in MODULES.items():
        module = state.module(kind)
        mappers = []
        for mapper in spec.mappers:
            mspec = MAPPERS[mapper]
            crm_module = rules.crm_module_of(state, mapper)
            mappers.append({
                "kind": mapper.value,
                "label": mspec.label,
                "crm_module": crm_module,
                "required": list(mspec.required_labels),
                "rows": [_row_json(state, schema, row) for row in state.rows_of(mapper)],
            })
        crm = schema.module(module.crm_module) if spec.custom else None
        modules.append({
            "kind": kind.value,
            "label": spec.label,
            "active": module.active,
            "crm_module": module.crm_module if spec.custom else spec.crm_module,
            "crm_module_locked": spec.custom and (
                module.active or any(state.rows_of(m) for m in spec.mappers)
            ),
            "account_lookup": module.account_lookup,
            "account_lookups": [
                {"api_name": f.api_name, "label": f.label}
                for f in (crm.account_lookups if crm is not None else ())
            ],
            "crm_modules": [
                {"api_name": m.api_name, "label": m.label}
                for m in rules.offered_crm_modules(schema)
            ] if spec.custom else [],
            "mappers": mappers,
            "activation_errors": activation.activation_errors(state, schema, kind),
            "warnings": activation.warnings(state, schema, kind, snap.currencies),
        })
    return {
        "version": snap.connection.config_version,
        "modules": modules,
        "policies": {
            "conflict": state.policies.conflict.value,
            "delete_crm_to_alix": state.policies.delete_crm_to_alix.value,
            "delete_alix_to_crm": state.policies.delete_alix_to_crm.value,
        },
        "multi_currency": schema.multi_currency,
        "home_currency": schema.home_currency,
    }


def _row_json(state: IntegrationState, schema: CrmSchema, row: Row) -> dict[str, Any]:
    spec = MAPPERS[row.mapper]
    alix = spec.alix_field(row.alix_field)
    crm = schema.field(rules.crm_module_of(state, row.mapper), row.crm_field)
    return {
        "id": row.id,
        "alix_field": row.alix_field,
        "alix_label": alix.label if alix else row.alix_field,
        "crm_field": row.crm_field,
        "crm_label": crm.label if crm else row.crm_field,
        "direction": row.direction.value,
        "complete": row.complete,
        "fixed": spec.is_fixed(row.alix_field),
        "mandatory": spec.is_mandatory(row.alix_field),
        "deletable": rules.can_delete(state, row),
        "editable": rules.can_edit(state, row),
        "alix_options": [{"name": f.name, "label": f.label, "type": f.type.value}
                         for f in rules.offered_alix_fields(state, row)],
        "crm_options": [{"api_name": f.api_name, "label": f.label, "data_type": f.data_type,
                         "read_only": f.read_only}
                        for f in rules.offered_crm_fields(state, schema, row)],
    }


def _row_of(state: IntegrationState, mapper: MapperKind, row_id: int) -> Row:
    row = state.row(row_id)
    if row.mapper is not mapper:
        raise NotFound(f"There is no mapping row {row_id} in {MAPPERS[mapper].label}.")
    return row


def _with_module(state: IntegrationState, module: rules.ModuleState) -> IntegrationState:
    modules = dict(state.modules)
    modules[module.kind] = module
    return IntegrationState(modules, state.rows, state.policies)
