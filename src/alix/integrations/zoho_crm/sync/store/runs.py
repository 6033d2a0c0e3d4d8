"""The sync's runs in `zoho_sync_runs`: started, advanced page by page, finished.

Progress is written in each page's transaction, so what the toast and the CLI bar read is what
is committed. Rate and ETA are derived by the reader from `started_at` and `done`.
"""

from __future__ import annotations

import enum
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import structlog
from sqlalchemy import delete, insert, select, update
from sqlalchemy.orm import Session

from alix.db import driver
from alix.errors import NotFound

from .scope import SyncScope
from .tables import zoho_sync_runs


class RunKind(enum.StrEnum):
    INITIAL = "initial"
    INCREMENTAL = "incremental"
    # The incremental pull a Zoho notification asked for (the hints' follow-up).
    REALTIME = "realtime"
    PUSH = "push"
    RECONCILE = "reconcile"


# The runs that bring Zoho's records into ALIX: what "the last sync" and "synchronized once"
# mean on Details, the CLI and the toast of a pull job (a push run says nothing about them).
PULL_KINDS = frozenset(RunKind) - {RunKind.PUSH}


class Starter(enum.StrEnum):
    """What started a run, when it was not a person (a person is stored by name and e-mail)."""

    SCHEDULE = "schedule"
    NOTIFICATION = "Zoho notification"
    COMMAND_LINE = "command line"
    # A push sending the changes of more than one person, or of no known person.
    ALIX_CHANGE = "ALIX change"


def person(name: str | None, email: str) -> str:
    """How a run started by a person records them: "Jane Smith <jane@acme.example>"."""
    return f"{name} <{email}>" if name else email


def pull_kind(*, initial: bool, reconcile: bool, started_by: str | None) -> RunKind:
    """The kind a pull records: the initial synchronization, the scheduled reconciliation,
    the real-time pull a Zoho notification asked for, or an incremental pull."""
    if initial:
        return RunKind.INITIAL
    if reconcile:
        return RunKind.RECONCILE
    return RunKind.REALTIME if started_by == Starter.NOTIFICATION else RunKind.INCREMENTAL


class RunStatus(enum.StrEnum):
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    # Its process stopped (killed, or shut down between two pages) before the run finished;
    # the next run resumed from the last committed page.
    INTERRUPTED = "interrupted"


@dataclass(frozen=True)
class ModuleProgress:
    done: int
    total: int | None  # None: not counted (incremental runs do not count first)


@dataclass(frozen=True)
class Run:
    id: int
    kind: RunKind
    status: RunStatus
    config_version: int
    started_at: datetime
    finished_at: datetime | None
    counts: Mapping[str, int]
    progress: Mapping[str, ModuleProgress]
    error: str | None
    started_by: str | None = None

    @property
    def done(self) -> int:
        return sum(p.done for p in self.progress.values())

    @property
    def total(self) -> int | None:
        """The total of all modules, or None when one is not counted."""
        totals = [p.total for p in self.progress.values()]
        return None if any(t is None for t in totals) else sum(t for t in totals if t is not None)


def _progress_json(progress: Mapping[str, ModuleProgress]) -> dict[str, Any]:
    return {m: {"done": p.done, "total": p.total} for m, p in progress.items()}


def _run(row: Any) -> Run:
    return Run(
        id=row.id, kind=RunKind(row.kind), status=RunStatus(row.status),
        config_version=row.config_version, started_at=row.started_at,
        finished_at=row.finished_at, counts={str(k): int(v) for k, v in row.counts.items()},
        progress={str(m): ModuleProgress(int(p["done"]), p.get("total"))
                  for m, p in row.progress.items()},
        error=row.error, started_by=row.started_by,
    )


_COLUMNS = [c for c in zoho_sync_runs.c if c.name not in ("organisation_id", "connection_id")]


def _interrupt_running(session: Session, scope: SyncScope, now: datetime) -> None:
    """Runs of a connection run on its job lane, one at a time: a run of it still 'running'
    when another starts was left by a process that died."""
    session.execute(update(zoho_sync_runs).where(
        zoho_sync_runs.c.connection_id == scope.connection_id,
        zoho_sync_runs.c.status == RunStatus.RUNNING.value,
    ).values(status=RunStatus.INTERRUPTED.value, finished_at=now, error=(
        "Its process stopped before it finished; the next run resumed from the last "
        "committed page.")))


def start_run(
    session: Session,
    scope: SyncScope,
    kind: RunKind,
    config_version: int,
    now: datetime,
    totals: Mapping[str, int | None] | None = None,
    started_by: str | None = None,
) -> int:
    """Record a run as running with the configuration version it uses; returns its id.

    `totals` (module -> count, from `actions/count`) gives the progress bar its end. Runs of
    a connection start on its job lane, one at a time, so a run of the connection still
    'running' now was left by a process that died: it is closed as interrupted.
    `started_by` says who or what started it (`person(...)` or a `Starter`).
    """
    _interrupt_running(session, scope, now)
    progress = {m: ModuleProgress(0, t) for m, t in (totals or {}).items()}
    run_id = int(session.execute(insert(zoho_sync_runs).values(
        **scope.stamp(), kind=kind.value, status=RunStatus.RUNNING.value,
        config_version=config_version, started_at=now, finished_at=None, counts={},
        progress=_progress_json(progress), error=None,
        started_by=started_by[:300] if started_by else None,
    ).returning(zoho_sync_runs.c.id)).scalar_one())
    # Every line the run logs from here names it (the job runner drops it with the job).
    structlog.contextvars.bind_contextvars(run_id=run_id)
    return run_id


