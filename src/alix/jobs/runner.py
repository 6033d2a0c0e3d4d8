"""The in-process runner: a thread with its own event loop that claims and runs queued jobs."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import threading
import traceback
import uuid
from collections.abc import Mapping
from datetime import timedelta

from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session, sessionmaker

from alix.clock import Clock, utc_now
from alix.jobs.lease import LeaseStore
from alix.jobs.model import DONE, FAILED, QUEUED, RUNNING, Job
from alix.jobs.queue import JobQueue, TaskContext

log = logging.getLogger(__name__)

LEASE_SECONDS = 300.0
RETRY_BASE_SECONDS = 5.0


class JobRunner:
    """Runs jobs on a background thread so requests never wait for them.

    Claiming is a conditional UPDATE, so several runners (web app, CLI, other hosts) can
    poll the same table; jobs with a lease key also take the key's lease first.
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
        services: Mapping[str, object] | None = None,
        lease_seconds: float = LEASE_SECONDS,
    ) -> None:
        self._engine = engine
        self._sessions = session_factory
        self._queue = queue
        self._clock = clock
        self._poll = poll_seconds
        self._services: Mapping[str, object] = {} if services is None else services
        self._lease_seconds = lease_seconds
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

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _main(self) -> None:
        asyncio.run(self._loop())

    async def _loop(self) -> None:
        while not self._stop.is_set():
            ran = await self.run_pending()
            if not ran:
                await asyncio.to_thread(self._wake.wait, self._poll)
                self._wake.clear()

    async def run_pending(self, limit: int = 50) -> int:
        """Claim and run due jobs one after the other; returns how many ran."""
        ran = 0
        while ran < limit and not self._stop.is_set():
            job = self._claim()
            if job is None:
                break
            await self._run(job)
            ran += 1
        return ran

    def _claim(self) -> Job | None:
        now = self._clock()
        with self._sessions() as session:
            candidates = session.scalars(
                select(Job)
                .where(Job.status == QUEUED, Job.run_after <= now)
                .order_by(Job.run_after, Job.id)
                .limit(20)
            ).all()
        for job in candidates:
            if job.lease_key and not self._leases.acquire(
                job.lease_key, self.name, self._lease_seconds
            ):
                continue
            with self._engine.begin() as conn:
                claimed = conn.execute(
                    update(Job)
                    .where(Job.id == job.id, Job.status == QUEUED)
                    .values(status=RUNNING, started_at=now, worker=self.name,
                            attempts=Job.attempts + 1)
                ).rowcount
            if claimed:
                job.attempts += 1
                return job
            if job.lease_key:
                self._leases.release(job.lease_key, self.name)
        return None

    async def _run(self, job: Job) -> None:
        ctx = TaskContext(
            job_id=job.id,
            organisation_id=job.organisation_id,
            payload=dict(job.payload or {}),
            session_factory=self._sessions,
            clock=self._clock,
            queue=self._queue,
            services=self._services,
        )
        # A long job (an initial sync) outlives one lease period: keep renewing it, or another
        # process would take the key over and work on the same connection at the same time.
        renewal = asyncio.create_task(self._keep_lease(job.lease_key)) if job.lease_key else None
        try:
            fn = self._queue.registry.get(job.task)
            result = fn(ctx)
            if asyncio.iscoroutine(result):
                await result
        except Exception:  # the top of a run loop: record the failure with its job
            error = traceback.format_exc(limit=8)
            log.exception("Job %s (%s) failed on attempt %s", job.id, job.task, job.attempts)
            retry = job.attempts < job.max_attempts
            delay = RETRY_BASE_SECONDS * 2 ** (job.attempts - 1)
            with self._engine.begin() as conn:
                conn.execute(
                    update(Job).where(Job.id == job.id).values(
                        status=QUEUED if retry else FAILED,
                        run_after=self._clock() + timedelta(seconds=delay),
                        finished_at=None if retry else self._clock(),
                        error=error[-4000:],
                    )
                )
        else:
            with self._engine.begin() as conn:
                conn.execute(
                    update(Job).where(Job.id == job.id)
                    .values(status=DONE, finished_at=self._clock(), error=None)
                )
        finally:
            if renewal is not None:
                renewal.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await renewal
            if job.lease_key:
                self._leases.release(job.lease_key, self.name)

    async def _keep_lease(self, key: str) -> None:
        while True:
            await asyncio.sleep(self._lease_seconds / 3)
            if not await asyncio.to_thread(self._leases.acquire, key, self.name,
                                           self._lease_seconds):
                log.error("Lost the lease %s while a job held it; another process took it.", key)
                return
