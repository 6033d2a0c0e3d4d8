"""The sync's unattended work: each connection's reconciliation, and the sweep of lost wake-ups.

**Reconciliation.** A Zoho notification can be lost (ALIX unreachable, a channel that lapsed),
so every established connection runs the incremental pull on a schedule (sync-design.md,
"Notifications"): the job is the ordinary `zoho_crm.pull` on the connection's lane, so it never
runs beside a push, a manual sync or another reconciliation. It also retries the pull's due
per-record issues (`pull.retry_due`), so a pull issue is retried at the first reconciliation
after its time. With nothing changed the pull costs one list call (answered 304) and one
deleted-records call per module; the period is the default of five minutes, or longer when that
would spend more than a share (5 %) of the organisation's daily API credits.

**Sweep.** Work is normally woken by the transaction that creates it (push trigger, notification
endpoint). When that job is lost (a runner killed, a job that failed for good while Zoho was
down), the sweep queues it again: due pending outbox rows without a push, unprocessed hints
without a hints job. It also creates and removes reconciliation schedules, so installs that
predate them get theirs.

"Established": connected, Customers active, and pulled at least once (a watermark exists). Before
the first synchronization nothing runs unattended: importing everything is the initial
synchronization the administrator starts (docs/zoho-crm.md).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, delete, event, or_, select
from sqlalchemy.orm import Session, UOWTransaction, sessionmaker

from alix.customers.outbox import PENDING
from alix.customers.tables import customer_outbox
from alix.db.session import unit_of_work
from alix.integrations.zoho_crm.config import SyncConfiguration
from alix.integrations.zoho_crm.mappers import ModuleKind
from alix.integrations.zoho_crm.repository import has_configuration, load_configuration
from alix.integrations.zoho_crm.tables import CONNECTED, ZohoConnection, ZohoModule
from alix.jobs.queue import JobQueue, TaskContext
from alix.jobs.scheduler import ScheduleSpec, delete_schedule, put_schedule, schedules
from alix.jobs.tables import DONE, FAILED, QUEUED, RUNNING, Job

from ..store.runs import Starter
from ..store.scope import SyncScope
from ..store.tables import zoho_inbox, zoho_watermarks
from .context import lane_key
from .hints_inbox import HINTS_TASK, wake_worker
from .pull import steps_of
from .push import PUSH_TASK
from .push_trigger import enqueue_push
from .runs import PULL_TASK

SWEEP_TASK = "zoho_crm.sweep"
SWEEP_SECONDS = 60
# Schedules every process ensures at start: the sweep, which ensures all the others.
STANDING = (ScheduleSpec(SWEEP_TASK, SWEEP_TASK, SWEEP_SECONDS),)
RECONCILE_PREFIX = "zoho_crm.reconcile:"

DEFAULT_PERIOD_SECONDS = 300
DEFAULT_SHARE = 0.05
DAY_SECONDS = 86_400
# Credits per rolling 24 h without the per-user part, which ALIX does not know (zoho-crm-api.md
# 8.2): 5,000 for Free, 50,000 for the paid editions. An unknown edition counts as Free.
FREE_CREDITS = 5_000
PAID_CREDITS = 50_000
PAID_EDITIONS = frozenset({"standard", "starter", "professional", "enterprise", "zoho one",
                           "ultimate", "crm plus"})
# Calls of an incremental pull with nothing changed, per module: the list call (Zoho answers
# 304 to If-Modified-Since) and the `{module}/deleted` call. A few changed records (under 200
# per module) come back in that same list call, so they cost nothing more.
CALLS_PER_MODULE = 2
# A lane whose job failed for good is woken again after this long, not at every sweep: a Zoho
# outage or a revoked token must not turn the sweep into a loop that spends credits.
FAILED_PAUSE = timedelta(minutes=5)
# The sweep's and the reconciliations' finished jobs are kept this long (one a minute adds up).
KEEP_FINISHED = timedelta(days=1)


@dataclass(frozen=True)
class Cadence:
    """How often a connection reconciles and what that costs a day (pure)."""

    period_seconds: int
    calls_per_run: int
    daily_credits: int
    share: float

    @property
    def credits_per_day(self) -> int:
        return math.ceil(DAY_SECONDS / self.period_seconds * self.calls_per_run)

    @property
    def minutes(self) -> int:
        return math.ceil(self.period_seconds / 60)

    @property
    def sentence(self) -> str:
        """What Details shows: "Reconciliation every 5 minutes, about 1,152 API credits a day
        (at most 5 % of the 50,000 daily credits of your Zoho CRM edition)"."""
        every = "every minute" if self.minutes == 1 else f"every {self.minutes} minutes"
        return (f"Reconciliation {every}, about {self.credits_per_day:,} API credits a day "
                f"(at most {self.share * 100:g} % of the {self.daily_credits:,} daily credits "
                "of your Zoho CRM edition).")


