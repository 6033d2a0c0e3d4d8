"""A real SyncConfiguration for the sync core's tests, built from config.py's own dataclasses."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from alix.integrations.zoho_crm.client.wire import Record
from alix.integrations.zoho_crm.config import (
    MappedField,
    MapperConfig,
    ModuleConfig,
    SyncConfiguration,
)
from alix.integrations.zoho_crm.mappers import MapperKind, ModuleKind
from alix.integrations.zoho_crm.rules import ConflictPolicy, DeletePolicy, Direction

B, R = Direction.BOTH, Direction.CRM_TO_ALIX
T0 = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)


def _rows(*rows: tuple[str, str, str, str, Direction]) -> tuple[MappedField, ...]:
    return tuple(MappedField(a, c, d, at, ct, None) for a, c, at, ct, d in rows)


def _address(prefix: str, state: str) -> tuple[MappedField, ...]:
    return _rows(
        ("street", f"{prefix}Street", "long_text", "textarea", B),
        ("city", f"{prefix}City", "text", "text", B),
        ("province", f"{prefix}{state}", "subdivision", "text", B),
        ("postal_code", f"{prefix}Code" if prefix else "Postal_Code", "text", "text", B),
        ("country", f"{prefix}Country", "country", "text", B),
    )


def configuration(
    *,
    policy: ConflictPolicy = ConflictPolicy.ASK,
    inactive: tuple[ModuleKind, ...] = (ModuleKind.SHIPPING,),
    delete_alix_to_crm: DeletePolicy = DeletePolicy.DELETE,
    currency_field: str = "Currency",
) -> SyncConfiguration:
    customer = _rows(
        ("name", "Account_Name", "text", "text", B),
        ("currency", currency_field, "currency", "picklist", B),
        ("website", "Website", "url", "website", B),
        ("phone", "Phone", "phone", "phone", B),
        ("notes", "Description", "long_text", "textarea", R),
    )
    contact = _rows(
        ("email", "Email", "email", "email", B),
        ("last_name", "Last_Name", "text", "text", B),
        ("first_name", "First_Name", "text", "text", B),
        ("phone", "Phone", "phone", "phone", B),
    )
    custom = (*_address("", "Province"),
              *_rows(("is_main", "Default", "boolean", "boolean", B),
                     ("label", "Name", "text", "text", B)))

    def module(kind: ModuleKind, crm: str, mappers: tuple[MapperConfig, ...],
               lookup: str | None = None) -> ModuleConfig:
        return ModuleConfig(kind, kind not in inactive, crm, lookup, mappers)

    return SyncConfiguration(
        connection_id=1, organisation_id=1, version=3, zoho_org_id="org1",
        multi_currency=True, home_currency="CAD", conflict_policy=policy,
        delete_crm_to_alix=DeletePolicy.MARK_INACTIVE, delete_alix_to_crm=delete_alix_to_crm,
        modules=(
            module(ModuleKind.CUSTOMERS, "Accounts", (
                MapperConfig(MapperKind.CUSTOMER, "Accounts", customer),
                MapperConfig(MapperKind.CONTACT, "Contacts", contact))),
            module(ModuleKind.MAIN_BILLING, "Accounts", (
                MapperConfig(MapperKind.MAIN_BILLING, "Accounts",
                             _address("Billing_", "State")),)),
            module(ModuleKind.MAIN_SHIPPING, "Accounts", (
                MapperConfig(MapperKind.MAIN_SHIPPING, "Accounts",
                             _address("Shipping_", "State")),)),
            module(ModuleKind.BILLING, "Billing_Addresses", (
                MapperConfig(MapperKind.BILLING, "Billing_Addresses", custom),), "Account"),
            module(ModuleKind.SHIPPING, "Shipping_Addresses", (
                MapperConfig(MapperKind.SHIPPING, "Shipping_Addresses", custom),), "Account"),
        ),
    )


def record(record_id: str, fields: Mapping[str, Any] | None = None, *,
           modified: datetime = T0, **values: Any) -> Record:
    """A Zoho record as the client returns it."""
    data = {"id": record_id, "Modified_Time": modified.isoformat(), **(fields or {}), **values}
    return Record.from_json(data)


def account(record_id: str, name: str | None = "Acme", fields: Mapping[str, Any] | None = None,
            *, modified: datetime = T0, **values: Any) -> Record:
    return record(record_id, {"Account_Name": name, "Currency": "CAD", **(fields or {})},
                  modified=modified, **values)
