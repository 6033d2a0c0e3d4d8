"""The pull as a job: the task the runner executes, and starting it on a connection's lane."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event, select
from sqlalchemy.orm import Session

from alix.db.session import unit_of_work
from alix.errors import Conflict
from alix.integrations.zoho_crm.mappers import ModuleKind
from alix.integrations.zoho_crm.repository import connected, load_configuration
from alix.integrations.zoho_crm.services import ZohoServices
from alix.integrations.zoho_crm.sync.store import runs as run_store
from alix.integrations.zoho_crm.sync.store.scope import SyncScope
from alix.integrations.zoho_crm.sync.watermark import SETTLE
from alix.jobs.queue import JobInterrupted, JobQueue, TaskContext
from alix.jobs.tables import QUEUED, RUNNING, Job

from .context import PULL_SHARE, LaneSlice, lane_key, open_context
from .pull import run_pull, summary

PULL_TASK = "zoho_crm.pull"


async def pull_task(ctx: TaskContext, zoho: ZohoServices) -> None:
    """Run the pull of `payload.connection_id` (`payload.initial`: count first, record the
    run as the initial synchronization), reporting each page's progress to the job.

    It stops between two pages when the runner asks (the page committed, so the next run of
    the job resumes from its watermarks); the run is then recorded as interrupted.
    """
    connection_id = int(ctx.payload["connection_id"])
    initial = bool(ctx.payload.get("initial"))

    def progress(done: int, total: int | None, message: str) -> None:
        ctx.report_progress(done, total, message)
        # The run reports done == total once more after it closed its run row: stopping
        # there would record a finished run as interrupted.
        if total is None or done < total:
            ctx.checkpoint()

    try:
        async with open_context(ctx.session_factory, connection_id, zoho.crm_factory,
                                ctx.clock) as sync:
            report = await run_pull(sync, initial=initial,
                                    reconcile=bool(ctx.payload.get("reconcile")),
                                    progress=progress, started_by=started_by(ctx.payload),
                                    deletions=wants_deletions(ctx.payload),
                                    bulk_above=zoho.bulk_read_above,
                                    process_above=zoho.import_process_above,
                                    head_start=zoho.import_head_start,
                                    # An initial import is one run a person watches; the
                                    # incremental pulls take turns with push and hints.
                                    turn=None if initial else LaneSlice(
                                        ctx.session_factory, connection_id, PULL_TASK,
                                        ctx.clock, PULL_SHARE))
    except JobInterrupted:
        _record_interrupted(ctx, connection_id)
        raise
    done = sum(report.read.values())
    ctx.report_progress(done, done, f"Zoho CRM sync done: {summary(report)}")
    if report.deferred:
        # Changes inside the settle window were left for the next run: queue it for just
        # after the window, or nothing would pull them before the next reconciliation.
        with unit_of_work(ctx.session_factory) as session:
            follow_up(session, ctx.queue, ctx.organisation_id, connection_id,
                      started_by=started_by(ctx.payload),
                      deletions=report.deferred_deletions > 0)


def wants_deletions(payload: dict[str, Any]) -> bool:
    """Whether the pull asks Zoho for deleted records: all do (the reconciliation, a
    person's sync, a deletion's notification, and jobs queued before the field existed)
    except the follow-up of a pull that deferred only changed records."""
    return bool(payload.get("deletions", True))


def _check_deletions(job: Job) -> None:
    """Make a queued pull ask for deleted records too (JSON columns change by assignment)."""
    if not wants_deletions(job.payload):
        job.payload = {**job.payload, "deletions": True}


def started_by(payload: dict[str, Any]) -> str | None:
    """Who or what started the pull (its run records it): the payload's `started_by`; the
    reconciliation's schedule predates the field, so a reconcile without one is the schedule's."""
    found = payload.get("started_by")
    if found:
        return str(found)
    return run_store.Starter.SCHEDULE.value if payload.get("reconcile") else None


def _starter(started_by: str | None) -> dict[str, str]:
    return {"started_by": started_by} if started_by else {}


def follow_up(session: Session, queue: JobQueue, organisation_id: int | None,
              connection_id: int, *, started_by: str | None = None,
              deletions: bool = True) -> Job:
    """Queue the connection's next incremental pull for once the settle window has closed;
    a pull already queued is returned instead (it defers again what is still too new), made
    to check deletions when this one must.
    `started_by`: who or what asked for it (a Zoho notification, the pull it follows);
    `deletions`: whether it asks Zoho for deleted records (see wants_deletions)."""
    queued = session.scalars(select(Job).where(
        Job.task == PULL_TASK, Job.lease_key == lane_key(connection_id), Job.status == QUEUED,
    ).limit(1)).first()
    if queued is not None:
        if deletions:
            _check_deletions(queued)
        return queued
    payload: dict[str, Any] = {"connection_id": connection_id, "initial": False,
                               "deletions": deletions, **_starter(started_by)}
    return queue.enqueue(session, PULL_TASK, payload, organisation_id=organisation_id,
                         lease_key=lane_key(connection_id), max_attempts=3,
                         delay_seconds=SETTLE.total_seconds() + 1)


def _record_interrupted(ctx: TaskContext, connection_id: int) -> None:
    """The pull closed its run as failed on the way out; the job is only paused, so say so.
    The connection's lane is still held: its latest run is this job's."""
    with unit_of_work(ctx.session_factory) as session:
        scope = SyncScope(int(ctx.organisation_id or 0), connection_id)
        run = run_store.latest_run(session, scope, kinds=run_store.PULL_KINDS)
        if run is not None and run.status is not run_store.RunStatus.SUCCEEDED:
            run_store.interrupt_run(session, scope, run.id, ctx.clock(), (
                "Stopped between two pages when its process shut down; the sync resumes "
                "from the last committed page."))


def start_for_organisation(session: Session, queue: JobQueue, organisation_id: int, *,
                           initial: bool, started_by: str | None = None) -> Job:
    """Queue a pull of the organisation's connection (the cloud icon, the API, the CLI);
    `started_by` names who asked (store.runs.person or a Starter).

    Refused with Conflict when Zoho CRM is not connected or Customers is off.
    """
    connection = connected(session, organisation_id)
    if not load_configuration(session, connection.id).module(ModuleKind.CUSTOMERS).active:
        raise Conflict("Activate Customers on Zoho CRM's Details before synchronizing: the "
                       "synchronization imports customers.")
    return start_pull(session, queue, organisation_id, connection.id, initial=initial,
                      started_by=started_by)


def start_pull(session: Session, queue: JobQueue, organisation_id: int, connection_id: int,
               *, initial: bool, started_by: str | None = None) -> Job:
    """Queue a pull of the connection in the caller's transaction, on the connection's lane
    (never beside its push); a pull already queued or running is returned instead of a
    second one.

    A running pull whose process died is returned too: its heartbeat has stopped, so a
    runner reclaims it within the heartbeat threshold and it resumes from its last page.
    """
    running = session.scalars(select(Job).where(
        Job.task == PULL_TASK, Job.lease_key == lane_key(connection_id),
        Job.status.in_((QUEUED, RUNNING)),
    ).order_by(Job.id).limit(1)).first()
    if running is not None:
        if running.status == QUEUED:
            _check_deletions(running)  # a person's sync checks everything
        # Wake the runners once this transaction commits: a queued pull may be waiting for
        # its poll, an abandoned one for its reclaim.
        event.listen(session, "after_commit", lambda _s: queue.wake(), once=True)
        return running
    payload: dict[str, Any] = {"connection_id": connection_id, "initial": initial,
                               **_starter(started_by)}
    return queue.enqueue(session, PULL_TASK, payload, organisation_id=organisation_id,
                         lease_key=lane_key(connection_id), max_attempts=3)
