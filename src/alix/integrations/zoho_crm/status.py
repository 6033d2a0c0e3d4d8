"""What the sync did, as people see it: its last runs and the records it could not sync.

Read models for Settings -> Integration -> Zoho CRM -> Synchronization and its REST API, and
the two things a person can do about an open issue: retry it now (it becomes due and the
connection's pull and/or push job is queued on the connection's lane), or dismiss it.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from alix.customers import outbox
from alix.customers.fields import Entity
from alix.customers.tables import addresses, contact_persons, customers
from alix.errors import NotFound
from alix.jobs.queue import JobQueue
from alix.jobs.tables import Job

from . import repository
from .sync.engine.pull_issues import CONFLICT
from .sync.engine.push import PUSH_TASK
from .sync.engine.push_trigger import enqueue_push
from .sync.engine.runs import start_pull
from .sync.kinds import LinkKind
from .sync.store import issues as issue_store
from .sync.store import runs as run_store
from .sync.store.issues import Direction, Issue
from .sync.store.scope import SyncScope
from .sync.store.tables import zoho_links, zoho_sync_issues, zoho_sync_runs

PAGE_SIZE = 25
RUNS_SHOWN = 10

DIRECTION_LABELS = {Direction.PULL: "Zoho → ALIX", Direction.PUSH: "ALIX → Zoho"}
KIND_LABELS = {
    LinkKind.CUSTOMER: "Customer",
    LinkKind.CONTACT: "Contact",
    LinkKind.MAIN_BILLING: "Main billing address",
    LinkKind.MAIN_SHIPPING: "Main shipping address",
    LinkKind.BILLING: "Billing address",
    LinkKind.SHIPPING: "Shipping address",
}
RUN_KIND_LABELS = {
    run_store.RunKind.INITIAL: "Initial synchronization",
    run_store.RunKind.INCREMENTAL: "Incremental (Zoho → ALIX)",
    run_store.RunKind.REALTIME: "Real-time (Zoho → ALIX)",
    run_store.RunKind.PUSH: "Push (ALIX → Zoho)",
    run_store.RunKind.RECONCILE: "Reconciliation",
}
STARTER_LABELS = {
    run_store.Starter.SCHEDULE: "Started by the schedule",
    run_store.Starter.NOTIFICATION: "Started by a Zoho notification",
    run_store.Starter.COMMAND_LINE: "Started from the command line",
    run_store.Starter.ALIX_CHANGE: "Started by an ALIX change",
}


def started_by_label(started_by: str | None) -> str:
    """"Started by Jane Smith <jane@acme.example>", "Started by the schedule"...; "" for runs
    recorded before ALIX kept who started them."""
    if not started_by:
        return ""
    if started_by in STARTER_LABELS:
        return STARTER_LABELS[run_store.Starter(started_by)]
    return f"Started by {started_by}"


# The order people read a run's outcome in: what changed first, what went wrong last.
COUNT_ORDER = ("created", "linked", "updated", "unchanged", "deleted", "skipped", "rejected")


def counts_sentence(counts: Mapping[str, int]) -> str:
    """ "3 created, 1 linked, 2 rejected"; "nothing to do" when every count is zero."""
    known = [k for k in COUNT_ORDER if counts.get(k)]
    others = sorted(k for k, n in counts.items() if n and k not in COUNT_ORDER)
    parts = [f"{counts[k]} {k.replace('_', ' ')}" for k in (*known, *others)]
    return ", ".join(parts) if parts else "nothing to do"


def when(moment: datetime | None) -> str:
    """A time as people read it in lists (UTC, to the minute); "" for none."""
    return "" if moment is None else moment.strftime("%Y-%m-%d %H:%M UTC")


def duration(start: datetime, end: datetime | None) -> str:
    if end is None:
        return ""
    seconds = max(int((end - start).total_seconds()), 0)
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {seconds} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min"


@dataclass(frozen=True)
class RunView:
    id: int
    kind: str
    kind_label: str
    status: str
    started_at: datetime
    finished_at: datetime | None
    duration: str
    counts: dict[str, int]
    error: str | None
    started_by: str | None = None

    @property
    def started_by_label(self) -> str:
        return started_by_label(self.started_by)

    def json(self) -> dict[str, Any]:
        return {"id": self.id, "kind": self.kind, "kind_label": self.kind_label,
                "started_by": self.started_by, "started_by_label": self.started_by_label,
                "status": self.status,
                "started_at": self.started_at, "finished_at": self.finished_at,
                "duration_seconds": (None if self.finished_at is None else
                                     (self.finished_at - self.started_at).total_seconds()),
                "counts": self.counts, "error": self.error}


@dataclass(frozen=True)
class IssueView:
    id: int
    direction: Direction
    direction_label: str
    kind: LinkKind
    kind_label: str
    code: str
    message: str
    alix_id: int | None
    zoho_id: str | None
    customer_id: int | None
    customer_name: str | None
    attempts: int
    next_retry_at: datetime | None
    created_at: datetime
    updated_at: datetime
    details: Mapping[str, Any] | None = None
    field: str | None = None  # the field the issue is about, when it is about one
    parent_name: str | None = None  # the Account a follow-on record waits on
    zoho_url: str | None = None  # the record in the org's own Zoho CRM

    @property
    def reason(self) -> str:
        """The message with names where the sync wrote Zoho ids."""
        text = self.message
        if self.name and self.zoho_id:
            text = text.replace(f"record {self.zoho_id}", f"record {self.name}")
        if self.parent_name:
            text = re.sub(r"its Account \d+", f"its Account {self.parent_name}", text)
        return text

    @property
    def name(self) -> str | None:
        """The record's name as people know it (Zoho's, kept with the issue, or ALIX's)."""
        named = (self.details or {}).get("name")
        return str(named) if named else None

    @property
    def record_label(self) -> str:
        """"Contact Jane Smith"; the Zoho id only when no name is known."""
        if self.name:
            return f"{self.kind_label} {self.name}"
        return f"{self.kind_label} (Zoho id {self.zoho_id})" if self.zoho_id else self.kind_label

    @property
    def conflict(self) -> bool:
        """An open conflict: a person keeps one side's value (both are in `details`)."""
        return self.code == CONFLICT and self.details is not None

    @property
    def retry_label(self) -> str:
        """When the sync tries again: a time, or "waits for you"."""
        return when(self.next_retry_at) if self.next_retry_at else "When you retry or it changes"

    def json(self) -> dict[str, Any]:
        return {"id": self.id, "direction": self.direction.value, "kind": self.kind.value,
                "code": self.code, "message": self.message, "alix_id": self.alix_id,
                "zoho_id": self.zoho_id, "name": self.name, "zoho_url": self.zoho_url,
                "customer": (None if self.customer_id is None else
                             {"id": self.customer_id, "name": self.customer_name}),
                "attempts": self.attempts, "next_retry_at": self.next_retry_at,
                "created_at": self.created_at, "updated_at": self.updated_at}


