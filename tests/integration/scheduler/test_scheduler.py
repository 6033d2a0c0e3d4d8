"""Schedules as data: due runs are queued once however many schedulers tick, never beside a job
of theirs still waiting or running, on both databases."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from alix.bootstrap import Container
from alix.clock import FrozenClock
from alix.db.session import unit_of_work
from alix.jobs.queue import TaskContext
from alix.jobs.scheduler import (
    Scheduler,
    ScheduleSpec,
    delete_schedule,
    put_schedule,
    tick,
)
from alix.jobs.tables import DONE, QUEUED, RUNNING, Job, Schedule

T0 = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
SPEC = ScheduleSpec("tidy:7", "tidy", 300, {"connection_id": 7}, lease_key="lane:7")


@pytest.fixture
def clock(container: Container) -> FrozenClock:
    clock = FrozenClock(T0)
    container.queue.clock = clock
    if "tidy" not in container.registry.tasks:
        @container.registry.register("tidy")
        def tidy(ctx: TaskContext) -> None:
            pass
    return clock


def _jobs(container: Container) -> list[Job]:
    with container.session_factory() as session:
        return list(session.scalars(select(Job).where(Job.task == "tidy").order_by(Job.id)))


def _put(container: Container, spec: ScheduleSpec, now: datetime, **kw: datetime) -> None:
    with unit_of_work(container.session_factory) as session:
        put_schedule(session, spec, now, **kw)


def test_a_due_schedule_queues_its_job_and_moves_to_its_next_run(
    backend: str, container: Container, clock: FrozenClock
) -> None:
    _put(container, SPEC, T0)
    assert tick(container.session_factory, container.queue, T0) == []
    later = T0 + timedelta(seconds=301)
    assert tick(container.session_factory, container.queue, later) == ["tidy:7"]
    (job,) = _jobs(container)
    assert (job.payload, job.lease_key, job.status) == ({"connection_id": 7}, "lane:7", QUEUED)
    with container.session_factory() as session:
        schedule = session.get(Schedule, "tidy:7")
        assert schedule is not None
        assert schedule.next_run_at == T0 + timedelta(seconds=600), "the cadence is kept"
        assert schedule.last_enqueued_at == later


def test_two_ticks_at_the_same_time_queue_one_job(
    backend: str, container: Container, clock: FrozenClock
) -> None:
    _put(container, SPEC, T0, first_run_at=T0)
    barrier = threading.Barrier(2)
    queued: list[list[str]] = []

    def scheduler() -> None:
        barrier.wait()
        queued.append(tick(container.session_factory, container.queue, T0))

    threads = [threading.Thread(target=scheduler) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)
    assert sorted(queued) == [[], ["tidy:7"]]
    assert len(_jobs(container)) == 1
    assert tick(container.session_factory, container.queue, T0) == []
    assert len(_jobs(container)) == 1


@pytest.mark.parametrize("status", [QUEUED, RUNNING])
def test_no_second_job_while_one_of_the_same_task_and_lane_waits_or_runs(
    backend: str, container: Container, clock: FrozenClock, status: str
) -> None:
    _put(container, SPEC, T0, first_run_at=T0)
    with unit_of_work(container.session_factory) as session:
        container.queue.enqueue(session, "tidy", {"connection_id": 7, "by": "hand"},
                                lease_key="lane:7").status = status
    assert tick(container.session_factory, container.queue, T0) == []
    assert len(_jobs(container)) == 1
    with container.session_factory() as session:
        schedule = session.get(Schedule, "tidy:7")
        assert schedule is not None and schedule.next_run_at == T0 + timedelta(seconds=300), \
            "the turn is skipped, not retried at every tick"
    with unit_of_work(container.session_factory) as session:
        for job in session.scalars(select(Job)):
            job.status = DONE
    assert tick(container.session_factory, container.queue, T0 + timedelta(seconds=300)) == [
        "tidy:7"]


def test_a_scheduler_down_for_hours_runs_once_then_keeps_its_period(
    backend: str, container: Container, clock: FrozenClock
) -> None:
    _put(container, SPEC, T0, first_run_at=T0)
    late = T0 + timedelta(hours=5)
    assert tick(container.session_factory, container.queue, late) == ["tidy:7"]
    assert tick(container.session_factory, container.queue, late) == []
    with container.session_factory() as session:
        schedule = session.get(Schedule, "tidy:7")
        assert schedule is not None and schedule.next_run_at == late + timedelta(seconds=300)


def test_putting_a_schedule_again_keeps_its_next_run_unless_the_period_shrinks(
    backend: str, container: Container, clock: FrozenClock
) -> None:
    _put(container, SPEC, T0)
    _put(container, SPEC, T0 + timedelta(seconds=200))
    with container.session_factory() as session:
        assert session.scalars(select(Schedule.next_run_at)).one() == T0 + timedelta(seconds=300)
    shorter = ScheduleSpec("tidy:7", "tidy", 60, {"connection_id": 7}, lease_key="lane:7")
    _put(container, shorter, T0 + timedelta(seconds=200))
    with container.session_factory() as session:
        schedule = session.scalars(select(Schedule)).one()
        assert schedule.period_seconds == 60
        assert schedule.next_run_at == T0 + timedelta(seconds=260)
    with unit_of_work(container.session_factory) as session:
        assert delete_schedule(session, "tidy:7")
        assert not delete_schedule(session, "tidy:7")
    assert tick(container.session_factory, container.queue, T0 + timedelta(days=1)) == []


def test_the_runners_scheduler_ensures_its_standing_schedules_and_ticks_sparingly(
    backend: str, container: Container, clock: FrozenClock
) -> None:
    standing = ScheduleSpec("tidy:all", "tidy", 60)
    scheduler = Scheduler(container.session_factory, container.queue, standing=[standing],
                          every=5)
    assert scheduler() == ["tidy:all"], "a standing schedule first runs at once"
    clock.advance(61)
    assert scheduler() == [], "its first job is still queued: no second one"
    with unit_of_work(container.session_factory) as session:
        for job in session.scalars(select(Job)):
            job.status = DONE
    clock.advance(59)
    assert scheduler() == ["tidy:all"]
    _put(container, SPEC, clock(), first_run_at=clock() + timedelta(seconds=1))
    clock.advance(1)
    assert scheduler() == [], "at most one tick every few seconds"
    clock.advance(4)
    assert scheduler() == ["tidy:7"]
    assert len(_jobs(container)) == 3
