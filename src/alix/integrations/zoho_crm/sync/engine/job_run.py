"""The run row of a job that records one only once it has work: the push and the hints.

Those jobs wake for every ALIX change and every Zoho callback, and many find nothing left to
do (an echo of our own write, a change an earlier job already sent). A row for each would push
the runs that did something out of the status page's "Last runs", as the reconciliation's quiet
runs would (store.runs.forget_quiet_reconciliations). So the row starts in the transaction of
the first page with work, and a job that finds none leaves no row.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.orm import Session, sessionmaker

from alix.clock import Clock
from alix.db.session import unit_of_work
from alix.integrations.zoho_crm.sync.store import runs as run_store
from alix.integrations.zoho_crm.sync.store.scope import SyncScope
from alix.jobs.queue import JobQueue, waiting_job_id
from alix.jobs.tables import Job

# A turn's rest runs right after the job that waited; a run closed longer ago than this is
# not continued (the rest then shows as a run of its own).
RESUME_WITHIN = timedelta(minutes=10)


@dataclass
class LazyRun:
    """A job's run, started by its first page with work (`start`), closed by `close`."""

    scope: SyncScope
    kind: run_store.RunKind
    config_version: int
    clock: Clock
    run_id: int | None = None
    # The run of the job that handed the lane over and queued this one for its rest: this
    # job goes on as that run (store.runs.reopen_run) instead of starting another.
    resume: int | None = None
    reopened: bool = False

    def start(self, session: Session, started_by: str | None) -> None:
        """Start the run in the caller's transaction, once, or continue the one to `resume`;
        from here the job's log lines name it (store.runs.start_run binds its id)."""
        if self.run_id is not None:
            return
        if self.resume is not None and run_store.reopen_run(
                session, self.scope, self.resume, self.kind, self.clock(), within=RESUME_WITHIN):
            self.run_id, self.reopened = self.resume, True
            return
        self.run_id = run_store.start_run(session, self.scope, self.kind, self.config_version,
                                          self.clock(), started_by=started_by)

    def record(self, session: Session, counts: Mapping[str, int], *,
               module: str | None = None, done: int = 0) -> None:
        """Add a page's outcome counts (and `done` records of `module`) to the started run."""
        counts = {what: n for what, n in counts.items() if n}
        if self.run_id is not None and (counts or done):
            run_store.record_progress(session, self.scope, self.run_id, module=module,
                                      done=done, counts=counts)

    def close(self, sessions: sessionmaker[Session], error: str | None = None, *,
              forget: bool = False) -> None:
        """Close the started run: succeeded, or failed with `error`; `forget` deletes it
        instead (it did nothing after all)."""
        if self.run_id is None:
            return
        with unit_of_work(sessions) as session:
            if forget and error is None and not self.reopened:  # it holds earlier turns' work
                run_store.forget_run(session, self.scope, self.run_id)
                return
            status = run_store.RunStatus.FAILED if error else run_store.RunStatus.SUCCEEDED
            run_store.finish_run(session, self.scope, self.run_id, status, self.clock(),
                                 error=error[:2000] if error else None)


def queue_once(session: Session, queue: JobQueue, task: str, connection_id: int, *,
               lease_key: str, organisation_id: int | None = None,
               resume: int | None = None) -> bool:
    """Queue `task` for the connection unless one already waits on its lane; False then.

    `resume`: the run of a job that handed the lane over; whichever job runs next for its
    rest (this one, or the one already waiting) goes on with that run (LazyRun.resume)."""
    waiting = waiting_job_id(session, task, lease_key)
    if waiting is not None:
        job = session.get(Job, waiting) if resume is not None else None
        if job is not None and job.payload.get("resume") is None:
            job.payload = {**job.payload, "resume": resume}
        return False
    payload = {"connection_id": connection_id}
    if resume is not None:
        payload["resume"] = resume
    queue.enqueue(session, task, payload, organisation_id=organisation_id, lease_key=lease_key)
    return True