@dataclass(frozen=True)
class IssuePage:
    issues: list[IssueView]
    next_cursor: int | None
    total: int


@dataclass(frozen=True)
class Summary:
    """The line on Details: the last run and how many records need attention."""

    last_run: RunView | None
    open_issues: int

    @property
    def sentence(self) -> str:
        """"Last sync (initial synchronization): 2026-11-25 22:52 UTC, succeeded: 3 created,
        2 rejected · 3 records need attention"; the open issues count whatever the runs say."""
        run = self.last_run
        if run is None and not self.open_issues:
            return "No sync yet"  # nothing synced: "every record in sync" would be untrue
        kind = "" if run is None else run.kind_label[:1].lower() + run.kind_label[1:]
        last = ("No sync yet" if run is None else
                f"Last sync ({kind}): {when(run.started_at)}, {run.status}: "
                f"{counts_sentence(run.counts)}")
        if not self.open_issues:
            return f"{last} · every record in sync"
        records = "1 record needs" if self.open_issues == 1 else f"{self.open_issues} records need"
        return f"{last} · {records} attention"


@dataclass
class RetryOutcome:
    retried: int = 0
    jobs: list[str] = field(default_factory=list)  # the tasks queued (or already waiting)


def scope_of(session: Session, organisation_id: int) -> SyncScope:
    """The organisation's live connection; Conflict (from the repository) when there is none."""
    connection = repository.connected(session, organisation_id)
    return SyncScope(organisation_id, connection.id)


def _run_view(run: run_store.Run) -> RunView:
    return RunView(run.id, run.kind.value, RUN_KIND_LABELS.get(run.kind, run.kind.value),
                   run.status.value, run.started_at, run.finished_at,
                   duration(run.started_at, run.finished_at), dict(run.counts), run.error,
                   run.started_by)


def recent_runs(session: Session, scope: SyncScope, limit: int = RUNS_SHOWN) -> list[RunView]:
    ids = session.scalars(select(zoho_sync_runs.c.id).where(
        zoho_sync_runs.c.connection_id == scope.connection_id,
    ).order_by(zoho_sync_runs.c.id.desc()).limit(limit)).all()
    return [_run_view(run_store.get_run(session, scope, int(i))) for i in ids]


