"""Jobs outlive their process: heartbeats, reclaiming a dead worker's job, graceful stops."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

import anyio
import pytest
from sqlalchemy import select, update

from alix.bootstrap import Container
from alix.clock import FrozenClock, utc_now
from alix.db.session import unit_of_work
from alix.jobs.lease import LeaseStore
from alix.jobs.queue import TaskContext
from alix.jobs.runner import JobRunner
from alix.jobs.tables import DONE, FAILED, QUEUED, RUNNING, Job

THRESHOLD = 30.0


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(datetime(2026, 11, 25, 12, 0, tzinfo=UTC))


def _record(container: Container, ran: list[dict[str, object]]) -> None:
    @container.registry.register("record")
    def record(ctx: TaskContext) -> None:
        ran.append(ctx.payload)


def _die_while_running(container: Container, clock: FrozenClock, job_id: int,
                       key: str | None) -> None:
    """What a runner killed with SIGKILL leaves: its job running with its last heartbeat,
    and the job's lease, which nobody renews any more."""
    with container.engine.begin() as conn:
        conn.execute(update(Job).where(Job.id == job_id).values(
            status=RUNNING, worker="runner-4242-dead", started_at=clock(), heartbeat_at=clock(),
            attempts=Job.attempts + 1))
    if key is not None:
        assert LeaseStore(container.engine, clock=clock).acquire(key, "runner-4242-dead",
                                                                 THRESHOLD)


def _job(container: Container, job_id: int) -> Job:
    with container.session_factory() as session:
        job = session.get(Job, job_id)
        assert job is not None
        session.expunge(job)
        return job


def test_a_dead_workers_job_is_reclaimed_after_the_threshold_and_finishes(
    backend: str, container: Container, clock: FrozenClock
) -> None:
    ran: list[dict[str, object]] = []
    _record(container, ran)
    container.queue.clock = clock
    with unit_of_work(container.session_factory) as session:
        job_id = container.queue.enqueue(session, "record", {"n": 1}, lease_key="conn:1").id
    _die_while_running(container, clock, job_id, "conn:1")
    runner = JobRunner(container.engine, container.session_factory, container.queue,
                       clock=clock, heartbeat_seconds=THRESHOLD)
    clock.advance(THRESHOLD - 1)
    assert anyio.run(runner.run_pending) == 0, "its heartbeat is still fresh"
    clock.advance(2)
    assert anyio.run(runner.run_pending) == 1
    assert ran == [{"n": 1}]
    job = _job(container, job_id)
    assert (job.status, job.attempts, job.worker) == (DONE, 2, runner.name)
    assert LeaseStore(container.engine, clock=clock).acquire("conn:1", "next", THRESHOLD), \
        "the lease was released when the reclaimed job ended"


def test_a_job_whose_process_keeps_dying_fails_with_a_readable_error(
    backend: str, container: Container, clock: FrozenClock
) -> None:
    _record(container, [])
    container.queue.clock = clock
    with unit_of_work(container.session_factory) as session:
        job_id = container.queue.enqueue(session, "record", max_attempts=1).id
    _die_while_running(container, clock, job_id, None)
    clock.advance(THRESHOLD + 1)
    runner = JobRunner(container.engine, container.session_factory, container.queue,
                       clock=clock, heartbeat_seconds=THRESHOLD)
    assert anyio.run(runner.run_pending) == 0
    job = _job(container, job_id)
    assert job.status == FAILED
    assert job.error is not None and "runner-4242-dead" in job.error
    assert "stopped without finishing" in job.error


def test_a_running_job_renews_its_heartbeat_and_keeps_its_lease(container: Container) -> None:
    container.queue.clock = utc_now
    other = LeaseStore(container.engine)
    seen: list[bool] = []
    beats: list[datetime | None] = []
    rival = JobRunner(container.engine, container.session_factory, container.queue,
                      heartbeat_seconds=0.4, name="rival")

    @container.registry.register("long")
    async def long(ctx: TaskContext) -> None:
        for _ in range(6):  # 1.2 s: three heartbeat thresholds of 0.4 s
            await anyio.sleep(0.2)
            seen.append(await anyio.to_thread.run_sync(other.acquire, "conn:9", "other", 0.4))
            beats.append(_job(container, ctx.job_id).heartbeat_at)
            assert await rival.run_pending() == 0, "a live job was reclaimed"

    runner = JobRunner(container.engine, container.session_factory, container.queue,
                       heartbeat_seconds=0.4)
    with unit_of_work(container.session_factory) as session:
        container.queue.enqueue(session, "long", lease_key="conn:9")
    assert anyio.run(runner.run_pending) == 1
    assert seen == [False] * 6, "another process took the lease while the job ran"
    assert len(set(beats)) >= 3, "the heartbeat was not renewed while the job ran"
    assert other.acquire("conn:9", "other", 0.4), "released when the job ended"


def test_a_stopped_runner_lets_the_page_commit_and_puts_the_job_back(
    container: Container,
) -> None:
    container.queue.clock = utc_now
    reached, go = threading.Event(), threading.Event()

    @container.registry.register("pages")
    def pages(ctx: TaskContext) -> None:
        done = int(ctx.payload.get("from", 0))
        for page in range(done, 5):
            ctx.report_progress(page + 1, 5, f"page {page + 1}")  # the page's commit
            if page == 1:
                reached.set()
                go.wait(10)
            ctx.checkpoint()

    with unit_of_work(container.session_factory) as session:
        job_id = container.queue.enqueue(session, "pages", lease_key="conn:3").id
    runner = JobRunner(container.engine, container.session_factory, container.queue,
                       heartbeat_seconds=5, poll_seconds=0.05)
    runner.start()
    assert reached.wait(10)
    stopping = threading.Thread(target=runner.stop)
    stopping.start()
    time.sleep(0.1)
    go.set()
    stopping.join(10)
    job = _job(container, job_id)
    assert (job.status, job.progress_done, job.worker) == (QUEUED, 2, None)
    assert job.attempts == 0, "a graceful stop is not a failed attempt"
    assert LeaseStore(container.engine).acquire("conn:3", "next", 5), "the lease was released"
    LeaseStore(container.engine).release("conn:3", "next")
    again = JobRunner(container.engine, container.session_factory, container.queue,
                      heartbeat_seconds=5)
    assert anyio.run(again.run_pending) == 1
    done = _job(container, job_id)
    assert (done.status, done.progress_done) == (DONE, 5)


def test_run_job_claims_only_the_job_asked_for(
    backend: str, container: Container, clock: FrozenClock
) -> None:
    ran: list[dict[str, object]] = []
    _record(container, ran)
    container.queue.clock = clock
    with unit_of_work(container.session_factory) as session:
        container.queue.enqueue(session, "record", {"n": "other"})
        mine = container.queue.enqueue(session, "record", {"n": "mine"}).id
    runner = JobRunner(container.engine, container.session_factory, container.queue,
                       clock=clock, heartbeat_seconds=THRESHOLD)
    assert anyio.run(runner.run_job, mine)
    assert ran == [{"n": "mine"}]
    assert not anyio.run(runner.run_job, mine), "a finished job is not run twice"
    with container.session_factory() as session:
        statuses = sorted(session.scalars(select(Job.status)).all())
    assert statuses == [DONE, QUEUED]


def test_heartbeat_threshold_is_a_setting() -> None:
    from alix.settings import Settings

    assert Settings(job_heartbeat_seconds=5).job_heartbeat_seconds == 5
    assert timedelta(seconds=Settings().job_heartbeat_seconds) <= timedelta(minutes=2)
