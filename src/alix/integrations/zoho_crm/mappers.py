"""The five synchronised modules and their field mappers: what each maps and requires (pure)."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from alix.customers.fields import Entity, fields_of
from alix.customers.fields import Field as AlixField


class ModuleKind(enum.StrEnum):
    """A module of the integration (not a CRM module: Customers is the CRM's Accounts)."""

    CUSTOMERS = "customers"
    MAIN_BILLING = "main_billing_address"
    MAIN_SHIPPING = "main_shipping_address"
    BILLING = "billing_addresses"
    SHIPPING = "shipping_addresses"


class MapperKind(enum.StrEnum):
    """A field mapper; Customers has two (customer and contact person), the others one."""

    CUSTOMER = "customer"
    CONTACT = "contact_person"
    MAIN_BILLING = "main_billing_address"
    MAIN_SHIPPING = "main_shipping_address"
    BILLING = "billing_addresses"
    SHIPPING = "shipping_addresses"


ADDRESS_REQUIRED = ("street", "city", "country", "province", "postal_code")


@dataclass(frozen=True)
class MapperSpec:
    """What one mapper maps: ALIX entity, CRM module, fixed pairs and required fields."""

    kind: MapperKind
    label: str
    module: ModuleKind
    entity: Entity
    crm_module: str | None  # None: the CRM module the user chose for the module
    fixed: tuple[tuple[str, str], ...] = ()  # preconfigured, neither editable nor deletable
    mandatory_alix: tuple[str, ...] = ()  # added by the user, then never deletable
    required_alix: tuple[str, ...] = ()
    required_crm: tuple[str, ...] = ()
    excluded_alix: tuple[str, ...] = ()
    suggestions: dict[str, str] = field(default_factory=dict)  # ALIX field -> CRM field
    # The lookup that ties a record of crm_module to its Account, when it is fixed; the
    # custom-module mappers use the lookup chosen for their module instead.
    account_lookup: str | None = None

    def alix_fields(self) -> tuple[AlixField, ...]:
        return tuple(f for f in fields_of(self.entity) if f.name not in self.excluded_alix)

    def alix_field(self, name: str | None) -> AlixField | None:
        for candidate in self.alix_fields():
            if candidate.name == name:
                return candidate
        return None

    def is_fixed(self, alix_field: str | None) -> bool:
        return any(alix == alix_field for alix, _crm in self.fixed)

    def is_mandatory(self, alix_field: str | None) -> bool:
        """Fixed rows and the rows the user must add (Currency): they have no X."""
        return self.is_fixed(alix_field) or alix_field in self.mandatory_alix

    def is_required(self, alix_field: str | None, crm_field: str | None) -> bool:
        """Rows the module cannot be active without: locked while it is active."""
        return (
            self.is_mandatory(alix_field)
            or alix_field in self.required_alix
            or crm_field in self.required_crm
        )

    @property
    def required_labels(self) -> tuple[str, ...]:
        names = [a for a, _c in self.fixed] + list(self.mandatory_alix) + list(self.required_alix)
        labels = [f.label for n in names if (f := self.alix_field(n)) is not None]
        return tuple(labels) + self.required_crm


@dataclass(frozen=True)
class ModuleSpec:
    """One module of the integration: its label, mappers and whether its CRM module is chosen."""

    kind: ModuleKind
    label: str
    mappers: tuple[MapperKind, ...]
    crm_module: str | None  # None: a custom module picked in the dropdown

    @property
    def custom(self) -> bool:
        return self.crm_module is None

    @property
    def is_address(self) -> bool:
        return self.kind is not ModuleKind.CUSTOMERS


def _main_address(kind: MapperKind, label: str, prefix: str, module: ModuleKind) -> MapperSpec:
    # Accounts' standard address fields (zoho-crm-api.md 5.3): State and Code, not Province.
    return MapperSpec(
        kind, f"{label} field mapper", module, Entity.ADDRESS, "Accounts",
        required_alix=ADDRESS_REQUIRED,
        # The main address is the main one by definition: "Is main address" is not offered.
        excluded_alix=("kind", "is_main"),
        suggestions={"street": f"{prefix}_Street", "city": f"{prefix}_City",
                     "province": f"{prefix}_State", "postal_code": f"{prefix}_Code",
                     "country": f"{prefix}_Country"},
    )


def _address_list(kind: MapperKind, label: str, module: ModuleKind) -> MapperSpec:
    return MapperSpec(
        kind, f"{label} field mapper", module, Entity.ADDRESS, None,
        required_alix=(*ADDRESS_REQUIRED, "is_main"),
        # Name is system mandatory in every custom module (zoho-crm-api.md 4.3).
        required_crm=("Name",),
        excluded_alix=("kind",),
        suggestions={"street": "Street", "city": "City", "province": "Province",
                     "postal_code": "Postal_Code", "country": "Country", "is_main": "Default",
                     "label": "Name"},
    )


MAPPERS: dict[MapperKind, MapperSpec] = {
    spec.kind: spec
    for spec in (
        MapperSpec(
            MapperKind.CUSTOMER, "Customer field mapper", ModuleKind.CUSTOMERS, Entity.CUSTOMER,
            "Accounts", fixed=(("name", "Account_Name"),), mandatory_alix=("currency",),
            suggestions={"currency": "Currency", "website": "Website", "phone": "Phone"},
        ),
        MapperSpec(
            MapperKind.CONTACT, "Customer contact person field mapper", ModuleKind.CUSTOMERS,
            Entity.CONTACT, "Contacts", fixed=(("email", "Email"), ("last_name", "Last_Name")),
            suggestions={"first_name": "First_Name", "phone": "Phone", "mobile": "Mobile",
                         "title": "Title"},
            # Contacts' standard lookup to Accounts (zoho-crm-api.md 5.3).
            account_lookup="Account_Name",
        ),
        _main_address(MapperKind.MAIN_BILLING, "Main billing address", "Billing",
                      ModuleKind.MAIN_BILLING),
        _main_address(MapperKind.MAIN_SHIPPING, "Main shipping address", "Shipping",
                      ModuleKind.MAIN_SHIPPING),
        _address_list(MapperKind.BILLING, "Billing address", ModuleKind.BILLING),
        _address_list(MapperKind.SHIPPING, "Shipping address", ModuleKind.SHIPPING),
    )
}

MODULES: dict[ModuleKind, ModuleSpec] = {
    spec.kind: spec
    for spec in (
        ModuleSpec(ModuleKind.CUSTOMERS, "Customers",
                   (MapperKind.CUSTOMER, MapperKind.CONTACT), "Accounts"),
        ModuleSpec(ModuleKind.MAIN_BILLING, "Main billing address",
                   (MapperKind.MAIN_BILLING,), "Accounts"),
        ModuleSpec(ModuleKind.MAIN_SHIPPING, "Main shipping address",
                   (MapperKind.MAIN_SHIPPING,), "Accounts"),
        ModuleSpec(ModuleKind.BILLING, "Billing addresses", (MapperKind.BILLING,), None),
        ModuleSpec(ModuleKind.SHIPPING, "Shipping addresses", (MapperKind.SHIPPING,), None),
    )
}
