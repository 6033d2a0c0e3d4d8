"""The REST API's request and response models, generated from the field catalog.

Types and documentation come from the catalog; the rules (length, format, currency) are the
service's, so the API and the forms give the same field-level messages.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, create_model
from pydantic import Field as Doc

from alix.customers.fields import Entity, Field, fields_of
from alix.db.base import MAX_ID


def _doc(f: Field) -> dict[str, Any]:
    extra: dict[str, Any] = {"x-alix-type": f.type.value}
    if f.max_length is not None:
        extra["maxLength"] = f.max_length
    if f.choices:
        extra["enum"] = list(f.choice_values)
    return {"description": f"{f.label}. {f.help}".strip(), "json_schema_extra": extra}


def _input(entity: Entity, name: str, *, partial: bool, **more: Any) -> type[BaseModel]:
    definitions: dict[str, Any] = {}
    for f in fields_of(entity):
        kind: Any = bool if f.is_boolean else str
        if f.required and not partial:
            definitions[f.name] = (kind, Doc(..., **_doc(f)))
        else:
            definitions[f.name] = (kind | None, Doc(None, **_doc(f)))
    definitions.update(more)
    return create_model(name, __config__=ConfigDict(extra="forbid"), **definitions)


def _output(entity: Entity, name: str, **more: Any) -> type[BaseModel]:
    definitions: dict[str, Any] = {"id": (int, ...)}
    for f in fields_of(entity):
        kind: Any = bool if f.is_boolean else str
        definitions[f.name] = (kind if f.required or f.is_boolean else kind | None,
                               Doc(..., **_doc(f)))
    definitions.update(more)
    definitions.update({"version": (int, ...), "created_at": (datetime, ...),
                        "updated_at": (datetime, ...)})
    return create_model(name, **definitions)


_VERSION = (int | None, Doc(None, ge=0, le=MAX_ID,
                             description="The version you edited; a newer one is a 409."))

if TYPE_CHECKING:
    ContactIn = BaseModel
    ContactPatch = BaseModel
    AddressIn = BaseModel
    AddressPatch = BaseModel
    CustomerIn = BaseModel
    CustomerPatch = BaseModel
    ContactOut = BaseModel
    AddressOut = BaseModel
    CustomerOut = BaseModel
    CustomerDetail = BaseModel
else:
    ContactIn = _input(Entity.CONTACT, "ContactIn", partial=False)
    ContactPatch = _input(Entity.CONTACT, "ContactPatch", partial=True, version=_VERSION)
    AddressIn = _input(Entity.ADDRESS, "AddressIn", partial=False)
    AddressPatch = _input(Entity.ADDRESS, "AddressPatch", partial=True, version=_VERSION)
    CustomerIn = _input(
        Entity.CUSTOMER, "CustomerIn", partial=False,
        contacts=(list[ContactIn], Doc(default_factory=list)),
        addresses=(list[AddressIn], Doc(default_factory=list)),
    )
    CustomerPatch = _input(Entity.CUSTOMER, "CustomerPatch", partial=True, version=_VERSION)
    ContactOut = _output(Entity.CONTACT, "ContactOut", customer_id=(int, ...))
    AddressOut = _output(
        Entity.ADDRESS, "AddressOut", customer_id=(int, ...),
        country_name=(str, Doc(..., description="The country's name for people.")),
        province_name=(str, Doc(..., description="The province's name for people.")),
    )
    CustomerOut = _output(Entity.CUSTOMER, "CustomerOut")
    CustomerDetail = _output(
        Entity.CUSTOMER, "CustomerDetail",
        contacts=(list[ContactOut], ...), addresses=(list[AddressOut], ...),
    )


class CustomerList(BaseModel):
    """A page of customers; pass next_cursor as `cursor` for the next one (null at the end)."""

    items: list[CustomerOut]
    next_cursor: str | None


class MoveContact(BaseModel):
    """Where a contact person moves to."""

    model_config = ConfigDict(extra="forbid")
    customer_id: int = Doc(ge=1, le=MAX_ID, description="The customer the contact person moves to.")
