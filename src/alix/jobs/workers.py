"""procrastinate workers: on PostgreSQL, jobs run on any number of processes and machines.

The `jobs` row stays the record of a job (status, attempts, the progress the toast shows),
whatever engine runs it; `alix.jobs.deferral` writes its procrastinate job in the enqueuing
transaction, so a rolled-back job never exists and a committed one wakes a worker at once.

`alix worker` runs each procrastinate job through a `JobRunner` (the in-process runner's
claim, lease, heartbeat and outcome), so the task functions and their `TaskContext` are the
same ones. Who guarantees what:

- one connection's tasks never overlap: procrastinate's `lock` is the job's lease key, and the
  runner still takes the lease, which also keeps out in-process runners (`alix sync`);
- a killed worker's job comes back: a periodic task retries the procrastinate jobs of workers
  whose heartbeat stopped (`get_stalled_jobs`), and the runner reclaims the `jobs` row, whose
  heartbeat stopped at the same time (both use `job_heartbeat_seconds`);
- the relay, a periodic task, defers `jobs` rows that are due and have no live procrastinate
  job (a job whose reclaim came too early, one an `alix sync` let go), so nothing waits forever;
- the scheduler's tick is a periodic task with a lock: one tick at a time across all workers;
- queues per kind of work (realtime before bulk) keep one organisation's import from delaying
  the others' edits: the realtime kinds have a higher procrastinate priority, and a worker can
  be given `--queues realtime` to serve nothing else.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from procrastinate import App, JobContext, PsycopgConnector
from procrastinate.schema import SchemaManager
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from alix.clock import Clock
from alix.jobs.deferral import MAINTENANCE, QueueOf, defer
from alix.jobs.queue import JobQueue
from alix.jobs.runner import JobRunner, LoopResources
from alix.jobs.tables import QUEUED, RUNNING, Job

log = logging.getLogger(__name__)

STALLED_TASK = "alix.retry_stalled"
RELAY_TASK = "alix.relay"
TICK_TASK = "alix.tick"
# A job whose lane an in-process runner holds is tried again this much later, not in a loop.
BUSY_DELAY_SECONDS = 5.0
# Workers starting together create procrastinate's schema once (pg_advisory_xact_lock key).
SCHEMA_LOCK = 0x616C6978

# Due or abandoned `jobs` rows that no procrastinate job will run (todo or doing).
_ORPHANS = text(
    "SELECT j.id FROM jobs j"
    " WHERE ((j.status = :queued AND j.run_after <= :now)"
    "        OR (j.status = :running AND COALESCE(j.heartbeat_at, j.started_at) < :cutoff))"
    "   AND NOT EXISTS (SELECT 1 FROM procrastinate_jobs p"
    "                    WHERE p.status IN ('todo', 'doing')"
    "                      AND p.args ->> 'job_id' = CAST(j.id AS text))"
    " ORDER BY j.id LIMIT 500"
)


def conninfo(database_url: str) -> str:
    """libpq's URI for the app's SQLAlchemy URL: same server, database and options (the
    search_path), so procrastinate's tables sit beside the app's."""
    url = make_url(database_url).set(drivername="postgresql")
    return url.render_as_string(hide_password=False)


def ensure_schema(engine: Engine) -> bool:
    """Create procrastinate's tables and functions in the search_path's first schema unless
    they exist; True when created. Workers call it on start (like `procrastinate schema
    --apply`, but only once however many workers start together)."""
    with engine.begin() as conn:
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": SCHEMA_LOCK})
        if conn.execute(text("SELECT to_regclass('procrastinate_jobs')")).scalar() is not None:
            return False
        # The schema script has many statements: psycopg runs them in one call only without
        # parameters, which SQLAlchemy's execute always passes.
        driver: Any = conn.connection.driver_connection
        driver.execute(SchemaManager.get_schema())
    return True


@dataclass(frozen=True)
class WorkerWiring:
    """What a worker needs from the composition root (bootstrap builds it)."""

    database_url: str
    engine: Engine
    session_factory: sessionmaker[Session]
    queue: JobQueue
    clock: Clock
    queue_of: QueueOf
    scheduler: Callable[[], object] | None = None
    # Kept on each slot's event loop between its jobs (the Zoho clients), released at the end.
    loop_resources: tuple[LoopResources, ...] = ()


@dataclass(frozen=True)
class WorkerOptions:
    concurrency: int = 4
    queues: tuple[str, ...] | None = None  # None: every queue
    name: str | None = None
    # A worker (and a running job) silent this long is dead: its jobs are retried.
    stalled_seconds: float = 60.0
    relay_seconds: int = 30
    tick_seconds: int = 5
    # False: run what is due, then return (one-off runs and tests).
    wait: bool = True


def every(seconds: int) -> str:
    """procrastinate's cron with a seconds column: every `seconds` (1..59)."""
    if not 1 <= seconds <= 59:
        raise ValueError(f"A worker's periodic tasks run every 1 to 59 seconds, not {seconds}.")
    return f"* * * * * */{seconds}"


