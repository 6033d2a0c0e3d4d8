"""Leases, and jobs that run only after their transaction commits, on both databases."""

from __future__ import annotations

from datetime import UTC, datetime

import anyio
import pytest
from sqlalchemy import select

from alix.bootstrap import Container
from alix.clock import FrozenClock
from alix.db.session import unit_of_work
from alix.jobs.lease import LeaseStore
from alix.jobs.queue import TaskContext
from alix.jobs.runner import JobRunner
from alix.jobs.tables import DONE, FAILED, QUEUED, Job


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(datetime(2026, 11, 25, 12, 0, tzinfo=UTC))


def test_a_lease_refuses_a_second_holder_until_it_expires(
    backend: str, container: Container, clock: FrozenClock
) -> None:
    leases = LeaseStore(container.engine, clock=clock)
    assert leases.acquire("sync:1", "web", ttl_seconds=60)
    assert not leases.acquire("sync:1", "cli", ttl_seconds=60)
    assert leases.acquire("sync:1", "web", ttl_seconds=60), "the holder may renew"
    clock.advance(61)
    assert leases.acquire("sync:1", "cli", ttl_seconds=60), "an expired lease is taken over"
    assert not leases.acquire("sync:1", "web", ttl_seconds=60)
    leases.release("sync:1", "web")  # not the holder: nothing happens
    assert not leases.acquire("sync:1", "web", ttl_seconds=60)
    leases.release("sync:1", "cli")
    assert leases.acquire("sync:1", "web", ttl_seconds=60)


def _runner(container: Container, clock: FrozenClock, ran: list[dict[str, object]]) -> JobRunner:
    if "record" not in container.registry.tasks:
        @container.registry.register("record")
        def record(ctx: TaskContext) -> None:
            ctx.report_progress(1, 1, "recorded")
            ran.append(ctx.payload)

        @container.registry.register("explode")
        async def explode(ctx: TaskContext) -> None:
            raise RuntimeError("boom")

    container.queue.clock = clock
    return JobRunner(container.engine, container.session_factory, container.queue, clock=clock)


def test_a_job_enqueued_in_a_rolled_back_transaction_never_runs(
    backend: str, container: Container, clock: FrozenClock
) -> None:
    ran: list[dict[str, object]] = []
    runner = _runner(container, clock, ran)
    with pytest.raises(RuntimeError), unit_of_work(container.session_factory) as session:
        container.queue.enqueue(session, "record", {"n": 1})
        raise RuntimeError("the command failed")
    with unit_of_work(container.session_factory) as session:
        container.queue.enqueue(session, "record", {"n": 2})
    assert anyio.run(runner.run_pending) == 1
    assert ran == [{"n": 2}]
    with container.session_factory() as session:
        job = session.scalars(select(Job)).one()
        assert (job.status, job.progress_done, job.progress_message) == (DONE, 1, "recorded")


def test_a_failing_job_is_retried_with_backoff_then_marked_failed(
    backend: str, container: Container, clock: FrozenClock
) -> None:
    runner = _runner(container, clock, [])
    with unit_of_work(container.session_factory) as session:
        job_id = container.queue.enqueue(session, "explode", max_attempts=2).id
    assert anyio.run(runner.run_pending) == 1
    with container.session_factory() as session:
        job = session.get(Job, job_id)
        assert job is not None and job.status == QUEUED and "boom" in (job.error or "")
    assert anyio.run(runner.run_pending) == 0, "not due before its backoff"
    clock.advance(60)
    assert anyio.run(runner.run_pending) == 1
    with container.session_factory() as session:
        job = session.get(Job, job_id)
        assert job is not None and job.status == FAILED and job.attempts == 2


def test_jobs_sharing_a_lease_key_wait_for_the_holder(
    backend: str, container: Container, clock: FrozenClock
) -> None:
    ran: list[dict[str, object]] = []
    runner = _runner(container, clock, ran)
    LeaseStore(container.engine, clock=clock).acquire("conn:7", "another-process", 30)
    with unit_of_work(container.session_factory) as session:
        container.queue.enqueue(session, "record", {"n": 3}, lease_key="conn:7")
    assert anyio.run(runner.run_pending) == 0
    clock.advance(31)
    assert anyio.run(runner.run_pending) == 1
    assert ran == [{"n": 3}]


def test_the_background_runner_runs_committed_jobs_on_its_own_thread(
    container: Container,
) -> None:
    ran: list[dict[str, object]] = []
    runner = _runner(container, FrozenClock(datetime.now(UTC)), ran)
    runner.start()
    try:
        with unit_of_work(container.session_factory) as session:
            container.queue.enqueue(session, "record", {"n": 4})
        for _ in range(100):
            if ran:
                break
            anyio.run(anyio.sleep, 0.05)
    finally:
        runner.stop()
    assert ran == [{"n": 4}]
