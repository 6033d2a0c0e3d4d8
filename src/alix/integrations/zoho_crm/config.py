"""The configuration the sync reads: a frozen, versioned value built from the rules' state (pure).

A run loads it once when it starts (`sync.engine.context.open_context`, through
`repository.load_configuration`) and keeps that snapshot to its end: a change made on Details
mid-run applies from the next run. `version` counts the changes; a run records the version it
used (`sync.store.runs.start_run`). The sync never reads the settings tables itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from .mappers import MAPPERS, MODULES, MapperKind, ModuleKind
from .rules import (
    ConflictPolicy,
    DeletePolicy,
    Direction,
    IntegrationState,
    crm_module_of,
)
from .schema import CrmSchema


@dataclass(frozen=True)
class MappedField:
    """One complete mapping row: which ALIX field goes to which CRM field, which way."""

    alix_field: str
    crm_field: str
    direction: Direction
    alix_type: str
    crm_type: str
    crm_length: int | None


@dataclass(frozen=True)
class MapperConfig:
    """A mapper's complete rows, the CRM module they live in and, for records that are not
    the Account itself (contacts, extra addresses), the lookup field naming their Account."""

    kind: MapperKind
    crm_module: str | None
    fields: tuple[MappedField, ...]
    account_lookup: str | None = None

    def field_for(self, alix_field: str) -> MappedField | None:
        return next((f for f in self.fields if f.alix_field == alix_field), None)


@dataclass(frozen=True)
class ModuleConfig:
    """A module: on or off, the CRM module it lives in and (custom modules) the Account lookup."""

    kind: ModuleKind
    active: bool
    crm_module: str | None
    account_lookup: str | None
    mappers: tuple[MapperConfig, ...]


@dataclass(frozen=True)
class SyncConfiguration:
    """Everything the sync needs to know from Details; equal versions mean equal values."""

    connection_id: int
    organisation_id: int
    version: int
    zoho_org_id: str
    multi_currency: bool
    home_currency: str
    conflict_policy: ConflictPolicy
    delete_crm_to_alix: DeletePolicy
    delete_alix_to_crm: DeletePolicy
    modules: tuple[ModuleConfig, ...]

    def module(self, kind: ModuleKind) -> ModuleConfig:
        return self._modules[kind]

    def mapper(self, kind: MapperKind) -> MapperConfig:
        return self._mappers[kind]

    # Looked up for every record of a page: built once per configuration (a frozen value,
    # so the cache can never go stale; it lives outside the fields, eq and hash ignore it).
    @cached_property
    def _modules(self) -> dict[ModuleKind, ModuleConfig]:
        return {m.kind: m for m in reversed(self.modules)}  # the first wins, as before

    @cached_property
    def _mappers(self) -> dict[MapperKind, MapperConfig]:
        return {mc.kind: mc for m in reversed(self.modules) for mc in reversed(m.mappers)}


def build(
    *,
    connection_id: int,
    organisation_id: int,
    version: int,
    zoho_org_id: str,
    state: IntegrationState,
    schema: CrmSchema,
) -> SyncConfiguration:
    """The frozen configuration of a state (pure); incomplete rows are left out."""
    modules = []
    for kind, spec in MODULES.items():
        module = state.module(kind)
        mappers = []
        for mapper in spec.mappers:
            crm_module = crm_module_of(state, mapper)
            alix_spec = MAPPERS[mapper]
            fields = []
            for row in state.rows_of(mapper):
                alix = alix_spec.alix_field(row.alix_field)
                crm = schema.field(crm_module, row.crm_field)
                if not row.complete or alix is None or crm is None:
                    continue
                fields.append(MappedField(alix.name, crm.api_name, row.direction,
                                          alix.type.value, crm.data_type, crm.length))
            lookup = alix_spec.account_lookup or (module.account_lookup if spec.custom else None)
            mappers.append(MapperConfig(mapper, crm_module, tuple(fields), lookup))
        modules.append(ModuleConfig(
            kind, module.active, module.crm_module if spec.custom else spec.crm_module,
            module.account_lookup, tuple(mappers),
        ))
    return SyncConfiguration(
        connection_id=connection_id, organisation_id=organisation_id, version=version,
        zoho_org_id=zoho_org_id, multi_currency=schema.multi_currency,
        home_currency=schema.home_currency, conflict_policy=state.policies.conflict,
        delete_crm_to_alix=state.policies.delete_crm_to_alix,
        delete_alix_to_crm=state.policies.delete_alix_to_crm, modules=tuple(modules),
    )
