"""Readiness: may this process take traffic? Its database answers and its schema is current.

Liveness (`/healthz`, in `alix.web.pages`) says only that the process serves requests: an
orchestrator restarts a process that fails it, so it must not depend on the database (a
database outage would restart every web process for nothing). Readiness (`/readyz`) is what a
load balancer asks before sending traffic: it fails while the database is unreachable, while a
migration is pending (the code and the schema disagree), while this process's in-process job
runner has died, or, with procrastinate workers, while no worker has beaten its heartbeat
within `job_heartbeat_seconds` (nothing would run the jobs the web queues).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

import anyio
from fastapi import APIRouter, Request
from sqlalchemy import Engine, text
from sqlalchemy.exc import SQLAlchemyError
from starlette.responses import JSONResponse

from alix.clock import as_utc
from alix.db import migrate

if TYPE_CHECKING:
    from alix.bootstrap import Container

router = APIRouter()


@dataclass(frozen=True)
class Check:
    ok: bool
    detail: str


def database_check(engine: Engine) -> Check:
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except SQLAlchemyError as exc:
        # The driver's message names host and port, never the password (SQLAlchemy hides it).
        cause = getattr(exc, "orig", None) or exc
        reason = (str(cause).strip().splitlines() or [type(exc).__name__])[0]
        return Check(False, f"The database does not answer: {reason}")
    return Check(True, "The database answers.")


def migrations_check(engine: Engine) -> Check:
    try:
        migrate.check_current(engine)
    except migrate.DatabaseNotMigrated as exc:
        return Check(False, str(exc))
    except SQLAlchemyError:
        return Check(False, "The schema revision could not be read: the database does not answer.")
    return Check(True, f"The schema is at {migrate.head_revision()}.")


def runner_check(container: Container) -> Check | None:
    """The in-process runner's thread is alive; None when this process runs no jobs (the
    workers then run them, and each worker's own liveness is its process supervisor's)."""
    runner = container.runner
    if runner is None:
        return None
    if not runner.alive:
        return Check(False, f"The in-process job runner {runner.name} has stopped.")
    return Check(True, f"The in-process job runner {runner.name} is running.")


def workers_check(engine: Engine, now: datetime, threshold_seconds: float) -> Check:
    """A procrastinate worker (`alix worker`) beat its heartbeat within the threshold: queued
    jobs will run. procrastinate keeps one row per live worker in `procrastinate_workers`."""
    try:
        with engine.connect() as conn:
            last = conn.execute(text(
                "SELECT max(last_heartbeat) FROM procrastinate_workers")).scalar()
    except SQLAlchemyError:
        return Check(False, "No job worker has ever started on this database (procrastinate's "
                            "tables are missing): start `alix worker`.")
    if last is None or (now - as_utc(last)).total_seconds() > threshold_seconds:
        return Check(False, f"No job worker has beaten its heartbeat in the last "
                            f"{threshold_seconds:g} s: start `alix worker` (or look at why "
                            "the running ones stopped).")
    return Check(True, "A job worker beat its heartbeat at "
                       f"{as_utc(last).isoformat(timespec='seconds')}.")


def readiness(container: Container) -> dict[str, Check]:
    checks = {"database": database_check(container.engine)}
    checks["migrations"] = (migrations_check(container.engine) if checks["database"].ok
                            else Check(False, "Not checked: the database does not answer."))
    runner = runner_check(container)
    if runner is not None:
        checks["job_runner"] = runner
    settings = container.settings
    if settings.jobs_engine == "procrastinate" and checks["database"].ok:
        checks["job_workers"] = workers_check(container.engine, container.clock(),
                                              settings.job_heartbeat_seconds)
    return checks


@router.get("/readyz", include_in_schema=False)
async def readyz(request: Request) -> JSONResponse:
    container: Container = request.app.state.container
    # The checks block on the database: off the event loop, like any other database call.
    checks = await anyio.to_thread.run_sync(readiness, container)
    ready = all(c.ok for c in checks.values())
    return JSONResponse(
        {"status": "ready" if ready else "not ready",
         "checks": {name: {"ok": c.ok, "detail": c.detail} for name, c in checks.items()}},
        status_code=200 if ready else 503,
    )
