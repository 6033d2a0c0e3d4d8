"""A record both sides changed: the push merges it through the pull first, never overwrites,
and journals the conflict, open or settled by the policy."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from alix.customers import repository as repo
from alix.customers.domain import NewCustomer
from alix.customers.service import create_customer, update_customer
from alix.db.session import unit_of_work
from alix.integrations.zoho_crm.client.fake import FakeZohoCrm
from alix.integrations.zoho_crm.rules import ConflictPolicy
from alix.integrations.zoho_crm.sync.store.issues import open_issues
from alix.integrations.zoho_crm.sync.store.tables import zoho_sync_issues

from .conftest import Clock, World, connect

pytestmark = pytest.mark.anyio


async def both_change_phone(world: World, fake: FakeZohoCrm) -> tuple[int, str]:
    with unit_of_work(world.sessions) as session:
        customer_id = create_customer(session, world.actor, NewCustomer(
            {"name": "Acme", "currency": "CAD", "phone": "514 555 0000"}),
            clock=world.clock).id
    await world.push()
    (account,) = fake.records["Accounts"].values()
    await fake.update("Accounts", [{"id": account["id"], "Phone": "514 555 0199"}])
    world.clock.tick()
    with unit_of_work(world.sessions) as session:
        update_customer(session, world.actor, customer_id, {"phone": "514 555 0100"},
                        clock=world.clock)
    return customer_id, str(account["id"])


async def test_an_open_conflict_is_journaled_and_merged_again_not_overwritten(
    sessions: sessionmaker[Session], fake: FakeZohoCrm, clock: Clock
) -> None:
    world = World(sessions, *connect(sessions, clock, conflict_policy=ConflictPolicy.ASK),
                  fake, clock)
    customer_id, zoho_id = await both_change_phone(world, fake)
    await world.push()
    assert fake.records["Accounts"][zoho_id]["Phone"] == "514 555 0199"
    with unit_of_work(world.sessions) as session:
        (issue,) = open_issues(session, world.scope)
        assert (issue.code, issue.field, issue.alix_id) == ("conflict", "phone", customer_id)
        assert repo.get_customer(session, world.actor.organisation_id,
                                 customer_id).phone == "514 555 0100"
    world.clock.tick()
    with unit_of_work(world.sessions) as session:
        update_customer(session, world.actor, customer_id, {"website": "https://alix.example"},
                        clock=world.clock)
    await world.push()
    stored = fake.records["Accounts"][zoho_id]
    assert stored["Website"] == "https://alix.example"
    assert stored["Phone"] == "514 555 0199"  # still open: the CRM's value is not overwritten


async def test_a_conflict_the_policy_settles_is_sent_and_journaled_as_resolved(
    world: World, fake: FakeZohoCrm
) -> None:
    customer_id, zoho_id = await both_change_phone(world, fake)  # ALIX changed it last
    await world.push()
    assert fake.records["Accounts"][zoho_id]["Phone"] == "514 555 0100"
    with unit_of_work(world.sessions) as session:
        assert open_issues(session, world.scope) == []
        [entry] = session.execute(select(zoho_sync_issues).where(
            zoho_sync_issues.c.connection_id == world.scope.connection_id)).all()
    assert (entry.code, entry.status, entry.field, entry.alix_id) == (
        "conflict_settled", "resolved", "phone", customer_id)
    assert entry.details == {"base": "514 555 0000", "alix": "514 555 0100",
                             "crm": "514 555 0199", "winner": "alix"}
    calls = fake.calls
    await world.push()
    assert fake.calls == calls
