"""The sync imports children through the customer master, whose flag rule it cannot bypass: a
Default record never makes a second main address of its kind, from the same page or against
one a person chose in ALIX."""

from __future__ import annotations

from alix.customers.addresses import add_address
from alix.db.session import unit_of_work
from alix.integrations.zoho_crm import service
from alix.integrations.zoho_crm.mappers import ModuleKind

from .conftest import World

DOCK = {"Street": "1 Dock Rd", "City": "Halifax", "Province": "NS", "Postal_Code": "B3H 1A1",
        "Country": "Canada"}


def _main_shipping(world: World) -> list[str]:
    return [a.city for a in world.addresses() if a.kind == "shipping" and a.is_main]


def test_default_records_never_make_a_second_main_shipping_address(world: World) -> None:
    # With the Account's shipping fields off, the custom module's Default decides the main one.
    with unit_of_work(world.sessions) as session:
        service.update_module(session, world.scope.organisation_id, ModuleKind.MAIN_SHIPPING,
                              {"active": False})
    (account,) = world.zoho("Accounts", {"Account_Name": "Maple Foods"})
    for name, city in (("Dock", "Halifax"), ("Yard", "Moncton")):
        world.zoho("Shipping_Addresses", {"Name": name, "Account": {"id": account},
                                          "Default": True, **DOCK, "City": city})
    report = world.pull()
    assert _main_shipping(world) == ["Halifax"]
    assert report.counts.get("rejected") == 1, report.counts
    [issue] = [i.message for i in world.open_issues()]
    assert "already has a main shipping address" in issue, issue

    # A person's main address stays main when a later Default record arrives.
    customer_id = world.links("customer")[account]
    with unit_of_work(world.sessions) as session:
        mine = add_address(session, world.actor, customer_id, {
            "kind": "shipping", "is_main": True, "city": "Truro"}, replace_main=True)
    world.zoho("Shipping_Addresses", {"Name": "Pier", "Account": {"id": account},
                                      "Default": True, **DOCK, "City": "Sydney"})
    world.pull()
    assert _main_shipping(world) == ["Truro"]
    assert mine.is_main
    messages = [i.message for i in world.open_issues()]
    assert any(f"already has a main shipping address (address {mine.id})" in m
               for m in messages), messages
