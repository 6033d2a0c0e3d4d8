"""The in-process runner: a thread with its own event loop that claims and runs queued jobs.

Jobs outlive their process. A running job beats a heartbeat (jobs.heartbeat_at) and renews its
lease for the heartbeat threshold; when its process dies, both lapse within the threshold and
any runner reclaims the job and runs it again, which resumes it (tasks commit page by page
and replay idempotently). A stopping runner (shutdown, SIGTERM) lets the current page commit,
puts its job back in the queue and releases the lease.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
import traceback
import uuid
from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import Protocol

import structlog
from sqlalchemy import ColumnElement, Engine, and_, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from alix.clock import Clock, utc_now
from alix.jobs.heartbeat import Heartbeat, abandoned
from alix.jobs.lease import LeaseStore
from alix.jobs.queue import JobInterrupted, JobQueue, ProgressListener, TaskContext
from alix.jobs.tables import DONE, FAILED, QUEUED, RUNNING, Job

log = logging.getLogger(__name__)

HEARTBEAT_SECONDS = 60.0
RETRY_BASE_SECONDS = 5.0


class LoopResources(Protocol):
    """Kept on a long-lived event loop between jobs, released when it ends (the Zoho CRM
    integration keeps each connection's HTTP client: alix.integrations.zoho_crm.kept_clients)."""

    def keep(self) -> None: ...

    async def release(self) -> None: ...


class JobRunner:
    """Runs jobs on a background thread so requests never wait for them.

    Claiming is a conditional UPDATE, so several runners (web app, CLI, other hosts) can
    poll the same table; jobs with a lease key also take the key's lease first. A running job
    whose heartbeat is older than `heartbeat_seconds` is claimed like a queued one.
    """

    def __init__(
        self,
        engine: Engine,
        session_factory: sessionmaker[Session],
        queue: JobQueue,
        *,
        clock: Clock = utc_now,
        poll_seconds: float = 2.0,
        name: str | None = None,
        heartbeat_seconds: float = HEARTBEAT_SECONDS,
        on_progress: ProgressListener | None = None,
        scheduler: Callable[[], object] | None = None,  # queues due schedules (alix.jobs.scheduler)
        loop_resources: Sequence[LoopResources] = (),
    ) -> None:
        self._engine = engine
        self._sessions = session_factory
        self._queue = queue
        self._clock = clock
        self._poll = poll_seconds
        self._threshold = heartbeat_seconds
        self._on_progress = on_progress
        self._scheduler = scheduler
        self._resources = tuple(loop_resources)
        self.name = name or f"runner-{os.getpid()}-{uuid.uuid4().hex[:6]}"
        self._leases = LeaseStore(engine, clock=clock)
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        queue.add_waker(self._wake)

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._main, name=self.name, daemon=True)
            self._thread.start()

    def request_stop(self) -> None:
        """Ask the running job to end at its next checkpoint and the loop to claim no more;
        safe to call from a signal handler."""
        self._stop.set()
        self._wake.set()

    @property
    def alive(self) -> bool:
        """Started and its thread still running (readiness asks this)."""
        return self._thread is not None and self._thread.is_alive()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop gracefully: the current page commits, its job goes back to the queue."""
        self.request_stop()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _main(self) -> None:
        asyncio.run(self._loop())

    async def _loop(self) -> None:
        # The thread's loop lives as long as the runner: what jobs open on it is kept.
        for resource in self._resources:
            resource.keep()
        try:
            while not self._stop.is_set():
                if self._scheduler is not None:
                    await asyncio.to_thread(self._scheduler)
                ran = await self.run_pending()
                if not ran:
                    await asyncio.to_thread(self._wake.wait, self._poll)
                    self._wake.clear()
        finally:
            for resource in self._resources:
                await resource.release()

    async def run_pending(self, limit: int = 50) -> int:
        """Claim and run due jobs (and abandoned ones) one after the other; how many ran."""
        ran = 0
        while ran < limit and not self._stop.is_set():
            job = self._claim()
            if job is None:
                break
            await self._run(job)
            ran += 1
        return ran

    async def run_job(self, job_id: int) -> bool:
        """Claim and run this one job if it is queued (even before its retry time) or
        abandoned; False when it is not claimable now (running elsewhere, its lease held,
        or finished)."""
        job = self._claim(job_id)
        if job is None:
            return False
        await self._run(job)
        return True

    def _claimable(self, asked: bool = False) -> ColumnElement[bool]:
        now = self._clock()
        # A job asked for by id (the CLI's) runs now, even while it waits for a retry.
        waiting = Job.status == QUEUED if asked else and_(Job.status == QUEUED,
                                                          Job.run_after <= now)
        return or_(waiting, abandoned(now, self._threshold))

    def _claim(self, job_id: int | None = None) -> Job | None:
        asked = job_id is not None
        query = select(Job).where(self._claimable(asked))
        if job_id is not None:
            query = query.where(Job.id == job_id)
        with self._sessions() as session:
            candidates = session.scalars(query.order_by(Job.run_after, Job.id).limit(20)).all()
        for job in candidates:
            if job.lease_key and not self._leases.acquire(
                job.lease_key, self.name, self._threshold
            ):
                continue
            now = self._clock()
            with self._engine.begin() as conn:
                claimed = conn.execute(
                    update(Job)
                    .where(Job.id == job.id, self._claimable(asked))
                    .values(status=RUNNING, started_at=now, heartbeat_at=now, worker=self.name,
                            attempts=Job.attempts + 1)
                ).rowcount
            if claimed and self._runnable(job):
                job.attempts += 1
                return job
            if job.lease_key:
                self._leases.release(job.lease_key, self.name)
        return None

    def _runnable(self, job: Job) -> bool:
        """A reclaimed job runs again unless its process died too often (a job that kills
        its process, e.g. out of memory, must not kill every runner in turn)."""
        if job.status != RUNNING:
            return True
        log.warning("Reclaimed job %s (%s) from %s, whose heartbeat stopped.", job.id, job.task,
                    job.worker)
        if job.attempts < job.max_attempts:
            return True
        self._finish(job, status=FAILED, finished_at=self._clock(), error=(
            f"Job {job.id} ({job.task}) was running on {job.worker}, which stopped without "
            f"finishing it; after {job.attempts} attempts it is not tried again."))
        return False

    def _finish(self, job: Job, **values: object) -> None:
        """Write the job's outcome, unless another runner reclaimed it meanwhile."""
        with self._engine.begin() as conn:
            conn.execute(update(Job).where(
                Job.id == job.id, Job.worker == self.name, Job.status == RUNNING,
            ).values(**values))

    async def _run(self, job: Job) -> None:
        heartbeat = Heartbeat(self._engine, self._leases, job.id, job.lease_key, self.name,
                              self._threshold, self._clock)
        ctx = TaskContext(
            job_id=job.id,
            organisation_id=job.organisation_id,
            payload=dict(job.payload or {}),
            session_factory=self._sessions,
            clock=self._clock,
            queue=self._queue,
            should_stop=lambda: self._stop.is_set() or heartbeat.lost,
            on_progress=self._on_progress,
        )
        # Every line logged while the job runs, in any module, names the job and its scope;
        # the task binds more as it learns it (the sync its organisation and run ids), and
        # all of it goes with the job: the next job of this runner starts from what was.
        ids = {"job_id": job.id, "task": job.task, "organisation_id": job.organisation_id,
               "connection_id": (job.payload or {}).get("connection_id"), "worker": self.name}
        before = structlog.contextvars.get_contextvars()
        structlog.contextvars.bind_contextvars(**{k: v for k, v in ids.items() if v is not None})
        try:
            with heartbeat:
                fn = self._queue.registry.get(job.task)
                result = fn(ctx)
                if asyncio.iscoroutine(result):
                    await result
        except JobInterrupted:
            log.info("Job %s (%s) stopped between pages; it is queued again.", job.id, job.task)
            # Not a failed attempt: the job resumes where its last page committed.
            self._finish(job, status=QUEUED, run_after=self._clock(), worker=None,
                         heartbeat_at=None, attempts=Job.attempts - 1)
        except Exception:  # the top of a run loop: record the failure with its job
            error = traceback.format_exc(limit=8)
            log.exception("Job %s (%s) failed on attempt %s", job.id, job.task, job.attempts)
            retry = job.attempts < job.max_attempts
            delay = RETRY_BASE_SECONDS * 2 ** (job.attempts - 1)
            self._finish(job, status=QUEUED if retry else FAILED,
                         run_after=self._clock() + timedelta(seconds=delay),
                         finished_at=None if retry else self._clock(), heartbeat_at=None,
                         error=error[-4000:])
        else:
            self._finish(job, status=DONE, finished_at=self._clock(), error=None)
            log.info("Job %s (%s) done.", job.id, job.task)
        finally:
            if job.lease_key:
                self._leases.release(job.lease_key, self.name)
            structlog.contextvars.clear_contextvars()
            structlog.contextvars.bind_contextvars(**before)
