"""The job loops keep each connection's Zoho client between jobs and close it when they stop:
the in-process runner's loop here, each slot of an `alix worker` in workers/test_workers.py."""

from __future__ import annotations

import time

from sqlalchemy import select

from alix.bootstrap import Container, worker_wiring
from alix.integrations.zoho_crm.kept_clients import KeptClients
from alix.jobs.queue import TaskContext
from alix.jobs.runner import JobRunner
from alix.jobs.tables import DONE, Job
from tests.unit.zoho_client.test_kept_clients import Opener, _connection

TASK = "test.zoho_call"


def register_call(container: Container, clients: KeptClients) -> None:
    if TASK in container.registry.tasks:
        return

    @container.registry.register(TASK)
    async def call(ctx: TaskContext) -> None:
        async with clients.use(_connection(int(ctx.payload["connection_id"]))):
            pass


def queue_calls(container: Container, *connections: int) -> None:
    with container.session_factory.begin() as session:
        for cid in connections:
            container.queue.enqueue(session, TASK, {"connection_id": cid},
                                    lease_key=f"lane-{cid}")


def all_done(container: Container) -> bool:
    with container.session_factory() as session:
        return all(j.status == DONE for j in session.scalars(select(Job).where(
            Job.task == TASK)))


def test_the_runner_keeps_a_connections_client_between_jobs_and_closes_it_when_it_stops(
    backend: str, container: Container
) -> None:
    opener = Opener()
    clients = KeptClients(opener)
    register_call(container, clients)
    runner = JobRunner(container.engine, container.session_factory, container.queue,
                       poll_seconds=0.05, loop_resources=[clients])
    queue_calls(container, 1, 1, 1, 2)
    runner.start()
    try:
        deadline = time.monotonic() + 20
        while not all_done(container):
            assert time.monotonic() < deadline, "the jobs did not run"
            time.sleep(0.05)
        assert len(opener.clients) == 2, "one client per connection, not one per job"
        assert not any(c.closed for c in opener.clients)
    finally:
        runner.stop()
    assert all(c.closed for c in opener.clients), "closed when the runner stopped"


def test_the_production_clients_are_the_ones_the_job_loops_keep(container: Container) -> None:
    assert container.zoho.clients is not None
    assert container.loop_resources() == (container.zoho.clients,)
    assert worker_wiring(container).loop_resources == (container.zoho.clients,)
