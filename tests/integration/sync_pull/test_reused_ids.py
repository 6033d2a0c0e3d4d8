"""A deleted ALIX record's id never names a record the CRM sends later: the sync pairs by id,
so a reused id would hand the new record the old one's outbox rows and link."""

from __future__ import annotations

import asyncio

from alix.customers import contacts
from alix.customers.domain import Actor, NewCustomer, Origin
from alix.customers.service import create_customer, delete_customer
from alix.db.session import unit_of_work
from alix.integrations.zoho_crm.sync.engine.push import push
from tests.integration.sync_pull.conftest import World


def _seed(world: World) -> str:
    [acme] = world.zoho("Accounts", {"Account_Name": "Acme", "Currency": "CAD"})
    world.zoho("Contacts", {"Last_Name": "Smith", "Account_Name": {"id": acme}})
    world.pull(initial=True)
    return acme


def _user(world: World) -> Actor:
    return Actor(world.scope.organisation_id, world.ctx.actor.user_id, Origin.USER)


def test_a_crm_contact_imported_after_an_unpushed_alix_contact_went_is_not_deleted(
    world: World,
) -> None:
    acme = _seed(world)
    customer_id = world.customers()["Acme"].id
    with unit_of_work(world.ctx.sessions) as session:
        temp = contacts.add_contact(session, _user(world), customer_id, {"last_name": "Temp"})
    with unit_of_work(world.ctx.sessions) as session:
        contacts.remove_contact(session, _user(world), temp.id)
    world.clock.advance(60)
    [jones] = world.zoho("Contacts", {"Last_Name": "Jones", "Account_Name": {"id": acme}})
    world.pull()
    [imported] = [c for c in world.contacts() if c.last_name == "Jones"]
    asyncio.run(push(world.ctx))
    assert jones in world.crm.records["Contacts"], "the CRM user's new Contact was deleted"
    assert imported.id != temp.id
    assert {c.last_name for c in world.contacts()} == {"Smith", "Jones"}


def test_contacts_keep_coming_after_the_newest_contact_was_deleted_in_zoho(
    world: World,
) -> None:
    acme = _seed(world)
    [smith] = [str(r["id"]) for r in world.crm.records["Contacts"].values()]
    world.clock.advance(60)
    asyncio.run(world.crm.delete("Contacts", [smith]))
    world.pull()
    assert world.contacts() == []
    world.clock.advance(60)
    world.zoho("Contacts", {"Last_Name": "Jones", "Account_Name": {"id": acme}})
    world.pull()
    world.clock.advance(60)
    world.zoho("Contacts", {"Last_Name": "Brown", "Account_Name": {"id": acme}})
    world.pull()
    assert sorted(c.last_name for c in world.contacts()) == ["Brown", "Jones"]
    assert world.issues() == []


def test_a_new_customer_reaches_zoho_after_the_newest_customer_was_deleted(
    world: World,
) -> None:
    def pushed_names() -> set[str]:
        return {str(r["Account_Name"]) for r in world.crm.records["Accounts"].values()}

    with unit_of_work(world.ctx.sessions) as session:
        gone = create_customer(session, _user(world),
                               NewCustomer({"name": "Gone Ltd", "currency": "CAD"})).id
    asyncio.run(push(world.ctx))
    with unit_of_work(world.ctx.sessions) as session:
        delete_customer(session, _user(world), gone)
    asyncio.run(push(world.ctx))
    assert pushed_names() == set()
    with unit_of_work(world.ctx.sessions) as session:
        create_customer(session, _user(world), NewCustomer({"name": "New Ltd", "currency": "CAD"}))
    asyncio.run(push(world.ctx))
    assert pushed_names() == {"New Ltd"}
