"""Switching modules on and off, and the checks of both schemas before activation (pure)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

from alix.errors import Conflict, ValidationFailed

from .mappers import MAPPERS, MODULES, MapperSpec, ModuleKind
from .rules import (
    IntegrationState,
    ModuleState,
    alix_label,
    crm_module_of,
    offered_crm_modules,
)
from .schema import HOME_CURRENCY, CrmField, CrmSchema, compatible


def activation_errors(
    state: IntegrationState, schema: CrmSchema, kind: ModuleKind
) -> dict[str, list[str]]:
    """Why the module cannot be switched on, per mapper (empty when it can)."""
    spec = MODULES[kind]
    errors: dict[str, list[str]] = {}
    current = state.module(kind)
    if spec.custom:
        module = schema.module(current.crm_module)
        if not current.crm_module:
            errors.setdefault(kind.value, []).append(
                f"Choose the CRM module that holds the {spec.label.lower()}."
            )
        elif module is None or module not in offered_crm_modules(schema):
            errors.setdefault(kind.value, []).append(
                f"The CRM module {current.crm_module} no longer has a lookup to Accounts "
                "(refresh the CRM metadata, then choose another module)."
            )
        elif not current.account_lookup:
            errors.setdefault(kind.value, []).append(
                f"{module.label} has several lookups to Accounts; choose the one that links "
                "an address to its customer."
            )
    for mapper in spec.mappers:
        for message in _mapper_errors(state, schema, MAPPERS[mapper]):
            errors.setdefault(mapper.value, []).append(message)
    return errors


def _mapper_errors(state: IntegrationState, schema: CrmSchema, spec: MapperSpec) -> list[str]:
    rows = state.rows_of(spec.kind)
    messages = []
    incomplete = [r for r in rows if not r.complete]
    if incomplete:
        messages.append(
            f"{spec.label} has {len(incomplete)} incomplete mapping(s): choose both fields "
            "or delete the row."
        )
    module_name = crm_module_of(state, spec.kind)
    for row in rows:
        if row.complete and schema.field(module_name, row.crm_field) is None:
            messages.append(
                f"The CRM field {row.crm_field} mapped to {alix_label(spec, row.alix_field)} "
                f"no longer exists in {module_name}; map another field."
            )
    mapped_alix = {r.alix_field for r in rows if r.complete}
    mapped_crm = {r.crm_field for r in rows if r.complete}
    if "currency" in spec.mandatory_alix and "currency" not in mapped_alix:
        messages.append(_currency_missing(schema, module_name))
    missing = [alix_label(spec, n) for n in spec.required_alix if n not in mapped_alix]
    missing += [n for n in spec.required_crm if n not in mapped_crm]
    if missing:
        messages.append(f"Map the required fields of {spec.label}: {', '.join(missing)}.")
    return messages


def _currency_missing(schema: CrmSchema, module_name: str | None) -> str:
    if schema.multi_currency:
        return (
            "Map Currency before activating Customers: add a row in the Customer field mapper "
            "with Currency as the ALIX field and Currency as the CRM field."
        )
    module = schema.module(module_name)
    options = [f.label for f in (module.fields if module else ()) if f.mappable
               and compatible("currency", f.data_type)]
    listed = f" ({', '.join(options)})" if options else ""
    return (
        "Map Currency before activating Customers. This Zoho CRM org has no multi-currency, "
        f"so Accounts has no Currency field: map Currency to the org's home currency "
        f"({schema.home_currency}, fixed) or to a text or picklist field of Accounts{listed}."
    )


def activate(state: IntegrationState, schema: CrmSchema, kind: ModuleKind) -> ModuleState:
    """The module switched on, or Conflict / ValidationFailed saying what is missing."""
    spec = MODULES[kind]
    if spec.is_address and not state.module(ModuleKind.CUSTOMERS).active:
        raise Conflict(f"Activate Customers before {spec.label}: addresses belong to customers.")
    errors = activation_errors(state, schema, kind)
    if errors:
        raise ValidationFailed(errors)
    return replace(state.module(kind), active=True)


def deactivate(state: IntegrationState, kind: ModuleKind) -> ModuleState:
    """The module switched off; Customers stays on while an address module is on."""
    if kind is ModuleKind.CUSTOMERS:
        active = [MODULES[k].label for k in ModuleKind
                  if k is not kind and state.module(k).active]
        if active:
            raise Conflict(
                f"Deactivate {', '.join(active)} first: an address module cannot be active "
                "while Customers is inactive."
            )
    return replace(state.module(kind), active=False)


def warnings(
    state: IntegrationState,
    schema: CrmSchema,
    kind: ModuleKind,
    alix_currencies: Iterable[str] = (),
) -> list[str]:
    """Checks of values against both schemas that do not block activation."""
    messages: list[str] = []
    for mapper in MODULES[kind].mappers:
        spec = MAPPERS[mapper]
        module_name = crm_module_of(state, mapper)
        for row in state.rows_of(mapper):
            alix = spec.alix_field(row.alix_field)
            crm = schema.field(module_name, row.crm_field)
            if alix is None or crm is None:
                continue
            if alix.name == "currency":
                messages += _currency_warnings(schema, crm, alix_currencies)
            elif alix.max_length and crm.length and alix.max_length > crm.length:
                messages.append(
                    f"{alix.label} allows {alix.max_length} characters in ALIX but "
                    f"{crm.label} ({crm.api_name}) holds only {crm.length}: longer values "
                    "will be refused by Zoho CRM."
                )
    return messages


def _currency_warnings(
    schema: CrmSchema, crm: CrmField, alix_currencies: Iterable[str]
) -> list[str]:
    codes = [c.upper() for c in alix_currencies]
    if crm.api_name == HOME_CURRENCY:
        other = [c for c in codes if c != schema.home_currency.upper()]
        if other:
            return [f"Your organisation also uses {', '.join(other)}, but this Zoho CRM org "
                    f"only knows {schema.home_currency}: those customers keep "
                    f"{schema.home_currency} in the CRM."]
        return []
    if crm.data_type != "picklist":
        return []
    offered = {v.upper() for v in crm.picklist}
    missing = [c for c in codes if c not in offered]
    if missing:
        return [f"The CRM {crm.label} picklist lacks {', '.join(missing)}: customers in "
                "these currencies cannot be written to Zoho CRM until you add them there."]
    return []
