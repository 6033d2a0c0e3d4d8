"""Handing jobs to procrastinate in the caller's transaction (the procrastinate engine).

The `jobs` row stays the job's record; beside it, in the same transaction on the same
connection, goes a procrastinate job naming it. ALIX calls `procrastinate_defer_jobs_v1`, the
SQL function procrastinate's own `defer` calls, because procrastinate's connectors own their
connection pools and cannot join the caller's SQLAlchemy transaction. This module does not
import procrastinate (web processes and SQLite set-ups need not load it); `alix.jobs.workers`
runs the jobs.
"""

from __future__ import annotations

import json
from collections.abc import Callable

from sqlalchemy import Connection, text
from sqlalchemy.orm import Session

from alix.jobs.queue import Dispatcher
from alix.jobs.tables import Job

# Procrastinate queues by kind of work; a worker serves all of them unless told otherwise.
REALTIME, BULK, MAINTENANCE = "realtime", "bulk", "maintenance"
# fetch_job takes the highest priority first: the real-time edits of every organisation before
# any import page, and the housekeeping that unblocks lanes before both.
PRIORITY = {MAINTENANCE: 20, REALTIME: 10, BULK: 0}

QueueOf = Callable[[str], str]

_DEFER = text(
    "SELECT procrastinate_defer_jobs_v1(ARRAY[ROW(:queue, :task, :priority, :lock, NULL,"
    " CAST(:args AS jsonb), CASE WHEN CAST(:delay AS double precision) > 0"
    " THEN now() + make_interval(secs => CAST(:delay AS double precision)) END"
    ")::procrastinate_job_to_defer_v1])"
)


def defer(conn: Connection | Session, job_id: int, task: str, lease_key: str | None,
          delay_seconds: float, queue_of: QueueOf) -> None:
    """Write the procrastinate job that runs `jobs` row `job_id`, in conn's transaction."""
    queue = queue_of(task)
    conn.execute(_DEFER, {"queue": queue, "task": task, "priority": PRIORITY.get(queue, 0),
                          "lock": lease_key, "args": json.dumps({"job_id": job_id}),
                          "delay": delay_seconds})


def procrastinate_dispatcher(queue_of: QueueOf) -> Dispatcher:
    """The JobQueue's hand-over to procrastinate: a job queued with a delay waits as long."""

    def dispatch(session: Session, job: Job) -> None:
        delay = (job.run_after - job.created_at).total_seconds()
        defer(session, job.id, job.task, job.lease_key, delay, queue_of)

    return dispatch
