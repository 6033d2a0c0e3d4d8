"""SQLAlchemy <-> the rules' values: connections, module states and mapping rows."""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from alix.errors import NotFound

from . import config
from .mappers import MapperKind, ModuleKind
from .rules import (
    ConflictPolicy,
    DeletePolicy,
    Direction,
    IntegrationState,
    ModuleState,
    Policies,
    Row,
    initial_state,
)
from .schema import CrmSchema
from .tables import CONNECTED, ZohoConnection, ZohoFieldMapping, ZohoModule


def connection_of(session: Session, organisation_id: int) -> ZohoConnection | None:
    """The organisation's connection row in any status, or None."""
    return session.scalar(
        select(ZohoConnection).where(ZohoConnection.organisation_id == organisation_id)
    )


def connected(
    session: Session, organisation_id: int, *, for_update: bool = False
) -> ZohoConnection:
    """The organisation's live connection; NotFound when it has none (or another org asks)."""
    query = select(ZohoConnection).where(
        ZohoConnection.organisation_id == organisation_id, ZohoConnection.status == CONNECTED
    )
    if for_update:
        query = query.with_for_update()
    found = session.scalar(query)
    if found is None:
        raise NotFound("Zoho CRM is not connected for this organisation.")
    return found


def schema_of(connection: ZohoConnection) -> CrmSchema:
    return CrmSchema.from_json(connection.crm_schema or {})


def load_state(session: Session, connection: ZohoConnection) -> IntegrationState:
    modules = {
        ModuleKind(m.kind): ModuleState(ModuleKind(m.kind), m.active, m.crm_module,
                                        m.account_lookup)
        for m in session.scalars(
            select(ZohoModule).where(ZohoModule.connection_id == connection.id)
        )
    }
    rows = tuple(
        Row(r.id, MapperKind(r.mapper), r.alix_field, r.crm_field, Direction(r.direction))
        for r in session.scalars(
            select(ZohoFieldMapping)
            .where(ZohoFieldMapping.connection_id == connection.id)
            .order_by(ZohoFieldMapping.id)
        )
    )
    policies = Policies(
        ConflictPolicy(connection.conflict_policy),
        DeletePolicy(connection.delete_crm_to_alix),
        DeletePolicy(connection.delete_alix_to_crm),
    )
    return IntegrationState(modules, rows, policies)


def create_configuration(session: Session, connection: ZohoConnection) -> None:
    """The first configuration of a connection: modules off, preconfigured rows, defaults."""
    state = initial_state()
    connection.conflict_policy = state.policies.conflict.value
    connection.delete_crm_to_alix = state.policies.delete_crm_to_alix.value
    connection.delete_alix_to_crm = state.policies.delete_alix_to_crm.value
    for module in state.modules.values():
        session.add(ZohoModule(connection_id=connection.id, kind=module.kind.value,
                               active=False))
    for row in state.rows:
        insert_row(session, connection, row)


def delete_configuration(session: Session, connection: ZohoConnection) -> None:
    """Every module and mapping row of a connection (the connection row itself stays)."""
    session.execute(delete(ZohoFieldMapping).where(
        ZohoFieldMapping.connection_id == connection.id))
    session.execute(delete(ZohoModule).where(ZohoModule.connection_id == connection.id))


def has_configuration(session: Session, connection: ZohoConnection) -> bool:
    return session.scalar(
        select(ZohoModule.id).where(ZohoModule.connection_id == connection.id).limit(1)
    ) is not None


def save_module(session: Session, connection: ZohoConnection, module: ModuleState) -> None:
    row = session.scalar(select(ZohoModule).where(
        ZohoModule.connection_id == connection.id, ZohoModule.kind == module.kind.value
    ))
    if row is None:
        row = ZohoModule(connection_id=connection.id, kind=module.kind.value)
        session.add(row)
    row.active = module.active
    row.crm_module = module.crm_module
    row.account_lookup = module.account_lookup
    bump(connection)


def insert_row(session: Session, connection: ZohoConnection, row: Row) -> Row:
    stored = ZohoFieldMapping(connection_id=connection.id, mapper=row.mapper.value,
                              alix_field=row.alix_field, crm_field=row.crm_field,
                              direction=row.direction.value)
    session.add(stored)
    session.flush()
    bump(connection)
    return Row(stored.id, row.mapper, row.alix_field, row.crm_field, row.direction)


def update_row(session: Session, connection: ZohoConnection, row: Row) -> None:
    stored = _row(session, connection, row.id)
    stored.alix_field = row.alix_field
    stored.crm_field = row.crm_field
    stored.direction = row.direction.value
    bump(connection)


def delete_row(session: Session, connection: ZohoConnection, row_id: int) -> None:
    _row(session, connection, row_id)
    session.execute(delete(ZohoFieldMapping).where(ZohoFieldMapping.id == row_id))
    bump(connection)


def save_policies(connection: ZohoConnection, policies: Policies) -> None:
    connection.conflict_policy = policies.conflict.value
    connection.delete_crm_to_alix = policies.delete_crm_to_alix.value
    connection.delete_alix_to_crm = policies.delete_alix_to_crm.value
    bump(connection)


def bump(connection: ZohoConnection) -> None:
    """A new configuration version: the sync notices and re-reads (config.py)."""
    connection.config_version = (connection.config_version or 0) + 1


def _row(session: Session, connection: ZohoConnection, row_id: int | None) -> ZohoFieldMapping:
    stored = session.get(ZohoFieldMapping, row_id) if row_id is not None else None
    if stored is None or stored.connection_id != connection.id:
        raise NotFound(f"There is no mapping row {row_id}.")
    return stored


def load_configuration(session: Session, connection_id: int) -> config.SyncConfiguration:
    """The configuration of a connection as stored now; NotFound if there is none."""
    connection = session.get(ZohoConnection, connection_id)
    if connection is None or not has_configuration(session, connection):
        raise NotFound(f"Zoho CRM connection {connection_id} has no configuration.")
    return config.build(
        connection_id=connection.id, organisation_id=connection.organisation_id,
        version=connection.config_version, zoho_org_id=connection.zoho_org_id,
        state=load_state(session, connection),
        schema=schema_of(connection),
    )
