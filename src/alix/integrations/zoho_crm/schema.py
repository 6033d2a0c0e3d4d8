"""A snapshot of the CRM's metadata as the field mappers see it, and type compatibility (pure)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

# Stands for "the org's home currency, fixed" in orgs without multi-currency, where Accounts
# has no Currency field at all (zoho-crm-api.md 5.6). No Zoho API name starts with "@".
HOME_CURRENCY = "@home_currency"

# ALIX field type (alix.customers.fields.FieldType values) -> the family it belongs to.
_ALIX_FAMILY: dict[str, str] = {
    "text": "text", "long_text": "text", "email": "text", "phone": "text", "url": "text",
    "picklist": "text", "country": "text", "subdivision": "text",
    "currency": "currency_code",
    "boolean": "boolean",
    "integer": "number", "decimal": "number", "number": "number", "money": "number",
    "date": "date", "datetime": "datetime",
}

# CRM data_type (doc 5.2) -> the ALIX families it may hold. Lookups, formulas, autonumbers,
# multi-selects and files have no ALIX counterpart, so they are never offered.
_CRM_ACCEPTS: dict[str, frozenset[str]] = {
    "text": frozenset({"text", "currency_code"}),
    "textarea": frozenset({"text"}),
    "email": frozenset({"text"}),
    "phone": frozenset({"text"}),
    "website": frozenset({"text"}),
    "picklist": frozenset({"text", "currency_code"}),
    "integer": frozenset({"number"}),
    "bigint": frozenset({"number"}),
    "double": frozenset({"number"}),
    "decimal": frozenset({"number"}),
    "currency": frozenset({"number"}),
    "percent": frozenset({"number"}),
    "boolean": frozenset({"boolean"}),
    "date": frozenset({"date"}),
    "datetime": frozenset({"datetime"}),
    "home_currency": frozenset({"currency_code"}),
}


def compatible(alix_type: str, crm_data_type: str) -> bool:
    """True when a value of the ALIX type can live in a CRM field of that data type."""
    family = _ALIX_FAMILY.get(alix_type)
    return family is not None and family in _CRM_ACCEPTS.get(crm_data_type, frozenset())


@dataclass(frozen=True)
class CrmField:
    """One CRM field as the mappers need it; keyed on api_name, shown with its label."""

    api_name: str
    label: str
    data_type: str
    length: int | None = None
    read_only: bool = False
    system_mandatory: bool = False
    lookup_module: str | None = None
    picklist: tuple[str, ...] = ()

    @property
    def mappable(self) -> bool:
        return self.data_type in _CRM_ACCEPTS

    def to_json(self) -> dict[str, Any]:
        return {
            "api_name": self.api_name, "label": self.label, "data_type": self.data_type,
            "length": self.length, "read_only": self.read_only,
            "system_mandatory": self.system_mandatory, "lookup_module": self.lookup_module,
            "picklist": list(self.picklist),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> CrmField:
        length = data.get("length")
        return cls(
            api_name=str(data["api_name"]), label=str(data.get("label") or data["api_name"]),
            data_type=str(data.get("data_type") or "text"),
            length=int(length) if isinstance(length, int) else None,
            read_only=bool(data.get("read_only")),
            system_mandatory=bool(data.get("system_mandatory")),
            lookup_module=data.get("lookup_module") or None,
            picklist=tuple(str(v) for v in data.get("picklist") or ()),
        )


@dataclass(frozen=True)
class CrmModule:
    """A CRM module and its fields, in the order Zoho lists them."""

    api_name: str
    label: str
    custom: bool
    fields: tuple[CrmField, ...] = ()

    def field(self, api_name: str | None) -> CrmField | None:
        for candidate in self.fields:
            if candidate.api_name == api_name:
                return candidate
        return None

    @property
    def account_lookups(self) -> tuple[CrmField, ...]:
        """The lookup fields pointing at Accounts (an address module's link to its customer)."""
        return tuple(f for f in self.fields if f.data_type == "lookup"
                     and f.lookup_module == "Accounts")

    def to_json(self) -> dict[str, Any]:
        return {"api_name": self.api_name, "label": self.label, "custom": self.custom,
                "fields": [f.to_json() for f in self.fields]}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> CrmModule:
        return cls(
            api_name=str(data["api_name"]), label=str(data.get("label") or data["api_name"]),
            custom=bool(data.get("custom")),
            fields=tuple(CrmField.from_json(f) for f in data.get("fields") or ()),
        )


@dataclass(frozen=True)
class CrmSchema:
    """What ALIX knows of the connected org: modules with fields, and its currency setup."""

    modules: tuple[CrmModule, ...]
    multi_currency: bool
    home_currency: str

    def module(self, api_name: str | None) -> CrmModule | None:
        for candidate in self.modules:
            if candidate.api_name == api_name:
                return candidate
        return None

    def field(self, module: str | None, api_name: str | None) -> CrmField | None:
        """A field of a module; the home-currency stand-in when the org has no multi-currency."""
        if api_name == HOME_CURRENCY and not self.multi_currency:
            return self.home_currency_field
        found = self.module(module)
        return None if found is None else found.field(api_name)

    @property
    def home_currency_field(self) -> CrmField:
        return CrmField(HOME_CURRENCY, f"Home currency ({self.home_currency}, fixed)",
                        "home_currency", read_only=True)

    @property
    def address_modules(self) -> tuple[CrmModule, ...]:
        """Custom modules with at least one lookup to Accounts: the only ones that can hold
        a customer's extra addresses."""
        return tuple(m for m in self.modules if m.custom and m.account_lookups)

    def to_json(self) -> dict[str, Any]:
        return {"modules": [m.to_json() for m in self.modules],
                "multi_currency": self.multi_currency, "home_currency": self.home_currency}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> CrmSchema:
        return cls(
            modules=tuple(CrmModule.from_json(m) for m in data.get("modules") or ()),
            multi_currency=bool(data.get("multi_currency")),
            home_currency=str(data.get("home_currency") or ""),
        )