def reopen_run(session: Session, scope: SyncScope, run_id: int, kind: RunKind,
               now: datetime, *, within: timedelta) -> bool:
    """Continue a run of `kind` that succeeded less than `within` ago: a job that handed its
    lane over between pages (and queued its rest) goes on as the same run in the history,
    not one run per turn. False when there is no such run; the caller starts a new one.

    As start_run, closes a run of the connection still 'running' as interrupted first."""
    _interrupt_running(session, scope, now)
    result = session.execute(update(zoho_sync_runs).where(
        zoho_sync_runs.c.connection_id == scope.connection_id, zoho_sync_runs.c.id == run_id,
        zoho_sync_runs.c.kind == kind.value,
        zoho_sync_runs.c.status == RunStatus.SUCCEEDED.value,
        zoho_sync_runs.c.finished_at >= now - within,
    ).values(status=RunStatus.RUNNING.value, finished_at=None))
    reopened = result.rowcount  # type: ignore[attr-defined]
    if reopened:
        structlog.contextvars.bind_contextvars(run_id=run_id)
    return bool(reopened)


def get_run(session: Session, scope: SyncScope, run_id: int) -> Run:
    row = session.execute(select(*_COLUMNS).where(
        zoho_sync_runs.c.connection_id == scope.connection_id, zoho_sync_runs.c.id == run_id,
    )).first()
    if row is None:
        raise NotFound(f"No sync run {run_id} on connection {scope.connection_id}.")
    return _run(row)


def record_progress(
    session: Session,
    scope: SyncScope,
    run_id: int,
    *,
    module: str | None = None,
    done: int = 0,
    total: int | None = None,
    counts: Mapping[str, int] | None = None,
) -> None:
    """Add a page's work: `done` records of `module` (and its total when now known), and
    the page's outcome `counts`, both added to what the run has."""
    # The two columns a page adds to, not the whole run: this runs once per page of every job.
    # Through the driver (driver.py): this runs once per page of every job.
    row = next(iter(driver.rows(session, "SELECT progress, counts FROM zoho_sync_runs "
                                         "WHERE connection_id = ? AND id = ?",
                                (scope.connection_id, run_id))), None)
    if row is None:
        raise NotFound(f"No sync run {run_id} on connection {scope.connection_id}.")
    stored_progress, stored_counts = (driver.json_value(v) for v in row)
    progress = {str(m): ModuleProgress(int(p["done"]), p.get("total"))
                for m, p in stored_progress.items()}
    if module is not None:
        before = progress.get(module, ModuleProgress(0, None))
        progress[module] = ModuleProgress(before.done + done,
                                          total if total is not None else before.total)
    merged = {str(k): int(v) for k, v in stored_counts.items()}
    for outcome, n in (counts or {}).items():
        merged[outcome] = merged.get(outcome, 0) + n
    driver.execute(session, "UPDATE zoho_sync_runs SET progress = ?, counts = ? WHERE id = ?",
                   (driver.json_text(_progress_json(progress)), driver.json_text(merged),
                    run_id))


def finish_run(
    session: Session,
    scope: SyncScope,
    run_id: int,
    status: RunStatus,
    now: datetime,
    error: str | None = None,
) -> None:
    """Close a run: succeeded, or failed with a sentence saying why."""
    session.execute(update(zoho_sync_runs).where(
        zoho_sync_runs.c.connection_id == scope.connection_id, zoho_sync_runs.c.id == run_id,
    ).values(status=status.value, finished_at=now, error=error))


def interrupt_run(session: Session, scope: SyncScope, run_id: int, now: datetime,
                  reason: str) -> None:
    """Close a run that stopped between two pages (its process shut down): what it
    committed stays, the next run resumes from there."""
    finish_run(session, scope, run_id, RunStatus.INTERRUPTED, now, error=reason)


def latest_run(session: Session, scope: SyncScope, kind: RunKind | None = None, *,
               kinds: Collection[RunKind] | None = None) -> Run | None:
    """The most recently started run of the connection (of one `kind`, or of `kinds`, e.g.
    PULL_KINDS for the last pull whatever pushed since), or None."""
    stmt = select(*_COLUMNS).where(zoho_sync_runs.c.connection_id == scope.connection_id)
    if kind is not None:
        stmt = stmt.where(zoho_sync_runs.c.kind == kind.value)
    if kinds is not None:
        stmt = stmt.where(zoho_sync_runs.c.kind.in_(sorted(k.value for k in kinds)))
    row = session.execute(stmt.order_by(zoho_sync_runs.c.id.desc()).limit(1)).first()
    return None if row is None else _run(row)


def forget_run(session: Session, scope: SyncScope, run_id: int) -> None:
    """Delete a run that turned out to have done nothing worth a line in the history."""
    session.execute(delete(zoho_sync_runs).where(
        zoho_sync_runs.c.connection_id == scope.connection_id, zoho_sync_runs.c.id == run_id))


def _quiet(run: Run) -> bool:
    return run.done == 0 and not any(run.counts.values())


def forget_quiet_reconciliations(session: Session, scope: SyncScope, keep_id: int) -> int:
    """Delete the succeeded reconciliations that found nothing, but the one `keep_id`: a check
    every few minutes would otherwise push every run that did something out of the history,
    while the newest quiet one still says when Zoho was last checked. Returns how many."""
    rows = session.execute(select(*_COLUMNS).where(
        zoho_sync_runs.c.connection_id == scope.connection_id,
        zoho_sync_runs.c.kind == RunKind.RECONCILE.value,
        zoho_sync_runs.c.status == RunStatus.SUCCEEDED.value,
        zoho_sync_runs.c.id != keep_id,
    )).all()
    quiet = [run.id for run in map(_run, rows) if _quiet(run)]
    if quiet:
        session.execute(delete(zoho_sync_runs).where(zoho_sync_runs.c.id.in_(quiet)))
    return len(quiet)
