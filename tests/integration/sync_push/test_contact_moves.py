"""A contact moved to another customer, on either side, moves on the other; moves on both
sides are a conflict the policy settles; a move to an Account ALIX does not have waits."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from sqlalchemy.orm import Session, sessionmaker

from alix.customers import repository as repo
from alix.customers.contacts import move_contact, update_contact
from alix.customers.domain import NewCustomer
from alix.customers.service import create_customer
from alix.db.session import unit_of_work
from alix.integrations.zoho_crm.client import ZohoCrm
from alix.integrations.zoho_crm.client.fake import FakeZohoCrm
from alix.integrations.zoho_crm.rules import ConflictPolicy
from alix.integrations.zoho_crm.sync.engine.context import open_context
from alix.integrations.zoho_crm.sync.engine.pull import run_pull
from alix.integrations.zoho_crm.sync.engine.resolve import Keep, keep_side
from alix.integrations.zoho_crm.sync.store.issues import open_issues
from alix.integrations.zoho_crm.tables import ZohoConnection

from .conftest import Clock, World, connect

pytestmark = pytest.mark.anyio


async def _pull(world: World) -> None:
    @asynccontextmanager
    async def factory(_connection: ZohoConnection) -> AsyncIterator[ZohoCrm]:
        yield world.crm

    world.clock.tick()
    async with open_context(world.sessions, world.scope.connection_id, factory,
                            world.clock) as ctx:
        await run_pull(ctx)
    world.clock.tick()


async def _two_customers(world: World) -> tuple[int, int, int, str, str, str]:
    """Acme (with Ada) and Globex, pushed and pulled once: everything linked."""
    with unit_of_work(world.sessions) as session:
        acme = create_customer(session, world.actor, NewCustomer(
            {"name": "Acme", "currency": "CAD"},
            contacts=[{"first_name": "Ada", "last_name": "Lovelace"}]), clock=world.clock)
        globex = create_customer(session, world.actor, NewCustomer(
            {"name": "Globex", "currency": "CAD"}), clock=world.clock)
        [ada] = repo.contacts_of(session, world.actor.organisation_id, acme.id)
    await world.push()
    await _pull(world)
    fake = world.crm
    assert isinstance(fake, FakeZohoCrm)
    accounts = {a["Account_Name"]: a["id"] for a in fake.records["Accounts"].values()}
    [contact] = fake.records["Contacts"]
    return acme.id, globex.id, ada.id, accounts["Acme"], accounts["Globex"], contact


def _customer_of(world: World, contact_id: int) -> int:
    with unit_of_work(world.sessions) as session:
        return repo.get_contact(session, world.actor.organisation_id, contact_id).customer_id


async def test_a_contact_a_crm_user_moved_moves_in_alix(world: World, fake: FakeZohoCrm
                                                        ) -> None:
    _acme, globex, ada, _a, globex_account, contact = await _two_customers(world)
    await fake.update("Contacts", [{"id": contact, "Account_Name": {"id": globex_account}}])
    await _pull(world)
    assert _customer_of(world, ada) == globex
    calls = fake.calls
    await world.push()
    assert fake.calls == calls  # the sync's own move is no change to send back
    with unit_of_work(world.sessions) as session:
        assert open_issues(session, world.scope) == []


async def test_a_contact_moved_in_alix_moves_in_zoho(world: World, fake: FakeZohoCrm) -> None:
    _acme, globex, ada, _a, globex_account, contact = await _two_customers(world)
    with unit_of_work(world.sessions) as session:
        move_contact(session, world.actor, ada, globex, clock=world.clock)
    await world.push()
    assert fake.records["Contacts"][contact]["Account_Name"] == {"id": globex_account}
    await _pull(world)
    assert _customer_of(world, ada) == globex
    with unit_of_work(world.sessions) as session:
        assert open_issues(session, world.scope) == []


@pytest.mark.parametrize("policy", [ConflictPolicy.ASK, ConflictPolicy.CRM_WINS])
async def test_moves_on_both_sides_are_a_conflict_the_policy_settles(
    sessions: sessionmaker[Session], fake: FakeZohoCrm, clock: Clock, policy: ConflictPolicy
) -> None:
    world = World(sessions, *connect(sessions, clock, conflict_policy=policy), fake, clock)
    acme, globex, ada, _a, globex_account, contact = await _two_customers(world)
    with unit_of_work(world.sessions) as session:
        initech = create_customer(session, world.actor, NewCustomer(
            {"name": "Initech", "currency": "CAD"}), clock=world.clock).id
    await world.push()
    await fake.update("Contacts", [{"id": contact, "Account_Name": {"id": globex_account}}])
    world.clock.tick()
    with unit_of_work(world.sessions) as session:
        move_contact(session, world.actor, ada, initech, clock=world.clock)
    await world.push()  # Zoho moved it since the base: merged first, not overwritten
    await _pull(world)
    crm_account = fake.records["Contacts"][contact]["Account_Name"]["id"]
    if policy is ConflictPolicy.ASK:
        assert crm_account == globex_account and _customer_of(world, ada) == initech
        with unit_of_work(world.sessions) as session:
            [conflict] = open_issues(session, world.scope)
        assert conflict.code == "conflict"
    else:
        assert crm_account == globex_account and _customer_of(world, ada) == globex
    assert acme != globex


async def test_a_move_to_an_account_alix_lacks_waits_and_is_not_pushed_back(
    world: World, fake: FakeZohoCrm
) -> None:
    acme, _globex, ada, _a, _g, contact = await _two_customers(world)
    with unit_of_work(world.sessions) as session:  # two namesakes: the Account is ambiguous
        for _ in range(2):
            create_customer(session, world.actor, NewCustomer(
                {"name": "Stranger", "currency": "CAD"}), clock=world.clock)
    [stranger] = await fake.insert("Accounts", [{"Account_Name": "Stranger"}])
    await fake.update("Contacts", [{"id": contact, "Account_Name": {"id": stranger.id}}])
    await _pull(world)  # the Account is not imported: the contact cannot follow it yet
    assert _customer_of(world, ada) == acme
    with unit_of_work(world.sessions) as session:
        codes = {i.code for i in open_issues(session, world.scope)}
    assert "parent_missing" in codes
    with unit_of_work(world.sessions) as session:
        update_contact(session, world.actor, ada, {"first_name": "Augusta"}, clock=world.clock)
    await world.push()
    assert fake.records["Contacts"][contact]["Account_Name"] == {"id": stranger.id}
    assert fake.records["Contacts"][contact]["First_Name"] == "Augusta"


async def test_a_person_settles_a_move_conflict_by_keeping_zohos_account(
    sessions: sessionmaker[Session], fake: FakeZohoCrm, clock: Clock
) -> None:
    world = World(sessions, *connect(sessions, clock, conflict_policy=ConflictPolicy.ASK),
                  fake, clock)
    _acme, globex, ada, _a, globex_account, contact = await _two_customers(world)
    with unit_of_work(world.sessions) as session:
        initech = create_customer(session, world.actor, NewCustomer(
            {"name": "Initech", "currency": "CAD"}), clock=world.clock).id
    await world.push()
    await fake.update("Contacts", [{"id": contact, "Account_Name": {"id": globex_account}}])
    world.clock.tick()
    with unit_of_work(world.sessions) as session:
        move_contact(session, world.actor, ada, initech, clock=world.clock)
    await world.push()
    with unit_of_work(world.sessions) as session:
        [conflict] = open_issues(session, world.scope)
    assert "its Account" in conflict.message

    @asynccontextmanager
    async def factory(_connection: ZohoConnection) -> AsyncIterator[ZohoCrm]:
        yield fake

    await keep_side(world.sessions, factory, world.clock, world.scope.connection_id,
                    conflict.id, Keep.ZOHO, by="admin")
    assert _customer_of(world, ada) == globex
    assert fake.records["Contacts"][contact]["Account_Name"] == {"id": globex_account}
    with unit_of_work(world.sessions) as session:
        assert open_issues(session, world.scope) == []
    calls = fake.calls
    await world.push()
    assert fake.calls == calls


@pytest.mark.parametrize("policy", [ConflictPolicy.ALIX_WINS, ConflictPolicy.ASK])
async def test_an_alix_move_survives_a_zoho_edit_of_another_field(
    sessions: sessionmaker[Session], fake: FakeZohoCrm, clock: Clock, policy: ConflictPolicy
) -> None:
    """The push merges first (Zoho changed the contact) and must still send the move."""
    world = World(sessions, *connect(sessions, clock, conflict_policy=policy), fake, clock)
    _acme, globex, ada, _a, globex_account, contact = await _two_customers(world)
    await fake.update("Contacts", [{"id": contact, "First_Name": "Augusta"}])
    world.clock.tick()
    with unit_of_work(world.sessions) as session:
        move_contact(session, world.actor, ada, globex, clock=world.clock)
    await world.push()
    await _pull(world)
    assert fake.records["Contacts"][contact]["Account_Name"] == {"id": globex_account}
    assert _customer_of(world, ada) == globex


async def test_a_contact_of_a_customer_deleted_in_alix_waits_instead_of_failing_the_pull(
    world: World, fake: FakeZohoCrm
) -> None:
    acme, _globex, _ada, acme_account, _g, _contact = await _two_customers(world)
    await fake.insert("Contacts", [{"Last_Name": "Hopper",
                                    "Account_Name": {"id": acme_account}}])
    with unit_of_work(world.sessions) as session:
        from alix.customers.service import delete_customer

        delete_customer(session, world.actor, acme, clock=world.clock)
    await _pull(world)  # the deletion is not pushed yet: no crash, the Contact waits
    with unit_of_work(world.sessions) as session:
        codes = [i.code for i in open_issues(session, world.scope)]
    assert codes == ["parent_missing"]