def daily_credits(edition: str) -> int:
    return PAID_CREDITS if edition.strip().lower() in PAID_EDITIONS else FREE_CREDITS


def cadence(edition: str, modules: int, *, share: float = DEFAULT_SHARE,
            floor_seconds: int = DEFAULT_PERIOD_SECONDS) -> Cadence:
    """The reconciliation of a connection pulling `modules` CRM modules: every `floor_seconds`,
    or less often when that would spend more than `share` of the edition's daily credits."""
    calls = CALLS_PER_MODULE * max(modules, 1)
    credits = daily_credits(edition)
    budget = share * credits
    period = max(floor_seconds, math.ceil(DAY_SECONDS * calls / budget))
    return Cadence(period, calls, credits, share)


def reconcile_name(connection_id: int) -> str:
    return f"{RECONCILE_PREFIX}{connection_id}"


def _established_ids(session: Session) -> set[int]:
    """Connections that are connected, have Customers active and were pulled once."""
    pulled = select(zoho_watermarks.c.connection_id).distinct().subquery()
    rows = session.execute(
        select(ZohoConnection.id)
        .join(ZohoModule, and_(ZohoModule.connection_id == ZohoConnection.id,
                               ZohoModule.kind == ModuleKind.CUSTOMERS.value,
                               ZohoModule.active.is_(True)))
        .join(pulled, pulled.c.connection_id == ZohoConnection.id)
        .where(ZohoConnection.status == CONNECTED)
    )
    return {int(r.id) for r in rows}


def _cadence_of(connection: ZohoConnection, config: SyncConfiguration) -> Cadence:
    """The cadence of a configuration: the modules its pull walks, the connection's edition."""
    return cadence(connection.edition or "", len(steps_of(config)))


def reconciliation_sentence(session: Session, connection: ZohoConnection) -> str | None:
    """What Details says about the reconciliation while Customers is active, else None."""
    if connection.status != CONNECTED or not has_configuration(session, connection):
        return None
    config = load_configuration(session, connection.id)
    if not config.module(ModuleKind.CUSTOMERS).active:
        return None
    sentence = _cadence_of(connection, config).sentence
    if connection.id in _established_ids(session):
        return sentence
    return f"After the initial synchronization: {sentence[0].lower()}{sentence[1:]}"


def reconcile_spec(session: Session, connection: ZohoConnection) -> ScheduleSpec:
    """The reconciliation: the incremental pull on the connection's lane. No organisation:
    the toast lists an organisation's jobs, and a reconciliation is housekeeping."""
    return ScheduleSpec(
        name=reconcile_name(connection.id), task=PULL_TASK,
        period_seconds=_cadence_of(connection, load_configuration(session, connection.id)
                                   ).period_seconds,
        payload={"connection_id": connection.id, "initial": False, "reconcile": True,
                 "started_by": Starter.SCHEDULE.value},
        lease_key=lane_key(connection.id),
    )


def ensure_schedules(session: Session, now: datetime,
                     connection_ids: Iterable[int] | None = None) -> None:
    """Make the reconciliation schedules match the connections (all, or the ones given) in the
    caller's transaction: one per established connection, none for the others."""
    established = _established_ids(session)
    if connection_ids is None:
        existing = {s.name for s in schedules(session, RECONCILE_PREFIX)}
        for stale in sorted(existing - {reconcile_name(i) for i in established}):
            delete_schedule(session, stale)
        wanted = sorted(established)
    else:
        ids = set(connection_ids)
        for connection_id in sorted(ids - established):
            delete_schedule(session, reconcile_name(connection_id))
        wanted = sorted(ids & established)
    for connection_id in wanted:
        connection = session.get(ZohoConnection, connection_id)
        if connection is not None:
            put_schedule(session, reconcile_spec(session, connection), now)


