"""Main addresses with both kinds of address module on: the Account's fields are the main
address; a Default record at the same place is that address, any other one an additional
address; Default is written only when a person picks another main address in ALIX."""

from __future__ import annotations

import asyncio
from typing import Any

from alix.customers.addresses import set_main_address, update_address
from alix.customers.service import sync_actor
from alix.db.session import unit_of_work
from alix.integrations.zoho_crm.repository import load_configuration
from alix.integrations.zoho_crm.sync.engine.apply import pull_page
from alix.integrations.zoho_crm.sync.kinds import LinkKind
from alix.integrations.zoho_crm.sync.mapping import crm_fields

from .conftest import World

KING = {"Street": "1 King St W", "City": "Toronto", "Province": "ON",
        "Postal_Code": "M5V 2T6", "Country": "Canada"}
QUEEN = {"Street": "9 Queen St E", "City": "Toronto", "Province": "ON",
         "Postal_Code": "M5C 1S1", "Country": "Canada"}


def _account(world: World, *, shipping: dict[str, str] | None = None) -> str:
    fields = {"Account_Name": "Maple Foods", "Billing_Street": KING["Street"],
              "Billing_City": KING["City"], "Billing_State": "ON",
              "Billing_Code": KING["Postal_Code"], "Billing_Country": "Canada"}
    if shipping:
        fields |= {f"Shipping_{k}": v for k, v in shipping.items()}
    (account,) = world.zoho("Accounts", fields)
    return account


def _record(world: World, module: str, account: str, place: dict[str, str], default: bool,
            name: str) -> str:
    (rid,) = world.zoho(module, {"Name": name, "Account": {"id": account}, "Default": default,
                                 **place})
    return rid


def _no_rejection(world: World) -> None:
    assert [i.message for i in world.open_issues()] == []


def _main(world: World, kind: str) -> list[Any]:
    return [a for a in world.addresses() if a.kind == kind and a.is_main]


def test_a_default_record_at_the_accounts_address_is_that_main_address(world: World) -> None:
    account = _account(world)
    # The same place, written a little differently: equal once normalized.
    same = _record(world, "Billing_Addresses", account,
                   {**KING, "Street": "  1 King St W ", "Country": "CA"}, True, "Head office")
    other = _record(world, "Billing_Addresses", account, QUEEN, False, "Warehouse")
    report = world.pull()
    assert report.counts.get("rejected", 0) == 0, report.counts
    _no_rejection(world)
    (main,) = _main(world, "billing")
    assert world.links("main_billing_address") == {account: main.id}
    assert world.links("billing_address")[same] == main.id
    assert main.label == "Head office"
    extra = world.links("billing_address")[other]
    assert extra != main.id
    assert [a.street for a in world.addresses() if a.id == extra] == ["9 Queen St E"]

    assert world.pull().counts == {}, "a second sync changes nothing"
    world.push()
    assert world.crm.writes == []


def test_a_differing_default_record_is_an_additional_address_and_keeps_its_default(
    world: World,
) -> None:
    account = _account(world)
    differing = _record(world, "Billing_Addresses", account, QUEEN, True, "Old head office")
    # No shipping fields on the Account: its Default shipping record is no main address.
    shipping = _record(world, "Shipping_Addresses", account, QUEEN, True, "Dock")
    world.pull()
    _no_rejection(world)
    (main,) = _main(world, "billing")
    assert main.street == KING["Street"]
    extra_id = world.links("billing_address")[differing]
    (extra,) = [a for a in world.addresses() if a.id == extra_id]
    assert extra.street == QUEEN["Street"] and not extra.is_main
    assert _main(world, "shipping") == []
    assert world.links("shipping_address")[shipping] != main.id
    assert world.pull().counts == {}
    world.push()
    assert world.crm.writes == []

    # A person edits the additional address: its fields go to Zoho, its Default does not.
    with unit_of_work(world.sessions) as session:
        update_address(session, world.actor, extra.id, {"city": "Ottawa"})
    report = world.push()
    assert report.counts.get("failed", 0) == 0, report.counts
    assert world.crm.writes == [("Billing_Addresses", {"City": "Ottawa", "id": differing})]
    assert world.crm.records["Billing_Addresses"][differing]["Default"] is True


def test_a_person_picking_another_main_address_flips_defaults_once(world: World) -> None:
    account = _account(world)
    head = _record(world, "Billing_Addresses", account, KING, True, "Head office")
    store = _record(world, "Billing_Addresses", account, QUEEN, False, "Store")
    world.pull()
    _no_rejection(world)
    store_id = world.links("billing_address")[store]
    with unit_of_work(world.sessions) as session:
        set_main_address(session, world.actor, store_id)
    report = world.push()
    assert report.counts.get("failed", 0) == 0, report.counts
    writes = sorted(world.crm.writes, key=lambda w: (w[0], str(w[1].get("id"))))
    assert writes == sorted([
        ("Accounts", {"id": account, "Billing_Street": QUEEN["Street"],
                      "Billing_Code": QUEEN["Postal_Code"]}),
        ("Billing_Addresses", {"id": head, "Default": False}),
        ("Billing_Addresses", {"id": store, "Default": True}),
    ], key=lambda w: (w[0], str(w[1].get("id"))))
    stored = world.crm.records
    assert stored["Accounts"][account]["Billing_Street"] == QUEEN["Street"]
    assert stored["Billing_Addresses"][head]["Default"] is False
    assert stored["Billing_Addresses"][store]["Default"] is True
    assert world.links("main_billing_address") == {account: store_id}

    world.crm.writes.clear()
    world.push()
    pulled = world.pull()  # our own writes coming back: nothing to do
    world.push()
    assert world.crm.writes == []
    assert pulled.counts.get("updated", 0) == 0, pulled.counts
    (main,) = _main(world, "billing")
    assert main.id == store_id
    _no_rejection(world)


def test_a_default_record_hinted_before_its_account_links_once_the_account_is_in(
    world: World,
) -> None:
    account = _account(world)
    head = _record(world, "Billing_Addresses", account, KING, True, "Head office")
    # A notification brings the custom record first: the Account is not imported yet.
    with unit_of_work(world.sessions) as session:
        config = load_configuration(session, world.scope.connection_id)
        actor = sync_actor(session, world.scope.organisation_id, clock=world.clock)
    records = asyncio.run(world.crm.get_records(
        "Billing_Addresses", [head], crm_fields(config, LinkKind.BILLING)))
    with unit_of_work(world.sessions) as session:
        page = pull_page(session, world.scope, config, actor, records, [LinkKind.BILLING],
                         world.clock())
    assert page.counts["skipped"] == 1
    world.pull()
    (main,) = _main(world, "billing")
    assert world.links("billing_address") == {head: main.id}
    assert len(world.addresses()) == 1
    _no_rejection(world)



def test_deleting_the_default_record_keeps_the_main_address_of_the_account(
    world: World,
) -> None:
    account = _account(world)
    head = _record(world, "Billing_Addresses", account, KING, True, "Head office")
    world.pull()
    (main,) = _main(world, "billing")
    asyncio.run(world.crm.delete("Billing_Addresses", [head]))
    world.pull()
    # The Account's fields still hold it: only the custom record's pair is gone.
    assert [a.id for a in _main(world, "billing")] == [main.id]
    assert world.links("main_billing_address") == {account: main.id}
    world.push()
    assert world.crm.writes == []
