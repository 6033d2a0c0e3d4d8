"""A running job's heartbeat: how a runner shows it is alive, and how a dead one is recognised."""

from __future__ import annotations

import logging
import threading
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, Engine, and_, or_, update
from sqlalchemy.exc import SQLAlchemyError

from alix.clock import Clock
from alix.jobs.lease import LeaseStore
from alix.jobs.tables import RUNNING, Job

log = logging.getLogger(__name__)

# Beats per threshold: a runner must miss several in a row before its job is taken over.
BEATS_PER_THRESHOLD = 4


def abandoned(now: datetime, threshold_seconds: float) -> ColumnElement[bool]:
    """Running jobs whose runner has not beaten for `threshold_seconds`: its process died.

    A job started before heartbeats existed has none; its start time stands in for it.
    """
    cutoff = now - timedelta(seconds=threshold_seconds)
    return and_(Job.status == RUNNING, or_(
        Job.heartbeat_at < cutoff,
        and_(Job.heartbeat_at.is_(None), Job.started_at < cutoff),
    ))


class Heartbeat:
    """Renews one running job's lease, then its heartbeat, on a thread of its own.

    A thread and not a task of the runner's event loop: a task that blocks the loop for a
    while must not look dead. The lease is renewed before the heartbeat, both for the
    threshold, so a heartbeat older than the threshold means the lease has expired too and
    whoever reclaims the job can take the lease. `lost` turns true when another runner took
    the job over (this one was presumed dead): the task should stop at its next checkpoint.
    """

    def __init__(self, engine: Engine, leases: LeaseStore, job_id: int, lease_key: str | None,
                 owner: str, threshold_seconds: float, clock: Clock) -> None:
        self._engine = engine
        self._leases = leases
        self._job_id = job_id
        self._key = lease_key
        self._owner = owner
        self._threshold = threshold_seconds
        self._clock = clock
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._main, name=f"{owner}-heartbeat-{job_id}",
                                        daemon=True)
        self.lost = False

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._done.set()
        self._thread.join()

    def _beat(self) -> bool:
        if self._key is not None and not self._leases.acquire(self._key, self._owner,
                                                              self._threshold):
            return False
        with self._engine.begin() as conn:
            return bool(conn.execute(
                update(Job)
                .where(Job.id == self._job_id, Job.worker == self._owner, Job.status == RUNNING)
                .values(heartbeat_at=self._clock())
            ).rowcount)

    def _main(self) -> None:
        while not self._done.wait(self._threshold / BEATS_PER_THRESHOLD):
            try:
                alive = self._beat()
            except SQLAlchemyError:  # a busy database: the next beat tries again
                log.warning("Could not renew the heartbeat of job %s.", self._job_id,
                            exc_info=True)
                continue
            if not alive:
                self.lost = True
                log.error("Job %s was taken over by another runner while %s ran it (its "
                          "heartbeat was older than %s s); stopping it.", self._job_id,
                          self._owner, self._threshold)
                return
