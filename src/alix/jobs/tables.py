"""Tables of queued jobs and per-key leases."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from alix.db.base import Base, Id, UtcDateTime

QUEUED, RUNNING, DONE, FAILED = "queued", "running", "done", "failed"


class Job(Base):
    """One run of a task; the row is written in the enqueuing transaction, so a rollback
    means the job never existed."""

    __tablename__ = "jobs"
    __table_args__ = (Index("ix_jobs_status_run_after", "status", "run_after"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    organisation_id: Mapped[int | None] = mapped_column(
        Id, ForeignKey("organisations.id", ondelete="CASCADE"), nullable=True, index=True
    )
    task: Mapped[str] = mapped_column(String(100))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # Jobs sharing a lease key never run at the same time, in any process.
    lease_key: Mapped[str | None] = mapped_column(String(200), nullable=True)
    status: Mapped[str] = mapped_column(String(20), default=QUEUED)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer, default=5)
    run_after: Mapped[datetime] = mapped_column(UtcDateTime)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    started_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    worker: Mapped[str | None] = mapped_column(String(100), nullable=True)
    # Renewed by the runner while the job runs; a running job whose heartbeat is older than
    # the runner's threshold belongs to a dead process and is reclaimed.
    heartbeat_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    # Progress that pages show in the toast area.
    progress_done: Mapped[int] = mapped_column(Integer, default=0)
    progress_total: Mapped[int | None] = mapped_column(Integer, nullable=True)
    progress_message: Mapped[str] = mapped_column(String(500), default="")


class Lease(Base):
    """Who holds a key until when; expired leases may be taken over."""

    __tablename__ = "leases"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    owner: Mapped[str] = mapped_column(String(100))
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime)


class Schedule(Base):
    """Periodic work as data: `task` with `payload` is queued every `period_seconds`.

    The scheduler (in-process runner, or a procrastinate worker later) queues a due schedule's
    job and moves `next_run_at` in one conditional UPDATE, so two schedulers never queue it
    twice.
    """

    __tablename__ = "job_schedules"
    __table_args__ = (Index("ix_job_schedules_next_run_at", "next_run_at"),)

    name: Mapped[str] = mapped_column(String(200), primary_key=True)
    task: Mapped[str] = mapped_column(String(100))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    organisation_id: Mapped[int | None] = mapped_column(
        Id, ForeignKey("organisations.id", ondelete="CASCADE"), nullable=True
    )
    lease_key: Mapped[str | None] = mapped_column(String(200), nullable=True)
    period_seconds: Mapped[int] = mapped_column(Integer)
    next_run_at: Mapped[datetime] = mapped_column(UtcDateTime)
    last_enqueued_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