class _Slot:
    """One concurrent job at a time: its runner, and the event loop its jobs run on.

    The loop is created on first use and kept until the worker stops, so what jobs open on
    it (each connection's Zoho client) serves the slot's next jobs too. Jobs run on a pool
    thread, never on procrastinate's loop: a task blocking between awaits must not stall the
    heartbeat that tells the other workers this one is alive.
    """

    def __init__(self, runner: JobRunner, resources: tuple[LoopResources, ...]) -> None:
        self.runner = runner
        self._resources = resources
        self._loop: asyncio.Runner | None = None
        self._lock = threading.Lock()  # the slot's job vs. the worker closing it

    def run_job(self, job_id: int) -> bool:
        with self._lock:
            if self._loop is None:
                self._loop = asyncio.Runner()
                self._loop.run(self._keep())
            return self._loop.run(self.runner.run_job(job_id))

    async def _keep(self) -> None:
        for resource in self._resources:
            resource.keep()

    async def _release(self) -> None:
        for resource in self._resources:
            await resource.release()

    def close(self) -> None:
        """Release what the loop kept and close it; waits for a running job's page."""
        with self._lock:
            if self._loop is None:
                return
            try:
                self._loop.run(self._release())
            finally:
                self._loop.close()
                self._loop = None


class RunnerPool:
    """One JobRunner per concurrent job: a runner's name is its lease owner, and two jobs of one
    process must not share an owner (a lease's owner may take it again)."""

    def __init__(self, wiring: WorkerWiring, options: WorkerOptions, name: str) -> None:
        self._slots = [
            _Slot(JobRunner(wiring.engine, wiring.session_factory, wiring.queue,
                            clock=wiring.clock, name=f"{name}-{slot}",
                            heartbeat_seconds=options.stalled_seconds),
                  wiring.loop_resources)
            for slot in range(options.concurrency)
        ]
        self._free: asyncio.Queue[_Slot] | None = None
        # Threads of their own: asyncio's default pool (cores + 4) would leave the relay and
        # the tick waiting behind long imports when the concurrency is higher.
        self.threads = ThreadPoolExecutor(options.concurrency, thread_name_prefix=name)

    @contextlib.asynccontextmanager
    async def slot(self) -> AsyncIterator[_Slot]:
        if self._free is None:  # created on the worker's event loop
            self._free = asyncio.Queue()
            for slot in self._slots:
                self._free.put_nowait(slot)
        slot = await self._free.get()
        try:
            yield slot
        finally:
            self._free.put_nowait(slot)

    def request_stop(self) -> None:
        """Running jobs stop at their next checkpoint and go back to the queue."""
        for slot in self._slots:
            slot.runner.request_stop()

    def close(self) -> None:
        """Close every slot's loop (each waits for its running job to stop at a checkpoint)."""
        for slot in self._slots:
            slot.close()


def _follow_up(wiring: WorkerWiring, job_id: int, ran: bool) -> None:
    """A job the runner put back (a failed attempt to retry, a stop between two pages) or
    could not take (its lane held by an in-process runner) gets its next procrastinate job."""
    with wiring.session_factory.begin() as session:
        job = session.get(Job, job_id)
        if job is None or job.status != QUEUED:
            return  # done, failed for good, or running elsewhere (the relay watches that)
        delay = (job.run_after - wiring.clock()).total_seconds()
        if not ran:
            delay = max(delay, BUSY_DELAY_SECONDS)
        defer(session, job.id, job.task, job.lease_key, delay, wiring.queue_of)


