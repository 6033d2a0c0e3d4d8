"""A CRM user's edit made in the same second as our last write to the record: Zoho's
Modified_Time has one-second resolution, so the record looks unchanged since the base by its
time alone. The push must still see the edit (the values it reads differ from the base) and
merge it, never overwrite it silently, under every policy."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from alix.customers import repository as repo
from alix.customers.domain import NewCustomer
from alix.customers.service import create_customer, update_customer
from alix.db.session import unit_of_work
from alix.integrations.zoho_crm.client.fake import FakeZohoCrm
from alix.integrations.zoho_crm.rules import ConflictPolicy
from alix.integrations.zoho_crm.sync.store.tables import zoho_sync_issues

from .conftest import Clock, World, connect

pytestmark = pytest.mark.anyio


async def _crm_edit_in_the_second_of_our_write(world: World, fake: FakeZohoCrm) -> tuple[int, str]:
    with unit_of_work(world.sessions) as session:
        customer_id = create_customer(session, world.actor, NewCustomer(
            {"name": "Acme", "currency": "CAD", "phone": "514 555 0000"}),
            clock=world.clock).id
    await world.push()  # our write at T; the push ends with the clock at T + 5 s
    (account,) = fake.records["Accounts"].values()
    zoho_id = str(account["id"])
    written = account["Modified_Time"]
    world.clock.now -= timedelta(seconds=5)  # a CRM user saves in second T, notification lost
    await fake.update("Accounts", [{"id": zoho_id, "Phone": "514 555 0199"}])
    assert fake.records["Accounts"][zoho_id]["Modified_Time"] == written
    world.clock.tick(5)
    with unit_of_work(world.sessions) as session:
        update_customer(session, world.actor, customer_id, {"phone": "514 555 0100"},
                        clock=world.clock)
    await world.push()
    return customer_id, zoho_id


def _journal(world: World) -> list[tuple[str, str, str | None]]:
    with unit_of_work(world.sessions) as session:
        rows = session.execute(select(zoho_sync_issues).where(
            zoho_sync_issues.c.connection_id == world.scope.connection_id)).all()
    return [(r.code, r.status, r.field) for r in rows]


@pytest.mark.parametrize("policy", list(ConflictPolicy))
async def test_a_same_second_crm_edit_is_merged_not_overwritten(
    sessions: sessionmaker[Session], fake: FakeZohoCrm, clock: Clock, policy: ConflictPolicy
) -> None:
    world = World(sessions, *connect(sessions, clock, conflict_policy=policy), fake, clock)
    customer_id, zoho_id = await _crm_edit_in_the_second_of_our_write(world, fake)
    crm_phone = fake.records["Accounts"][zoho_id]["Phone"]
    with unit_of_work(world.sessions) as session:
        alix_phone = repo.get_customer(session, world.actor.organisation_id,
                                       customer_id).phone
    journal = _journal(world)
    if policy is ConflictPolicy.ASK:
        assert crm_phone == "514 555 0199"  # the CRM's edit survives
        assert alix_phone == "514 555 0100"
        assert ("conflict", "open", "phone") in journal
    else:
        assert crm_phone == alix_phone  # settled, the same on both sides, and journaled
        assert ("conflict_settled", "resolved", "phone") in journal
        if policy is ConflictPolicy.CRM_WINS:
            assert crm_phone == "514 555 0199"
        if policy is ConflictPolicy.ALIX_WINS:
            assert crm_phone == "514 555 0100"
