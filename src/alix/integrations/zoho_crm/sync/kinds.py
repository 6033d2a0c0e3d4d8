"""The six kinds of synced pair (link kinds) and where each lives on both sides (pure)."""

from __future__ import annotations

import enum

from alix.customers.fields import Entity
from alix.integrations.zoho_crm.mappers import MapperKind, ModuleKind

# Contacts' standard lookup to their Account (zoho-crm-api.md 5.3); not configurable in Zoho.
CONTACT_ACCOUNT_LOOKUP = "Account_Name"
# A contact's Account as a synced value: the Zoho Account id of its ALIX customer on one side,
# its Account lookup on the other. Merged like a field (so a move on either side reaches the
# other, and moves on both are a conflict the policy settles), never written as an ALIX field.
ACCOUNT = "@account"


class LinkKind(enum.StrEnum):
    """What a link pairs; the main addresses are address rows in ALIX but Account fields in Zoho."""

    CUSTOMER = "customer"
    CONTACT = "contact"
    MAIN_BILLING = "main_billing_address"
    MAIN_SHIPPING = "main_shipping_address"
    BILLING = "billing_address"
    SHIPPING = "shipping_address"

    @property
    def mapper(self) -> MapperKind:
        return _MAPPER[self]

    @property
    def module(self) -> ModuleKind:
        return _MODULE[self]

    @property
    def entity(self) -> Entity:
        return _ENTITY[self]

    @property
    def on_account(self) -> bool:
        """Kinds whose Zoho record is the Account itself (its Zoho id is the Account's id)."""
        return self in (LinkKind.CUSTOMER, LinkKind.MAIN_BILLING, LinkKind.MAIN_SHIPPING)

    @property
    def is_main_address(self) -> bool:
        return self in (LinkKind.MAIN_BILLING, LinkKind.MAIN_SHIPPING)

    @property
    def address_kind(self) -> str | None:
        """The ALIX address `kind` value of address link kinds."""
        return _ADDRESS_KIND.get(self)

    @property
    def rank(self) -> int:
        """Parents before children: Accounts, then what hangs off them."""
        return _RANK[self]


_MAPPER = {
    LinkKind.CUSTOMER: MapperKind.CUSTOMER,
    LinkKind.CONTACT: MapperKind.CONTACT,
    LinkKind.MAIN_BILLING: MapperKind.MAIN_BILLING,
    LinkKind.MAIN_SHIPPING: MapperKind.MAIN_SHIPPING,
    LinkKind.BILLING: MapperKind.BILLING,
    LinkKind.SHIPPING: MapperKind.SHIPPING,
}
_MODULE = {
    LinkKind.CUSTOMER: ModuleKind.CUSTOMERS,
    LinkKind.CONTACT: ModuleKind.CUSTOMERS,
    LinkKind.MAIN_BILLING: ModuleKind.MAIN_BILLING,
    LinkKind.MAIN_SHIPPING: ModuleKind.MAIN_SHIPPING,
    LinkKind.BILLING: ModuleKind.BILLING,
    LinkKind.SHIPPING: ModuleKind.SHIPPING,
}
_ENTITY = {
    LinkKind.CUSTOMER: Entity.CUSTOMER,
    LinkKind.CONTACT: Entity.CONTACT,
    LinkKind.MAIN_BILLING: Entity.ADDRESS,
    LinkKind.MAIN_SHIPPING: Entity.ADDRESS,
    LinkKind.BILLING: Entity.ADDRESS,
    LinkKind.SHIPPING: Entity.ADDRESS,
}
_ADDRESS_KIND = {
    LinkKind.MAIN_BILLING: "billing",
    LinkKind.MAIN_SHIPPING: "shipping",
    LinkKind.BILLING: "billing",
    LinkKind.SHIPPING: "shipping",
}
_RANK = {
    LinkKind.CUSTOMER: 0,
    LinkKind.MAIN_BILLING: 1,
    LinkKind.MAIN_SHIPPING: 1,
    LinkKind.CONTACT: 2,
    LinkKind.BILLING: 2,
    LinkKind.SHIPPING: 2,
}


def address_link_kinds(kind: str | None, is_main: bool) -> tuple[LinkKind, ...]:
    """The link kinds an ALIX address can take part in, whichever modules are active.

    A main billing address is both the Account's Billing_* fields and, when the Billing addresses
    module is on, the record of the custom module whose Default is checked.
    """
    if kind == "billing":
        return (LinkKind.MAIN_BILLING, LinkKind.BILLING) if is_main else (LinkKind.BILLING,)
    if kind == "shipping":
        return (LinkKind.MAIN_SHIPPING, LinkKind.SHIPPING) if is_main else (LinkKind.SHIPPING,)
    return ()
