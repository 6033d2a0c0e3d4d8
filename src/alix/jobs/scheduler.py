"""Periodic work as data: schedules in `job_schedules`, and the tick that queues what is due.

A schedule names a registered task, its payload and lease key, and a period; it holds no code,
so any worker that runs the task (the in-process runner today, a procrastinate worker later)
runs scheduled jobs unchanged. `tick` may run in several processes at once: each due schedule
is claimed by one conditional UPDATE that moves its next run, and only the process whose UPDATE
matched queues the job, in the same transaction. A schedule whose job (same task and lease
key) is still queued or running skips its turn instead of piling up a second job.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, sessionmaker

from alix.clock import Clock
from alix.jobs.queue import JobQueue
from alix.jobs.tables import QUEUED, RUNNING, Job, Schedule

log = logging.getLogger(__name__)

# How often the runner's loop may tick; a schedule's period is much longer than this.
TICK_SECONDS = 5.0


@dataclass(frozen=True)
class ScheduleSpec:
    """What a schedule queues and how often: `task` with `payload` every `period_seconds`."""

    name: str
    task: str
    period_seconds: int
    payload: Mapping[str, Any] = field(default_factory=dict)
    organisation_id: int | None = None
    lease_key: str | None = None

    def __post_init__(self) -> None:
        if self.period_seconds < 1:
            raise ValueError(f"Schedule {self.name!r} needs a period of at least one second, "
                             f"not {self.period_seconds}.")


def next_run(due: datetime, period_seconds: int, now: datetime) -> datetime:
    """The run after the one due at `due`: one period later, keeping the cadence, unless that
    is already past (the schedulers were down), then one period from now: missed runs are
    skipped, never caught up one after the other."""
    step = timedelta(seconds=period_seconds)
    following = due + step
    return following if following > now else now + step


def _insert_ignoring_duplicates(session: Session) -> Any:
    """INSERT ... ON CONFLICT DO NOTHING of the session's dialect: two processes ensuring the
    same schedule at once both succeed."""
    dialect = session.get_bind().dialect.name
    module: Any = postgresql if dialect == "postgresql" else sqlite
    return module.insert(Schedule).on_conflict_do_nothing(index_elements=["name"])


def put_schedule(
    session: Session, spec: ScheduleSpec, now: datetime, *, first_run_at: datetime | None = None
) -> None:
    """Create or update a schedule in the caller's transaction; idempotent.

    A new schedule first runs at `first_run_at` (default: one period from now). An existing one
    keeps its next run, brought forward when the new period would come sooner; an unchanged
    schedule is not written at all.
    """
    values = {"task": spec.task, "payload": dict(spec.payload),
              "organisation_id": spec.organisation_id, "lease_key": spec.lease_key,
              "period_seconds": spec.period_seconds}
    soonest = now + timedelta(seconds=spec.period_seconds)
    session.execute(_insert_ignoring_duplicates(session).values(
        name=spec.name, next_run_at=first_run_at or soonest, last_enqueued_at=None, **values))
    stored = session.get(Schedule, spec.name, populate_existing=True)
    if stored is None:
        return
    wanted = {**values, "next_run_at": min(stored.next_run_at, soonest)}
    if any(getattr(stored, name) != value for name, value in wanted.items()):
        session.execute(update(Schedule).where(Schedule.name == spec.name).values(**wanted))
    session.expire(stored)


def delete_schedule(session: Session, name: str) -> bool:
    """Remove a schedule in the caller's transaction; False when there was none. A job it
    already queued still runs."""
    result = session.execute(delete(Schedule).where(Schedule.name == name))
    return bool(result.rowcount)  # type: ignore[attr-defined]


def schedules(session: Session, prefix: str = "") -> list[Schedule]:
    """The schedules whose name starts with `prefix`, by name."""
    stmt = select(Schedule).order_by(Schedule.name)
    if prefix:
        stmt = stmt.where(Schedule.name.startswith(prefix, autoescape=True))
    return list(session.scalars(stmt))


def _busy(session: Session, schedule: Schedule) -> bool:
    """A job of the schedule's task and lease key is queued or running (for a schedule without
    a lease key: one with the same payload)."""
    stmt = select(Job.payload).where(Job.task == schedule.task,
                                     Job.status.in_((QUEUED, RUNNING)))
    if schedule.lease_key is not None:
        return session.execute(stmt.where(Job.lease_key == schedule.lease_key).limit(1)
                               ).first() is not None
    return any(dict(payload or {}) == dict(schedule.payload or {})
               for payload in session.scalars(stmt.where(Job.lease_key.is_(None))))


def _claim_and_queue(session: Session, queue: JobQueue, schedule: Schedule, now: datetime
                     ) -> bool:
    """Move the schedule's next run if it is still due (the claim), then queue its job unless
    one is already queued or running; True when a job was queued."""
    claimed = session.execute(
        update(Schedule)
        .where(Schedule.name == schedule.name, Schedule.next_run_at <= now)
        .values(next_run_at=next_run(schedule.next_run_at, schedule.period_seconds, now),
                last_enqueued_at=now)
    ).rowcount  # type: ignore[attr-defined]
    if not claimed or _busy(session, schedule):
        return False
    queue.enqueue(session, schedule.task, dict(schedule.payload or {}),
                  organisation_id=schedule.organisation_id, lease_key=schedule.lease_key)
    return True


def tick(session_factory: sessionmaker[Session], queue: JobQueue, now: datetime) -> list[str]:
    """Queue the job of every schedule due at `now`; returns the names whose job was queued.

    Each schedule is claimed in its own short transaction, so one failing schedule does not
    hold back the others and two schedulers never queue the same run twice.
    """
    with session_factory() as session:
        due = list(session.scalars(select(Schedule.name).where(Schedule.next_run_at <= now)
                                   .order_by(Schedule.next_run_at)))
    queued: list[str] = []
    for name in due:
        with session_factory.begin() as session:
            schedule = session.get(Schedule, name)
            if schedule is not None and _claim_and_queue(session, queue, schedule, now):
                queued.append(name)
    return queued


class Scheduler:
    """The callable a runner's loop calls: ensures the standing schedules on its first call,
    then ticks at most every `every` seconds of its clock (the queue's clock by default)."""

    def __init__(
        self,
        session_factory: sessionmaker[Session],
        queue: JobQueue,
        *,
        standing: Sequence[ScheduleSpec] = (),
        clock: Clock | None = None,
        every: float = TICK_SECONDS,
    ) -> None:
        self._sessions = session_factory
        self._queue = queue
        self._standing = tuple(standing)
        self._clock = clock
        self._every = timedelta(seconds=every)
        self._ensured = False
        self._last: datetime | None = None

    def now(self) -> datetime:
        return (self._clock or self._queue.clock)()

    def __call__(self) -> list[str]:
        """Tick when due; returns the schedules whose job was queued. Errors are logged, not
        raised: the runner's loop must go on running jobs."""
        now = self.now()
        if self._last is not None and self._last <= now < self._last + self._every:
            return []
        self._last = now
        try:
            if not self._ensured:
                with self._sessions.begin() as session:
                    for spec in self._standing:
                        put_schedule(session, spec, now, first_run_at=now)
                self._ensured = True
            return tick(self._sessions, self._queue, now)
        except Exception:  # the top of the scheduling loop: log it and try again next tick
            log.exception("The scheduler could not queue due schedules at %s.", now)
            return []
