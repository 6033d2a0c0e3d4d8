"""An organisation syncing with the fake Zoho CRM through the app's own container: its triggers,
its scheduler and a job runner, all on one hand-moved clock. Nothing is queued by hand: the
tests move the clock and let the runner's loop do what it does unattended."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import anyio
import pytest
from sqlalchemy import select

from alix.bootstrap import Container
from alix.clock import FrozenClock
from alix.customers.domain import Actor
from alix.customers.tables import customers
from alix.db.session import unit_of_work
from alix.integrations.zoho_crm.client import ZohoCrm
from alix.integrations.zoho_crm.client.fake import FakeZohoCrm
from alix.integrations.zoho_crm.sync.engine.runs import start_for_organisation
from alix.integrations.zoho_crm.sync.store.scope import SyncScope
from alix.integrations.zoho_crm.tables import ZohoConnection
from alix.jobs.runner import JobRunner
from alix.jobs.scheduler import Scheduler
from alix.jobs.tables import Job
from tests.integration.sync_push.conftest import SCHEMA, T0, connect


@dataclass
class World:
    container: Container
    clock: FrozenClock
    crm: FakeZohoCrm
    scope: SyncScope
    actor: Actor
    runner: JobRunner

    @property
    def scheduler(self) -> Scheduler:
        assert self.container.scheduler is not None
        return self.container.scheduler

    def settle(self) -> None:
        """One turn of the runner's loop as it runs unattended: the scheduler's tick, then
        every job that is due, until none is left."""
        self.scheduler()
        for _ in range(20):
            if not anyio.run(self.runner.run_pending):
                return
        raise AssertionError("Jobs kept coming: a job queues itself in a loop.")

    def wait(self, seconds: float) -> None:
        """Let `seconds` pass, the runner's loop turning as it would."""
        self.clock.advance(seconds)
        self.settle()

    def initial_sync(self) -> None:
        """The one click of the documented set-up: the cloud icon next to Customers."""
        self.clock.advance(3)  # Zoho's last second settles (watermark.SETTLE)
        with unit_of_work(self.container.session_factory) as session:
            start_for_organisation(session, self.container.queue, self.scope.organisation_id,
                                   initial=True)
        self.settle()

    def zoho_insert(self, module: str, **values: Any) -> str:
        self.clock.advance(2)
        [result] = asyncio.run(self.crm.insert(module, [values]))
        assert hasattr(result, "id"), result
        return str(result.id)

    def zoho_update(self, module: str, zoho_id: str, **values: Any) -> None:
        self.clock.advance(2)
        [result] = asyncio.run(self.crm.update(module, [{"id": zoho_id, **values}]))
        assert hasattr(result, "id"), result

    def customers(self) -> dict[str, Any]:
        with self.container.session_factory() as session:
            return {r.name: r for r in session.execute(select(customers).where(
                customers.c.organisation_id == self.scope.organisation_id))}

    def jobs(self, *statuses: str) -> list[Job]:
        with self.container.session_factory() as session:
            stmt = select(Job).order_by(Job.id)
            if statuses:
                stmt = stmt.where(Job.status.in_(statuses))
            return list(session.scalars(stmt))


def make_world(container: Container, schema: dict[str, object] | None = None) -> World:
    clock = FrozenClock(T0)
    container.queue.clock = clock
    crm = FakeZohoCrm(clock=clock)

    @asynccontextmanager
    async def factory(_connection: ZohoConnection) -> AsyncIterator[ZohoCrm]:
        yield crm

    container.use_zoho(crm_factory=factory)
    scope, actor = connect(container.session_factory, clock, schema=schema or SCHEMA)
    runner = JobRunner(container.engine, container.session_factory, container.queue,
                       clock=clock)
    return World(container, clock, crm, scope, actor, runner)


@pytest.fixture
def world(backend: str, container: Container) -> Iterator[World]:
    yield make_world(container)