def summary(session: Session, scope: SyncScope) -> Summary:
    """Details' line: the last pull (a push since is no news about Zoho's records)."""
    run = run_store.latest_run(session, scope, kinds=run_store.PULL_KINDS)
    return Summary(None if run is None else _run_view(run),
                   issue_store.count_open_issues(session, scope))


SYNC_PAGE = "/settings/integrations/zoho-crm/sync"


def job_outcome(session: Session, job: Job) -> dict[str, Any]:
    """What a finished pull or push job did, for its last toast: the run it recorded (the first
    of its connection started while the job ran: the connection's jobs run one at a time), its
    counts, and the records that need attention now, with the status page to look at. A job
    that recorded no run (a push with nothing to send) has no summary."""
    connection_id = int((job.payload or {}).get("connection_id") or 0)
    push = job.task == PUSH_TASK
    t = zoho_sync_runs
    conditions = [t.c.connection_id == connection_id,
                  (t.c.kind == run_store.RunKind.PUSH.value) if push
                  else (t.c.kind != run_store.RunKind.PUSH.value)]
    if job.started_at is not None:
        conditions.append(t.c.started_at >= job.started_at)
    if job.finished_at is not None:  # not a later hints job's real-time run
        conditions.append(t.c.started_at <= job.finished_at)
    run_id = session.scalars(select(t.c.id).where(*conditions).order_by(t.c.id).limit(1)).first()
    scope = SyncScope(int(job.organisation_id or 0), connection_id)
    outcome: dict[str, Any] = {"link": SYNC_PAGE, "summary": None, "run": None,
                               "attention": issue_store.count_open_issues(session, scope)}
    if run_id is not None:
        run = _run_view(run_store.get_run(session, scope, int(run_id)))
        outcome["run"] = run.json()
        outcome["summary"] = (f"{run.kind_label} {run.status}: {counts_sentence(run.counts)}"
                              + (f". {run.error}" if run.error else ""))
    return outcome


def _customers_of(session: Session, scope: SyncScope, found: Sequence[Issue]
                  ) -> dict[int, tuple[int, str]]:
    """Issue id -> (customer id, name) where the record belongs to a known ALIX customer."""
    org = scope.organisation_id
    alix_ids: dict[int, tuple[LinkKind, int]] = {}
    unlinked = [i for i in found if i.alix_id is None and i.zoho_id is not None]
    if unlinked:
        rows = session.execute(select(zoho_links.c.kind, zoho_links.c.zoho_id,
                                      zoho_links.c.alix_id).where(
            zoho_links.c.connection_id == scope.connection_id,
            zoho_links.c.zoho_id.in_(sorted({str(i.zoho_id) for i in unlinked})),
        )).all()
        linked = {(r.kind, r.zoho_id): int(r.alix_id) for r in rows}
        for i in unlinked:
            alix = linked.get((i.kind.value, i.zoho_id))
            if alix is not None:
                alix_ids[i.id] = (i.kind, alix)
    for i in found:
        if i.alix_id is not None:
            alix_ids[i.id] = (i.kind, i.alix_id)

    def owners(table: Any, ids: Iterable[int]) -> dict[int, int]:
        wanted = sorted(set(ids))
        if not wanted:
            return {}
        return {int(r.id): int(r.customer_id) for r in session.execute(
            select(table.c.id, table.c.customer_id).where(
                table.c.organisation_id == org, table.c.id.in_(wanted)))}

    contacts = owners(contact_persons, [a for k, a in alix_ids.values()
                                        if k is LinkKind.CONTACT])
    places = owners(addresses, [a for k, a in alix_ids.values()
                                if k not in (LinkKind.CUSTOMER, LinkKind.CONTACT)])
    customer_of: dict[int, int] = {}
    for issue_id, (kind, alix) in alix_ids.items():
        owner = (alix if kind is LinkKind.CUSTOMER else
                 contacts.get(alix) if kind is LinkKind.CONTACT else places.get(alix))
        if owner is not None:
            customer_of[issue_id] = owner
    if not customer_of:
        return {}
    names = {int(r.id): str(r.name) for r in session.execute(
        select(customers.c.id, customers.c.name).where(
            customers.c.organisation_id == org,
            customers.c.id.in_(sorted(set(customer_of.values())))))}
    return {issue_id: (cid, names[cid]) for issue_id, cid in customer_of.items() if cid in names}


