"""Task registry and the durable queue: enqueue inside a transaction, run after it commits."""

from __future__ import annotations

import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy import event, select, update
from sqlalchemy.orm import Session, sessionmaker

from alix.clock import Clock, utc_now
from alix.db import driver
from alix.jobs.tables import QUEUED, Job

# (done, total or None, message): progress as the toast area and the CLI show it.
ProgressListener = Callable[[int, int | None, str], None]


class JobInterrupted(Exception):
    """Raised by `TaskContext.checkpoint` when the runner stops (SIGTERM, shutdown) or lost
    the job to another runner: the task ends between two committed pages and resumes later."""


def _never() -> bool:
    return False


@dataclass
class TaskContext:
    """What a running task gets: its job, a session factory, the clock, progress reporting.

    A feature's own collaborators (the Zoho CRM port, say) are not here: the composition root
    hands them to its tasks when it registers them (alix.bootstrap.register_tasks)."""

    job_id: int
    organisation_id: int | None
    payload: dict[str, Any]
    session_factory: sessionmaker[Session]
    clock: Clock
    queue: JobQueue
    # The runner's say on whether the task should end at its next checkpoint.
    should_stop: Callable[[], bool] = _never
    # Told of every progress report once it is written (the CLI prints it).
    on_progress: ProgressListener | None = None

    def report_progress(self, done: int, total: int | None = None, message: str = "") -> None:
        """Record progress that the toast area and the CLI show; its own short transaction."""
        with self.session_factory.begin() as session:
            session.execute(
                update(Job)
                .where(Job.id == self.job_id)
                .values(progress_done=done, progress_total=total, progress_message=message[:500])
            )
        if self.on_progress is not None:
            self.on_progress(done, total, message)

    def checkpoint(self) -> None:
        """Raise JobInterrupted when the runner wants the job to stop. A task calls it where
        stopping loses nothing: after a page committed, before the next one starts."""
        if self.should_stop():
            raise JobInterrupted(f"Job {self.job_id} was stopped between two pages.")


TaskFn = Callable[[TaskContext], Awaitable[None] | None]

# Hands a job just written in the caller's transaction to another engine (procrastinate, see
# alix.jobs.workers); it runs before that transaction commits, so a rollback takes both back.
Dispatcher = Callable[[Session, Job], None]


@dataclass
class TaskRegistry:
    """Tasks by name; the web app, the CLI and workers share one registry."""

    tasks: dict[str, TaskFn] = field(default_factory=dict)

    def register(self, name: str) -> Callable[[TaskFn], TaskFn]:
        def decorate(fn: TaskFn) -> TaskFn:
            if name in self.tasks:
                raise ValueError(f"Task {name!r} is registered twice.")
            self.tasks[name] = fn
            return fn

        return decorate

    def get(self, name: str) -> TaskFn:
        try:
            return self.tasks[name]
        except KeyError:
            raise LookupError(f"No task named {name!r} is registered.") from None


def waiting_job(session: Session, task: str, lease_key: str) -> Job | None:
    """The job of `task` queued on `lease_key` and not started yet, if any: a second one
    would only find its work done (the wake-ups of a lane collapse into it)."""
    return session.scalars(select(Job).where(
        Job.task == task, Job.lease_key == lease_key, Job.status == QUEUED).limit(1)).first()


_WAITING = "SELECT id FROM jobs WHERE status = ? AND task = ? AND lease_key = ? LIMIT 1"


def waiting_job_id(session: Session, task: str, lease_key: str) -> int | None:
    """waiting_job's id alone, through the driver (alix.db.driver): every Zoho callback asks
    it while a push writes, and the ORM query and its entity were a quarter of a callback's
    time in the web process (bench/live.py)."""
    if session.new or session.dirty:  # what an ORM query would have flushed first
        session.flush()
    found = driver.rows(session, _WAITING, (QUEUED, task, lease_key))
    return int(found[0][0]) if found else None


class JobQueue:
    """Writes jobs in the caller's transaction and wakes the runners once it commits."""

    def __init__(self, registry: TaskRegistry, *, clock: Clock = utc_now,
                 dispatcher: Dispatcher | None = None) -> None:
        self.registry = registry
        self.clock = clock
        self.dispatcher = dispatcher
        self._wakers: list[threading.Event] = []

    def add_waker(self, waker: threading.Event) -> None:
        self._wakers.append(waker)

    def wake(self) -> None:
        for waker in self._wakers:
            waker.set()

    def enqueue(
        self,
        session: Session,
        task: str,
        payload: dict[str, Any] | None = None,
        *,
        organisation_id: int | None = None,
        lease_key: str | None = None,
        delay_seconds: float = 0,
        max_attempts: int = 5,
    ) -> Job:
        """Queue task in session's transaction: it runs only if that transaction commits."""
        self.registry.get(task)
        now = self.clock()
        job = Job(
            organisation_id=organisation_id,
            task=task,
            payload=payload or {},
            lease_key=lease_key,
            status=QUEUED,
            attempts=0,
            max_attempts=max_attempts,
            run_after=now + timedelta(seconds=delay_seconds),
            created_at=now,
            progress_done=0,
            progress_message="",
        )
        session.add(job)
        session.flush()
        if self.dispatcher is not None:
            self.dispatcher(session, job)
        event.listen(session, "after_commit", lambda _s: self.wake(), once=True)
        return job
