"""Deleting a customer in ALIX is the person's decision, carried out per the delete policy:
it leaves no record "needing attention", neither from the push nor from our own writes
coming back from Zoho (a notification, or the next incremental pull)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from sqlalchemy.orm import Session, sessionmaker

from alix.customers import repository as repo
from alix.customers.addresses import remove_address
from alix.customers.domain import NewCustomer
from alix.customers.service import create_customer, delete_customer
from alix.db.session import unit_of_work
from alix.integrations.zoho_crm.client import ZohoCrm
from alix.integrations.zoho_crm.client.fake import FakeZohoCrm
from alix.integrations.zoho_crm.sync.engine.context import open_context
from alix.integrations.zoho_crm.sync.engine.hints import process_hints
from alix.integrations.zoho_crm.sync.engine.pull import run_pull
from alix.integrations.zoho_crm.sync.store.inbox import add_hints
from alix.integrations.zoho_crm.sync.store.issues import open_issues
from alix.integrations.zoho_crm.tables import ZohoConnection

from .conftest import Clock, World, connect

pytestmark = pytest.mark.anyio


def _world(sessions: sessionmaker[Session], fake: FakeZohoCrm, clock: Clock,
           active_field: bool) -> World:
    return World(sessions, *connect(sessions, clock, active_field=active_field), fake, clock)


def _add(world: World) -> int:
    with unit_of_work(world.sessions) as session:
        return create_customer(session, world.actor, NewCustomer(
            {"name": "Acme", "currency": "CAD", "phone": "514 555 0000"},
            contacts=[{"first_name": "Ada", "last_name": "Lovelace"},
                      {"first_name": "Alan", "last_name": "Turing"}],
            addresses=[{"kind": "billing", "is_main": True, "street": "1 Main St",
                        "city": "Montréal", "country": "CA"}],
        ), clock=world.clock).id


async def _echoes_come_back(world: World, fake: FakeZohoCrm, account: str,
                            contacts: list[str]) -> None:
    """Zoho notifies us of our own writes, then a reconciliation pull reads them too."""
    @asynccontextmanager
    async def factory(_connection: ZohoConnection) -> AsyncIterator[ZohoCrm]:
        yield fake

    with unit_of_work(world.sessions) as session:
        record = {k: v for k, v in fake.records["Accounts"][account].items()
                  if k not in ("id", "Modified_Time")}
        add_hints(session, world.scope, "Accounts", "update", [(account, record)], world.clock())
        add_hints(session, world.scope, "Contacts", "delete",
                  [(c, None) for c in contacts], world.clock())
    world.clock.tick()
    async with open_context(world.sessions, world.scope.connection_id, factory,
                            world.clock) as ctx:
        await process_hints(ctx)
        world.clock.tick()
        await run_pull(ctx)


@pytest.mark.parametrize("active_field", [True, False], ids=["active-mapped", "no-active"])
async def test_deleting_a_customer_leaves_nothing_needing_attention(
    sessions: sessionmaker[Session], fake: FakeZohoCrm, clock: Clock, active_field: bool
) -> None:
    world = _world(sessions, fake, clock, active_field)
    customer_id = _add(world)
    await world.push()
    [account] = fake.records["Accounts"]
    contacts = list(fake.records["Contacts"])
    with unit_of_work(world.sessions) as session:
        delete_customer(session, world.actor, customer_id, clock=world.clock)
    await world.push()
    assert fake.records["Contacts"] == {}  # contacts have no "inactive": deleted in Zoho
    assert account in fake.records["Accounts"]  # the Account is kept, per the policy
    if active_field:
        assert fake.records["Accounts"][account]["Active"] is False
    await _echoes_come_back(world, fake, account, contacts)
    with unit_of_work(world.sessions) as session:
        assert [(i.code, i.message) for i in open_issues(session, world.scope)] == []


async def test_deleting_the_main_address_alone_empties_the_account_address(
    sessions: sessionmaker[Session], fake: FakeZohoCrm, clock: Clock
) -> None:
    world = _world(sessions, fake, clock, True)
    customer_id = _add(world)
    await world.push()
    [account] = fake.records["Accounts"]
    assert fake.records["Accounts"][account]["Billing_City"] == "Montréal"
    with unit_of_work(world.sessions) as session:
        [address] = repo.addresses_of(session, world.actor.organisation_id, customer_id)
        remove_address(session, world.actor, address.id, clock=world.clock)
    await world.push()
    assert not fake.records["Accounts"][account].get("Billing_City")
    with unit_of_work(world.sessions) as session:
        assert open_issues(session, world.scope) == []
