"""What Zoho changes inside the pull's settle window (the last two seconds, not yet closed)
is left for later, and later comes without a click: the run that left it queues the next pull
for after the window. A deletion notification's pull, which runs at once, used to move its
check past the deletion and nothing pulled again."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from alix.bootstrap import register_tasks
from alix.customers.tables import customers
from alix.db.session import make_session_factory, unit_of_work
from alix.integrations.zoho_crm.client import ZohoCrm
from alix.integrations.zoho_crm.client.fake import FakeZohoCrm
from alix.integrations.zoho_crm.services import ZohoServices
from alix.integrations.zoho_crm.sync.engine.pull import PullReport, run_pull
from alix.integrations.zoho_crm.sync.engine.runs import start_pull
from alix.integrations.zoho_crm.tables import ZohoConnection
from alix.jobs.queue import JobQueue, TaskRegistry
from alix.jobs.runner import JobRunner
from tests.integration.sync_push.conftest import Clock, connect

from .conftest import World


class _Unattended:
    """The connection, the fake Zoho and a job runner polling as the app's does."""

    def __init__(self, engine: Engine) -> None:
        self.clock = Clock()
        self.sessions: sessionmaker[Session] = make_session_factory(engine)
        self.scope, _actor = connect(self.sessions, self.clock, billing=False)
        self.crm = FakeZohoCrm(clock=self.clock)

        @asynccontextmanager
        async def factory(_connection: ZohoConnection) -> AsyncIterator[ZohoCrm]:
            yield self.crm

        registry = TaskRegistry()
        register_tasks(registry, lambda: ZohoServices(factory, "http://alix.test"))
        self.queue = JobQueue(registry, clock=self.clock)
        self.runner = JobRunner(engine, self.sessions, self.queue, clock=self.clock)

    def zoho(self, name: str) -> str:
        [result] = anyio.run(self.crm.insert, "Accounts",
                             [{"Account_Name": name, "Currency": "CAD"}])
        return str(result.id)  # type: ignore[union-attr]

    def start_pull(self, *, initial: bool = False) -> None:
        with unit_of_work(self.sessions) as session:
            start_pull(session, self.queue, self.scope.organisation_id,
                       self.scope.connection_id, initial=initial)

    def poll(self, seconds: float) -> None:
        """Time passes; the runner polls (no one clicks)."""
        self.clock.tick(seconds)
        anyio.run(self.runner.run_pending)

    def active(self) -> dict[str, bool]:
        with self.sessions() as session:
            return {r.name: r.is_active for r in session.execute(select(customers).where(
                customers.c.organisation_id == self.scope.organisation_id))}



def test_a_zoho_deletion_inside_the_settle_window_reaches_alix_without_a_click(
    backend: str, engine: Engine
) -> None:
    world = _Unattended(engine)
    acme = world.zoho("Acme")
    world.zoho("Globex")
    world.clock.tick(5)
    world.start_pull(initial=True)
    world.poll(0)
    assert world.active() == {"Acme": True, "Globex": True}
    world.clock.tick(5)
    anyio.run(world.crm.delete, "Accounts", [acme])
    world.clock.tick(0.5)
    world.start_pull()  # what the deletion notification does, at once
    world.poll(0)
    assert world.active()["Acme"] is True  # not settled yet: the deletion is 0.5 s old
    world.poll(5)
    assert world.active() == {"Acme": False, "Globex": True}
    world.poll(5)  # and it stops there: nothing left for later, nothing queued
    assert anyio.run(world.runner.run_pending) == 0


def test_an_account_created_just_before_the_initial_sync_is_imported_without_a_click(
    backend: str, engine: Engine
) -> None:
    world = _Unattended(engine)
    world.zoho("Acme")
    world.clock.tick(5)
    world.zoho("Globex")
    world.clock.tick(1)
    world.start_pull(initial=True)
    world.poll(0)
    assert world.active() == {"Acme": True}
    world.poll(5)
    assert world.active() == {"Acme": True, "Globex": True}


def test_a_pull_that_reaches_its_bound_with_pages_still_queued_ends(world: World) -> None:
    """The walk stops at the first record past its bound while the reader has queued the
    next pages and waits to queue more: it used to wait for ever for that reader, holding
    the connection's lane (push and notifications stopped behind a reconciliation)."""
    world.zoho("Accounts", *[{"Account_Name": f"Settled {i:02d}", "Currency": "CAD"}
                             for i in range(10)])
    world.clock.advance(10)
    world.zoho("Accounts", *[{"Account_Name": f"Recent {i:02d}", "Currency": "CAD"}
                             for i in range(40)])  # inside the settle window below

    async def bounded() -> PullReport:
        pull = asyncio.create_task(run_pull(world.ctx, page_size=5))
        done, _ = await asyncio.wait({pull}, timeout=15)  # it takes well under a second
        assert done, "the pull never ended"
        return pull.result()

    report = asyncio.run(bounded())
    assert report.deferred == 1
    assert sorted(world.customers()) == [f"Settled {i:02d}" for i in range(10)]