def relay(wiring: WorkerWiring, threshold_seconds: float) -> list[int]:
    """Defer the due or abandoned `jobs` rows that no procrastinate job will run; their ids."""
    now = wiring.clock()
    with wiring.session_factory.begin() as session:
        rows = session.execute(_ORPHANS, {
            "queued": QUEUED, "running": RUNNING, "now": now,
            "cutoff": now - timedelta(seconds=threshold_seconds)}).scalars().all()
        for job_id in rows:
            job = session.get(Job, job_id)
            assert job is not None
            defer(session, job.id, job.task, job.lease_key, 0, wiring.queue_of)
    if rows:
        log.warning("Relayed %s job(s) that no worker was going to run: %s", len(rows), rows)
    return list(rows)


def build_app(wiring: WorkerWiring, options: WorkerOptions, pool: RunnerPool) -> App:
    """A procrastinate App with every registered task, and the periodic housekeeping."""
    app = App(connector=PsycopgConnector(conninfo=conninfo(wiring.database_url)))

    def task_runner(name: str) -> Callable[..., Any]:
        async def run(context: JobContext, job_id: int) -> None:
            async with pool.slot() as slot:
                ran = await asyncio.get_running_loop().run_in_executor(
                    pool.threads, slot.run_job, job_id)
            await asyncio.to_thread(_follow_up, wiring, job_id, ran)

        run.__name__ = run.__qualname__ = name.replace(".", "_")
        return run

    for name in wiring.queue.registry.tasks:
        app.task(name=name, pass_context=True, queue=wiring.queue_of(name))(task_runner(name))

    # Several looks per threshold, so a dead worker's lane is blocked little past it.
    @app.periodic(cron=every(max(1, min(59, int(options.stalled_seconds / 4)))))
    @app.task(name=STALLED_TASK, queue=MAINTENANCE, lock=STALLED_TASK,
              queueing_lock=STALLED_TASK)
    async def retry_stalled(timestamp: int) -> None:
        stalled = await app.job_manager.get_stalled_jobs(
            seconds_since_heartbeat=options.stalled_seconds)
        for job in stalled:
            if job.task_name == STALLED_TASK:
                continue
            log.warning("Retrying job %s (%s) of worker %s, whose heartbeat stopped.", job.id,
                        job.task_name, job.worker_id)
            await app.job_manager.retry_job(job)

    @app.periodic(cron=every(options.relay_seconds))
    @app.task(name=RELAY_TASK, queue=MAINTENANCE, lock=RELAY_TASK, queueing_lock=RELAY_TASK)
    async def relay_orphans(timestamp: int) -> None:
        await asyncio.to_thread(relay, wiring, options.stalled_seconds)

    if wiring.scheduler is not None:
        scheduler = wiring.scheduler

        @app.periodic(cron=every(options.tick_seconds))
        @app.task(name=TICK_TASK, queue=MAINTENANCE, lock=TICK_TASK, queueing_lock=TICK_TASK)
        async def tick(timestamp: int) -> None:
            await asyncio.to_thread(scheduler)

    return app


async def run_worker(wiring: WorkerWiring, options: WorkerOptions) -> None:
    """Run a procrastinate worker until SIGTERM or Ctrl-C (or, with `wait=False`, until no job
    is due). A stop lets running jobs commit their page and go back to the queue."""
    await asyncio.to_thread(ensure_schema, wiring.engine)
    name = options.name or f"worker-{os.uname().nodename}-{os.getpid()}"
    pool = RunnerPool(wiring, options, name)
    app = build_app(wiring, options, pool)
    async with app.open_async():
        # procrastinate reads "no queues given" as every queue; an empty list would be none.
        chosen: dict[str, Any] = {"queues": list(options.queues)} if options.queues else {}
        work = asyncio.create_task(app.run_worker_async(
            name=name, concurrency=options.concurrency, wait=options.wait, **chosen,
            install_signal_handlers=False, delete_jobs="successful",
            update_heartbeat_interval=max(0.1, options.stalled_seconds / 4),
            stalled_worker_timeout=options.stalled_seconds,
            fetch_job_polling_interval=min(5.0, options.stalled_seconds / 2)))

        def stop() -> None:
            pool.request_stop()
            work.cancel()

        try:
            with _signals(stop), contextlib.suppress(asyncio.CancelledError):
                await work
        finally:
            pool.threads.shutdown(wait=False)
            await asyncio.to_thread(pool.close)


@contextlib.contextmanager
def _signals(stop: Callable[[], None]) -> Iterator[None]:
    """SIGTERM and Ctrl-C stop the worker gracefully (the main thread's loop only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop)
    try:
        yield
    finally:
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)