def _views(session: Session, scope: SyncScope, found: Sequence[Issue]) -> list[IssueView]:
    owners = _customers_of(session, scope, found)
    return [
        IssueView(
            i.id, i.direction, DIRECTION_LABELS[i.direction], i.kind, KIND_LABELS[i.kind],
            i.code, i.message, i.alix_id, i.zoho_id,
            owners[i.id][0] if i.id in owners else None,
            owners[i.id][1] if i.id in owners else None,
            i.attempts, i.next_retry_at, i.created_at, i.updated_at, i.details, i.field,
        )
        for i in found
    ]


def open_views(session: Session, scope: SyncScope, limit: int) -> list[IssueView]:
    """The open issues as people read them (with their customers), newest first."""
    return _views(session, scope, issue_store.open_issues(session, scope, limit=limit))


def issue_page(session: Session, scope: SyncScope, cursor: int | None = None,
               limit: int = PAGE_SIZE) -> IssuePage:
    """A page of open issues, newest first; `next_cursor` asks for the following page."""
    found = issue_store.open_issues(session, scope, limit=limit + 1, before_id=cursor)
    more = len(found) > limit
    found = found[:limit]
    return IssuePage(_views(session, scope, found),
                     found[-1].id if more and found else None,
                     issue_store.count_open_issues(session, scope))


@dataclass(frozen=True)
class _Target:
    id: int
    direction: Direction
    kind: LinkKind
    alix_id: int | None
    details: dict[str, Any] | None


_NOT_OPEN = ("No open synchronization issue {issue_id}: it was resolved or belongs to another "
             "organisation.")


def _open_issues(session: Session, scope: SyncScope, issue_id: int | None) -> list[_Target]:
    t = zoho_sync_issues
    conditions = [t.c.connection_id == scope.connection_id,
                  t.c.status == issue_store.IssueStatus.OPEN.value]
    if issue_id is not None:
        conditions.append(t.c.id == issue_id)
    rows = session.execute(select(t.c.id, t.c.direction, t.c.kind, t.c.alix_id, t.c.details)
                           .where(*conditions)).all()
    if issue_id is not None and not rows:
        raise NotFound(_NOT_OPEN.format(issue_id=issue_id))
    return [_Target(int(r.id), Direction(r.direction), LinkKind(r.kind), r.alix_id,
                    r.details) for r in rows]


def retry(session: Session, queue: JobQueue, scope: SyncScope, now: datetime,
          issue_id: int | None = None, *, started_by: str | None = None) -> RetryOutcome:
    """Make one open issue (or all of them) due now and queue the jobs that retry them.

    Pull issues are fetched again by the next pull; the outbox rows of push issues wait no
    longer (rows the push had given up on are pending again: a person asked). The pull and
    the push are queued on the connection's lane unless one is already waiting.
    """
    return _retry(session, queue, scope, now, _open_issues(session, scope, issue_id),
                  started_by)


def _retry(session: Session, queue: JobQueue, scope: SyncScope, now: datetime,
           found: Sequence[_Target], started_by: str | None = None) -> RetryOutcome:
    outcome = RetryOutcome(retried=len(found))
    if not found:
        return outcome
    issue_store.make_due(session, scope, [i.id for i in found], now)
    pushed: dict[Entity, list[int]] = {}
    for issue in found:
        if issue.direction is Direction.PUSH and issue.alix_id is not None:
            pushed.setdefault(issue.kind.entity, []).append(issue.alix_id)
    for entity, ids in pushed.items():
        outbox.retry_now(session, scope.organisation_id, entity, ids, now)
    if any(i.direction is Direction.PULL for i in found):
        start_pull(session, queue, scope.organisation_id, scope.connection_id, initial=False,
                   started_by=started_by)
        outcome.jobs.append("pull")
    if any(i.direction is Direction.PUSH for i in found):
        enqueue_push(session, queue, scope.organisation_id)
        outcome.jobs.append("push")
    return outcome


def retry_ids(session: Session, queue: JobQueue, scope: SyncScope, now: datetime,
              ids: Collection[int], started_by: str | None = None) -> RetryOutcome:
    """`retry` for the open issues among `ids` (a cause's records), in one go; `started_by`
    names who asked (the pull's run records it)."""
    wanted = set(ids)
    return _retry(session, queue, scope, now,
                  [t for t in _open_issues(session, scope, None) if t.id in wanted], started_by)


def dismiss(session: Session, scope: SyncScope, issue_id: int, now: datetime,
            by: str) -> None:
    """A person decided the issue needs nothing more: resolve it, noting who."""
    if not issue_store.dismiss(session, scope, issue_id, now, by):
        raise NotFound(_NOT_OPEN.format(issue_id=issue_id))
