"""REST view of the organisation's running jobs, read by the toast area for progress."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from sqlalchemy import select

from alix.errors import NotFound
from alix.jobs.model import QUEUED, RUNNING, Job
from alix.web.auth import CurrentPrincipal
from alix.web.dependencies import SessionDep

router = APIRouter(prefix="/api/v1/jobs", tags=["jobs"])


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
def get_job(job_id: int, principal: CurrentPrincipal, session: SessionDep) -> dict[str, Any]:
    """One job of the caller's organisation, with its last error; another's is a 404."""
    job = session.get(Job, job_id)
    if job is None or job.organisation_id != principal.organisation_id:
        raise NotFound(f"No job {job_id} in this organisation.")
    return {**_view(job), "error": job.error}


def _view(job: Job) -> dict[str, Any]:
    return {
        "id": job.id,
        "task": job.task,
        "status": job.status,
        "done": job.progress_done,
        "total": job.progress_total,
        "message": job.progress_message,
    }
