"""A person settles an open conflict with one value: both sides get it at once, the conflict
closes with who decided, and the next push and pull have nothing to do."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from alix.bootstrap import register_tasks
from alix.customers import repository as repo
from alix.customers.service import update_customer
from alix.db.session import unit_of_work
from alix.errors import NotFound
from alix.integrations.zoho_crm import status
from alix.integrations.zoho_crm.client import ZohoCrm
from alix.integrations.zoho_crm.client.fake import FakeZohoCrm
from alix.integrations.zoho_crm.rules import ConflictPolicy
from alix.integrations.zoho_crm.services import ZohoServices
from alix.integrations.zoho_crm.sync.engine.context import open_context
from alix.integrations.zoho_crm.sync.engine.pull import run_pull
from alix.integrations.zoho_crm.sync.engine.resolve import resolve_conflict
from alix.integrations.zoho_crm.sync.store.issues import open_issues
from alix.integrations.zoho_crm.sync.store.tables import zoho_sync_issues
from alix.integrations.zoho_crm.tables import ZohoConnection
from alix.jobs.queue import JobQueue, TaskRegistry

from .conftest import Clock, World, connect
from .test_push_conflicts import both_change_phone

pytestmark = pytest.mark.anyio


async def _resolve(world: World, fake: FakeZohoCrm, issue_id: int, value: str) -> None:
    @asynccontextmanager
    async def factory(_connection: ZohoConnection) -> AsyncIterator[ZohoCrm]:
        yield fake

    async with open_context(world.sessions, world.scope.connection_id, factory,
                            world.clock) as ctx:
        await resolve_conflict(ctx, issue_id, value, by="admin@acme.example")


@pytest.mark.parametrize("chosen", ["514 555 0100", "514 555 0199", "514 555 0123"],
                         ids=["alix", "zoho", "another"])
async def test_a_person_settles_a_conflict_on_both_sides_at_once(
    sessions: sessionmaker[Session], fake: FakeZohoCrm, clock: Clock, chosen: str
) -> None:
    world = World(sessions, *connect(sessions, clock, conflict_policy=ConflictPolicy.ASK),
                  fake, clock)
    customer_id, zoho_id = await both_change_phone(world, fake)
    await world.push()
    with unit_of_work(world.sessions) as session:
        [conflict] = open_issues(session, world.scope)
    await _resolve(world, fake, conflict.id, chosen)
    assert fake.records["Accounts"][zoho_id]["Phone"] == chosen
    with unit_of_work(world.sessions) as session:
        assert repo.get_customer(session, world.actor.organisation_id,
                                 customer_id).phone == chosen
        assert open_issues(session, world.scope) == []
        entry = session.execute(select(zoho_sync_issues).where(
            zoho_sync_issues.c.id == conflict.id)).one()
    assert entry.status == "resolved"
    assert entry.details["resolved_by"] == "admin@acme.example"
    assert entry.details["value"] == chosen
    calls = fake.calls
    await world.push()  # our own ALIX write is no change to send
    assert fake.calls == calls
    with unit_of_work(world.sessions) as session:
        update_customer(session, world.actor, customer_id, {"phone": "514 555 0777"},
                        clock=world.clock)
    await world.push()  # agreed again: a later edit goes through without a conflict
    assert fake.records["Accounts"][zoho_id]["Phone"] == "514 555 0777"
    with unit_of_work(world.sessions) as session:
        assert open_issues(session, world.scope) == []
    with pytest.raises(NotFound):
        await _resolve(world, fake, conflict.id, chosen)  # settled already


async def test_retry_on_a_conflict_merges_it_again_now(
    sessions: sessionmaker[Session], fake: FakeZohoCrm, clock: Clock
) -> None:
    """Retry does not wait for the record to change: the record is fetched and merged again,
    here under the policy the administrator has chosen since."""
    world = World(sessions, *connect(sessions, clock, conflict_policy=ConflictPolicy.ASK),
                  fake, clock)
    customer_id, zoho_id = await both_change_phone(world, fake)
    await world.push()
    with unit_of_work(world.sessions) as session:
        [conflict] = open_issues(session, world.scope)
        connection = session.get(ZohoConnection, world.scope.connection_id)
        assert connection is not None
        connection.conflict_policy = ConflictPolicy.CRM_WINS.value
    registry = TaskRegistry()
    register_tasks(registry, _runs_no_task)
    with unit_of_work(world.sessions) as session:
        outcome = status.retry(session, JobQueue(registry, clock=world.clock), world.scope,
                               world.clock(), conflict.id)
    assert "pull" in outcome.jobs
    await _pull(world, fake)  # the queued pull, as the runner would run it
    with unit_of_work(world.sessions) as session:
        assert open_issues(session, world.scope) == []
        assert repo.get_customer(session, world.actor.organisation_id,
                                 customer_id).phone == "514 555 0199"
    assert fake.records["Accounts"][zoho_id]["Phone"] == "514 555 0199"


async def test_a_conflict_both_sides_came_to_agree_on_closes(
    sessions: sessionmaker[Session], fake: FakeZohoCrm, clock: Clock
) -> None:
    world = World(sessions, *connect(sessions, clock, conflict_policy=ConflictPolicy.ASK),
                  fake, clock)
    customer_id, _zoho_id = await both_change_phone(world, fake)
    await world.push()
    with unit_of_work(world.sessions) as session:
        assert len(open_issues(session, world.scope)) == 1
        update_customer(session, world.actor, customer_id, {"phone": "514 555 0199"},
                        clock=world.clock)  # the person takes Zoho's value by hand
    await world.push()
    with unit_of_work(world.sessions) as session:
        assert open_issues(session, world.scope) == []


async def _pull(world: World, fake: FakeZohoCrm) -> None:
    @asynccontextmanager
    async def factory(_connection: ZohoConnection) -> AsyncIterator[ZohoCrm]:
        yield fake

    world.clock.tick()
    async with open_context(world.sessions, world.scope.connection_id, factory,
                            world.clock) as ctx:
        await run_pull(ctx)


async def test_a_conflict_the_policy_settles_for_alix_later_still_reaches_zoho(
    sessions: sessionmaker[Session], fake: FakeZohoCrm, clock: Clock
) -> None:
    """The push that left the conflict open consumed ALIX's outbox row; when a later pull
    settles it for ALIX, that pull must leave the push something to send."""
    world = World(sessions, *connect(sessions, clock, conflict_policy=ConflictPolicy.ASK),
                  fake, clock)
    _customer_id, zoho_id = await both_change_phone(world, fake)
    await world.push()
    with unit_of_work(world.sessions) as session:
        [conflict] = open_issues(session, world.scope)
        connection = session.get(ZohoConnection, world.scope.connection_id)
        assert connection is not None
        connection.conflict_policy = ConflictPolicy.ALIX_WINS.value
    registry = TaskRegistry()
    register_tasks(registry, _runs_no_task)
    with unit_of_work(world.sessions) as session:
        status.retry(session, JobQueue(registry, clock=world.clock), world.scope,
                     world.clock(), conflict.id)
    await _pull(world, fake)
    await world.push()
    assert fake.records["Accounts"][zoho_id]["Phone"] == "514 555 0100"
    with unit_of_work(world.sessions) as session:
        assert open_issues(session, world.scope) == []


def _runs_no_task() -> ZohoServices:
    """The tasks are registered for the queue's names only: this test runs what it queues."""
    raise AssertionError("No Zoho CRM task runs in this test.")