@dataclass(frozen=True)
class Swept:
    """What a sweep woke: connection ids whose push or hints job it queued."""

    pushes: tuple[int, ...] = ()
    hints: tuple[int, ...] = ()


def _asleep(session: Session, task: str, now: datetime) -> set[str]:
    """Lanes where `task` needs no waking: a job queued or running, or one that failed for
    good within FAILED_PAUSE."""
    rows = session.execute(select(Job.lease_key).where(
        Job.task == task,
        or_(Job.status.in_((QUEUED, RUNNING)),
            and_(Job.status == FAILED, Job.finished_at > now - FAILED_PAUSE)),
    ))
    return {str(r.lease_key) for r in rows if r.lease_key}


def _purge_finished(session: Session, now: datetime) -> None:
    """Forget the unattended jobs that succeeded over a day ago: the sweep's and those queued
    without an organisation (reconciliations), which no page lists."""
    session.execute(delete(Job).where(
        Job.status == DONE, Job.finished_at < now - KEEP_FINISHED,
        or_(Job.task == SWEEP_TASK, and_(Job.task == PULL_TASK, Job.organisation_id.is_(None))),
    ))


def sweep(session: Session, queue: JobQueue, now: datetime) -> Swept:
    """Ensure the schedules, then queue the push of established connections with due pending
    outbox rows and the hints job of those with unprocessed hints, where no such job is
    queued or running (the wake-up was lost); in the caller's transaction. Idempotent."""
    ensure_schedules(session, now)
    _purge_finished(session, now)
    established = {c.id: c for c in session.scalars(
        select(ZohoConnection).where(ZohoConnection.id.in_(sorted(_established_ids(session)))))}
    t = customer_outbox
    due_orgs = set(session.scalars(select(t.c.organisation_id).distinct().where(
        t.c.status == PENDING, or_(t.c.retry_at.is_(None), t.c.retry_at <= now))))
    hinted = set(session.scalars(select(zoho_inbox.c.connection_id).distinct().where(
        zoho_inbox.c.processed_at.is_(None))))
    pushing, draining = _asleep(session, PUSH_TASK, now), _asleep(session, HINTS_TASK, now)
    pushes: list[int] = []
    hints: list[int] = []
    for connection_id, connection in sorted(established.items()):
        lane = lane_key(connection_id)
        if connection.organisation_id in due_orgs and lane not in pushing and enqueue_push(
                session, queue, connection.organisation_id):
            pushes.append(connection_id)
        if connection_id in hinted and lane not in draining:
            wake_worker(session, queue, SyncScope(connection.organisation_id, connection_id))
            hints.append(connection_id)
    return Swept(tuple(pushes), tuple(hints))


def sweep_task(ctx: TaskContext) -> None:
    """Task `zoho_crm.sweep` (no payload): see `sweep`."""
    with unit_of_work(ctx.session_factory) as session:
        sweep(session, ctx.queue, ctx.clock())


_MARK = "zoho_crm_schedule_connections"


def _noticed(session: Session, _flush: UOWTransaction) -> None:
    """Connections whose reconciliation may have to start or stop: Customers switched, a
    connection connected, disconnected or removed."""
    marked: set[int] = session.info.setdefault(_MARK, set())
    for obj in (*session.new, *session.dirty, *session.deleted):
        if isinstance(obj, ZohoModule) and obj.kind == ModuleKind.CUSTOMERS.value:
            marked.add(obj.connection_id)
        elif isinstance(obj, ZohoConnection) and obj.id is not None:
            marked.add(obj.id)


def install_schedule_trigger(sessions: sessionmaker[Session], queue: JobQueue) -> None:
    """Start or stop a connection's reconciliation in the transaction that switches Customers
    or connects, disconnects or removes the connection (installed by the composition root);
    the sweep does the same for connections changed any other way."""

    def before_commit(session: Session) -> None:
        session.flush()  # the commit's own flush comes after this hook
        marked = session.info.pop(_MARK, set())
        if marked:
            ensure_schedules(session, queue.clock(), marked)

    event.listen(sessions, "after_flush", _noticed)
    event.listen(sessions, "before_commit", before_commit)
    event.listen(sessions, "after_soft_rollback",
                 lambda session, _t: session.info.pop(_MARK, None))
