"""Module and field definitions, and their metadata JSON (settings/modules, settings/fields)."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from typing import Any

# json_type per data_type (zoho-crm-api.md 5.2: bigint and autonumber are strings).
JSON_TYPES = {
    "text": "string", "textarea": "string", "email": "string", "phone": "string",
    "website": "string", "picklist": "string", "multiselectpicklist": "jsonarray",
    "integer": "integer", "bigint": "string", "double": "double", "currency": "double",
    "percent": "double", "decimal": "double", "boolean": "boolean", "date": "string",
    "datetime": "string", "lookup": "jsonobject", "ownerlookup": "jsonobject",
    "autonumber": "string",
}
DEFAULT_LENGTHS = {
    "text": 255, "textarea": 32000, "email": 100, "phone": 30, "website": 255, "picklist": 120,
    "integer": 9, "bigint": 18, "double": 16, "currency": 16, "percent": 5, "decimal": 16,
    "boolean": 5, "date": 20, "datetime": 120, "lookup": 120, "ownerlookup": 120,
}
SYSTEM_FIELDS = ("Owner", "Created_By", "Modified_By", "Created_Time", "Modified_Time")


@dataclass
class Field:
    """One field of a module; `lookup` names the target module's api_name for lookups."""

    api_name: str
    label: str
    data_type: str
    id: int
    length: int | None = None
    mandatory: bool = False
    read_only: bool = False
    custom: bool = False
    lookup: str | None = None
    picklist: tuple[str, ...] = ()
    unique: bool = False

    def __post_init__(self) -> None:
        # Interned names keep a million stored record dicts from holding copies of their keys.
        self.api_name = sys.intern(self.api_name)
        if self.length is None:
            self.length = DEFAULT_LENGTHS.get(self.data_type, 255)


@dataclass
class Module:
    """A CRM module; `fields` keeps definition order, `display_field` names records in lookups."""

    api_name: str
    module_name: str
    singular_label: str
    plural_label: str
    id: int
    generated_type: str = "default"
    display_field: str = "Name"
    fields: dict[str, Field] = field(default_factory=dict)
    api_supported: bool = True
    sequence_number: int = 1

    def add(self, f: Field) -> Field:
        self.fields[f.api_name] = f
        return f

    @property
    def scope_name(self) -> str:
        """The module token in scopes: lower-cased for standard modules, api_name for custom."""
        return self.api_name.lower() if self.generated_type == "default" else self.api_name


def module_json(module: Module, modified_time: str, admin: dict[str, str]) -> dict[str, Any]:
    """The `modules[]` entry of GET settings/modules (keys from the v7 sample and SDK)."""
    return {
        "api_name": module.api_name, "module_name": module.module_name,
        "singular_label": module.singular_label, "plural_label": module.plural_label,
        "id": str(module.id), "generated_type": module.generated_type,
        "api_supported": module.api_supported, "creatable": module.api_supported,
        "editable": module.api_supported, "deletable": module.api_supported,
        "viewable": True, "visibility": 1, "status": "visible",
        "recycle_bin_on_delete": True, "show_as_tab": True,
        "sequence_number": module.sequence_number, "convertable": module.api_name == "Leads",
        "quick_create": True, "global_search_supported": module.api_supported,
        "profiles": [{"name": "Administrator", "id": str(module.id + 900)}],
        "modified_time": modified_time, "modified_by": admin, "parent_module": {},
        "business_card_field_limit": 5, "web_link": None, "arguments": [],
        "presence_sub_menu": True, "feeds_required": False, "triggers_supported": True,
        "has_more_profiles": False, "lookup_field_properties": {},
        "description": None, "isBlueprintSupported": True,
    }


def field_json(f: Field, module: Module, modules: dict[str, Module]) -> dict[str, Any]:
    """A complete `fields[]` object: every key of zoho-crm-api.md section 5.2 and a few more."""
    lookup: dict[str, Any] = {}
    if f.lookup is not None:
        target = modules.get(f.lookup)
        lookup = {
            "display_label": f.label, "api_name": f.api_name, "id": str(f.id),
            "module": {"api_name": f.lookup, "id": str(target.id) if target else None},
            "query_details": {}, "revalidate_filter_during_edit": False,
        }
    picklist: list[dict[str, Any]] = [
        {"display_value": v, "actual_value": v, "reference_value": v,
         "id": str(f.id + i + 1), "sequence_number": i + 1, "type": "used",
         "colour_code": None, "maps": []}
        for i, v in enumerate(f.picklist)
    ]
    if f.data_type == "picklist" and f.api_name != "Currency":
        picklist.insert(0, {"display_value": "-None-", "actual_value": "-None-",
                            "reference_value": "-None-", "id": str(f.id), "sequence_number": 0,
                            "type": "used", "colour_code": None, "maps": []})
    system_read_only = f.read_only and not f.custom
    return {
        "api_name": f.api_name, "field_label": f.label, "display_label": f.label,
        "data_type": f.data_type, "json_type": JSON_TYPES.get(f.data_type, "string"),
        "column_name": f.api_name.upper(), "length": f.length, "id": str(f.id),
        "system_mandatory": f.mandatory, "read_only": f.read_only,
        "field_read_only": system_read_only, "custom_field": f.custom,
        "visible": True, "lookup": lookup, "pick_list_values": picklist,
        "unique": {"casesensitive": False} if f.unique else {},
        "decimal_place": 2 if f.data_type in ("currency", "double", "decimal") else None,
        "currency": ({"rounding_option": "normal", "precision": 2}
                     if f.data_type == "currency" else {}),
        "convert_mapping": {}, "profiles": [{"permission_type": "read_write",
                                             "name": "Administrator",
                                             "id": str(module.id + 900)}],
        "operation_type": {"api_create": not f.read_only, "api_update": not f.read_only,
                           "web_create": not f.read_only, "web_update": not f.read_only},
        "ui_type": 1 if f.data_type == "text" else 2, "tooltip": None, "created_source": "default",
        "sequence_number": 1, "multiselectlookup": {}, "formula": {}, "auto_number": {},
        "private": None, "external": None, "crypt": None, "history_tracking": None,
        "hipaa_compliance_enabled": False, "email_parser": {"fields_update_supported": False},
        "mass_update": not f.read_only, "quick_sequence_number": None, "searchable": True,
        "sortable": f.api_name in ("Created_Time", "Modified_Time"), "filterable": True,
        "display_type": -1, "enable_colour_code": False, "pick_list_values_sorted_lexically": False,
        "type": "used", "virtual_field": False, "textarea": (
            {"type": "large"} if f.data_type == "textarea" else None),
    }
