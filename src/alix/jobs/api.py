"""REST view of the organisation's running jobs, read by the toast area for progress.

Features describe their own jobs (`describe`): a title people read, and once a job ended its
outcome (a summary, a link to where to look next). The jobs layer imports no feature, so each
feature registers its describer when its routes are loaded.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter
from sqlalchemy import select
from sqlalchemy.orm import Session

from alix.errors import NotFound
from alix.jobs.tables import QUEUED, RUNNING, Job
from alix.web.auth import CurrentPrincipal
from alix.web.dependencies import SessionDep
from alix.web.ids import IdPath

router = APIRouter(prefix="/api/v1/jobs", tags=["jobs"])

# What a job left behind, for the toast: {"summary": ..., "link": ..., ...}; None: nothing known.
Outcome = Callable[[Session, Job], dict[str, Any] | None]


@dataclass(frozen=True)
class Describer:
    title: str
    outcome: Outcome


_DESCRIBERS: dict[str, Describer] = {}


def describe(task: str, title: str, outcome: Outcome) -> None:
    """How the toast names the jobs of `task` and reads their outcome (last registration wins)."""
    _DESCRIBERS[task] = Describer(title, outcome)


@router.get("/active")
def active_jobs(principal: CurrentPrincipal, session: SessionDep) -> list[dict[str, Any]]:
    """Queued and running jobs of the caller's organisation, oldest first, with progress."""
    jobs = session.scalars(
        select(Job)
        .where(Job.organisation_id == principal.organisation_id, Job.status.in_([QUEUED, RUNNING]))
        .order_by(Job.id)
        .limit(20)
    ).all()
    return [_view(job) for job in jobs]


@router.get("/{job_id}")
def get_job(job_id: IdPath, principal: CurrentPrincipal, session: SessionDep) -> dict[str, Any]:
    """One job of the caller's organisation, with its last error (its traceback for
    administrators only); another's is a 404."""
    job = session.get(Job, job_id)
    if job is None or job.organisation_id != principal.organisation_id:
        raise NotFound(f"No job {job_id} in this organisation.")
    describer = _DESCRIBERS.get(job.task)
    outcome = (describer.outcome(session, job)
               if describer is not None and job.status not in (QUEUED, RUNNING) else None)
    return {**_view(job), "error": job.error if principal.is_admin else _message(job.error),
            "reason": _message(job.error), "outcome": outcome}


def _message(error: str | None) -> str | None:
    """A job error without its traceback: file paths and code are for administrators."""
    if error is None:
        return None
    lines = [line for line in error.strip().splitlines() if line.strip()]
    return lines[-1] if lines else error


def _view(job: Job) -> dict[str, Any]:
    return {
        "id": job.id,
        "task": job.task,
        "title": _DESCRIBERS[job.task].title if job.task in _DESCRIBERS else job.task,
        "status": job.status,
        "done": job.progress_done,
        "total": job.progress_total,
        "message": job.progress_message,
    }
