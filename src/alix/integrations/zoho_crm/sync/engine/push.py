"""The push of one connection (ALIX -> Zoho CRM): pending outbox records, page by page.

Per page: read the pending records, their state and links (push_batch); plan (pure,
push_plan); read the linked records Zoho is about to receive, 100 ids per call, so a record
Zoho changed since the base is merged first (push_merge) instead of overwritten; then send
Account creates, updates (parents first), child creates, deletes (push_send), and mark the
outbox rows done, or failed with their retry time. Creates left in flight by a crashed run are
resolved first (push_recover). With nothing pending, the push reads nothing from Zoho.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.orm import Session

from alix.customers import outbox
from alix.customers.outbox import Failure, PendingRecord
from alix.db.session import unit_of_work
from alix.identity.tables import User
from alix.integrations.zoho_crm.client.wire import Record
from alix.integrations.zoho_crm.client.written import when_written
from alix.integrations.zoho_crm.services import ZohoServices
from alix.integrations.zoho_crm.sync.kinds import LinkKind
from alix.integrations.zoho_crm.sync.mapping import (
    CrmMapper,
    Mapped,
    crm_fields,
    crm_mapper,
)
from alix.integrations.zoho_crm.sync.normalize import SyncValue
from alix.integrations.zoho_crm.sync.push_plan import (
    PushAction,
    PushDecision,
    plan_push,
    recheck_updates,
)
from alix.integrations.zoho_crm.sync.store.issues import backoff
from alix.integrations.zoho_crm.sync.store.runs import RunKind, Starter, person
from alix.jobs.queue import TaskContext

from .context import PUSH_SHARE, LaneSlice, SyncContext, open_context
from .job_run import LazyRun
from .push_batch import Batch, load_batch
from .push_merge import merge_first
from .push_recover import recover_pending
from .push_send import (
    PushRun,
    by_action,
    child_delete_policy,
    chunks,
    riders_of,
    send_creates,
    send_deletes,
    send_updates,
)
from .resolver import RESOLVER

log = logging.getLogger(__name__)

PUSH_TASK = "zoho_crm.push"
# One job sends at most this much, then hands the lane over (a pull or hints may be waiting)
# and queues the next push for the rest.
PAGE_SIZE = 100
PAGES_PER_JOB = 100


@dataclass
class PushReport:
    """What a push did, summed over its pages."""

    pages: int = 0
    records: int = 0
    counts: dict[str, int] = field(default_factory=dict)
    more: bool = False  # stopped at its page budget with records still pending
    run_id: int | None = None  # the run it recorded, which the job for its rest goes on with

    def add(self, counts: Mapping[str, int]) -> None:
        for name, n in counts.items():
            self.counts[name] = self.counts.get(name, 0) + n


def _plan(ctx: SyncContext, batch: Batch) -> list[PushDecision]:
    """The page's plan before Zoho is read: which linked records it is about to update."""
    items = [i for i in batch.items if (i.kind, i.alix_id) not in batch.in_flight]
    decisions = plan_push(items, ctx.config, links=batch.links, accounts=batch.accounts,
                          crm_modified={})
    return child_delete_policy(decisions, ctx.config.delete_alix_to_crm)


def _replan(ctx: SyncContext, batch: Batch, first: Sequence[PushDecision],
            crm_modified: Mapping[str, datetime],
            crm_values: Mapping[tuple[LinkKind, str], Mapping[str, SyncValue]],
            ) -> list[PushDecision]:
    """The plan once Zoho was read: the updates Zoho answered for, checked again."""
    return recheck_updates(first, batch.items, ctx.config, links=batch.links,
                           crm_modified=crm_modified, crm_values=crm_values)


async def _read_targets(ctx: SyncContext, decisions: Sequence[PushDecision]
                        ) -> dict[str, Record]:
    """The Zoho records about to be overwritten (or merged), 100 ids per call per module."""
    wanted: dict[str, tuple[set[str], set[LinkKind]]] = {}
    for d in decisions:
        if d.zoho_id is None or d.action not in (PushAction.UPDATE, PushAction.PULL_FIRST):
            continue
        ids, kinds = wanted.setdefault(d.module or "", (set(), set()))
        ids.add(d.zoho_id)
        kinds.add(d.kind)
    found: dict[str, Record] = {}
    for module, (ids, kinds) in wanted.items():
        names = {name for kind in kinds for name in crm_fields(ctx.config, kind)}
        for chunk in chunks(sorted(ids)):
            for record in await ctx.crm.get_records(module, chunk, sorted(names)):
                found[record.id] = record
    return found


def _crm_values(ctx: SyncContext, decisions: Sequence[PushDecision],
                records: Mapping[str, Record]
                ) -> dict[tuple[LinkKind, str], Mapping[str, SyncValue]]:
    """The mapped values Zoho holds now of the records about to be updated, per kind."""
    values: dict[tuple[LinkKind, str], Mapping[str, SyncValue]] = {}
    mappers: dict[LinkKind, CrmMapper] = {}  # looked up once per kind, not per record
    for d in decisions:
        record = records.get(d.zoho_id or "")
        if record is None or d.action is not PushAction.UPDATE:
            continue
        if d.kind not in mappers:
            mappers[d.kind] = crm_mapper(ctx.config, d.kind, resolver=RESOLVER)
        mapped = mappers[d.kind](record)
        if isinstance(mapped, Mapped):
            values[(d.kind, record.id)] = mapped.values
    return values


@dataclass(slots=True)
class Prepared:
    """A page planned and its Zoho records read: what sending it starts from."""

    batch: Batch
    now: datetime
    first: list[PushDecision]
    records: dict[str, Record]


async def prepare(ctx: SyncContext, batch: Batch, now: datetime) -> Prepared:
    """Plan the page and read the Zoho records it is about to update (push_merge's input)."""
    first = _plan(ctx, batch)
    return Prepared(batch, now, first, await _read_targets(ctx, first))


# What a page may do for the next page to be read while it is sent: only write records and
# bases of its own. A create (a parent's new link), a delete or tombstone (a parent's link
# gone), a merge (ALIX rows and links rewritten) can change what the next page plans.
_PAGE_LOCAL = frozenset({PushAction.UPDATE, PushAction.DONE, PushAction.SKIP})


def settle(run: PushRun, prepared: Prepared) -> Mapping[PushAction, list[PushDecision]]:
    """The page's decisions once Zoho was read; merges and skips are recorded (one
    transaction), the rest is what `send` sends."""
    ctx, batch, records = run.ctx, run.batch, prepared.records
    moved = {i: r.modified_time for i, r in records.items() if r.modified_time is not None}
    groups = by_action(_replan(ctx, batch, prepared.first, moved,
                               _crm_values(ctx, prepared.first, records)))
    with unit_of_work(ctx.sessions) as session:
        merged = merge_first(run, session, groups[PushAction.PULL_FIRST], records)
        for d in groups[PushAction.SKIP]:
            if ctx.config.module(d.kind.module).active:  # a module that is off is no issue
                link = batch.links.get((d.kind, d.alix_id))
                run.fail(session, d, "skipped", d.reason,
                         retry=link is None or not link.tombstoned)
        run.count("unchanged", len(groups[PushAction.DONE]))
    run.merged = merged
    return groups


def page_local(groups: Mapping[PushAction, Sequence[PushDecision]]) -> bool:
    """Whether sending these decisions leaves every other record's plan as it was."""
    return all(not decisions for action, decisions in groups.items()
               if action not in _PAGE_LOCAL)


async def send(run: PushRun, groups: Mapping[PushAction, list[PushDecision]]) -> None:
    """Send the page; every Zoho answer is committed right after its call (the outbox rows
    are marked after the page: `finish`)."""
    creates = groups[PushAction.CREATE]
    riders = riders_of(creates, groups[PushAction.UPDATE])
    riding = {(d.kind, d.alix_id) for group in riders.values() for d in group}
    await send_creates(run, [d for d in creates if d.kind.rank == 0], riders)
    await send_updates(run, [*(d for d in groups[PushAction.UPDATE]
                               if (d.kind, d.alix_id) not in riding), *run.merged])
    await send_creates(run, [d for d in creates if d.kind.rank > 0])
    await send_deletes(run, [*groups[PushAction.DELETE], *groups[PushAction.TOMBSTONE]])


def finish(run: PushRun, session: Session) -> None:
    """Mark the page's outbox rows, once it was sent: done, or failed with the retry time of
    their issue. In the caller's transaction, the one recording the page in its run."""
    ctx, batch = run.ctx, run.batch
    failures = dict(run.failures)
    for item in batch.items:
        if (item.kind, item.alix_id) in batch.in_flight and item.entry_ids not in failures:
            record = next(r for r in batch.records if r.entry_ids == item.entry_ids)
            failures[item.entry_ids] = Failure(
                item.entry_ids,
                f"A create of ALIX {item.kind.entity.value} {item.alix_id} is still in flight.",
                run.now + backoff(record.attempts + 1),
            )
    done = [i for r in batch.records if r.entry_ids not in failures for i in r.entry_ids]
    outbox.mark_done(session, ctx.scope.organisation_id, done, run.now)
    outbox.mark_failed(session, ctx.scope.organisation_id, list(failures.values()), run.now)


def started_by(session: Session, records: Sequence[PendingRecord]) -> str:
    """Who a push run names: the person whose changes it sends when they are one person's,
    else "ALIX change" (several people, an import, a system user)."""
    actors = {actor for record in records for actor in record.actors}
    if len(actors) == 1 and (actor := actors.pop()) is not None:
        user = session.get(User, actor)
        if user is not None and not user.is_system:
            return person(user.name, user.email)
    return Starter.ALIX_CHANGE.value


def run_counts(counts: Mapping[str, int]) -> dict[str, int]:
    """A page's counts as its run records them: rejected and skipped, not their sum."""
    return {what: n for what, n in counts.items() if n and what != "failed"}


def _quiet(run: LazyRun, report: PushReport) -> bool:
    """Every record it looked at was in Zoho already: it sent nothing, a run says nothing."""
    return run.run_id is not None and not any(
        n for what, n in run_counts(report.counts).items() if what != "unchanged")


async def _read_ahead(ctx: SyncContext, sending: Batch, page_size: int,
                      turn: LaneSlice | None, sent: asyncio.Event) -> Prepared | None:
    """The page after `sending`, read and prepared while `sending` waits for Zoho: the wait
    for one page's calls is spent on the next page's reads and plan. None when the job's
    turn is over (it hands over after the page it sends).

    It starts once `sent` is set: a request of `sending` is on the wire (client.written), or
    `sending` is done. Started before, its synchronous reads ran while the write still
    waited to leave, and Zoho waited for them."""
    await sent.wait()
    if turn is not None and await turn.ended():
        return None
    now = ctx.clock()
    exclude = [(r.entity, r.entity_id) for r in sending.records]
    with unit_of_work(ctx.sessions) as session:
        batch = load_batch(session, ctx.scope, ctx.config, now, limit=page_size,
                           exclude=exclude)
    return await prepare(ctx, batch, now)


async def _drop(task: asyncio.Task[Prepared | None] | None) -> None:
    """Stop a read-ahead that is no longer wanted and wait until it has: it only read, so
    its outcome is not needed, but a failure is logged, not lost. The caller's own
    cancellation still reaches the caller."""
    if task is None:
        return
    task.cancel()
    await asyncio.wait([task])
    if not task.cancelled() and (failed := task.exception()) is not None:
        log.warning("A push's read-ahead of its next page failed: %r", failed)


async def push(ctx: SyncContext, *, page_size: int = PAGE_SIZE,
               max_pages: int = PAGES_PER_JOB, turn: LaneSlice | None = None,
               resume: int | None = None) -> PushReport:
    """Push every pending ALIX change of the connection; idempotent, safe to replay.

    The first page with records starts the push's run (see job_run), closed as succeeded, or
    failed when a Zoho error stops it (auth, rate limits after retries). Those errors
    propagate: what was sent is committed, a replay re-plans the rest and sends nothing twice.
    With a `turn`, it stops between pages once its turn is over (report.more: the job queues
    the rest after the job that waits, which goes on with the run `resume` names).

    While a page of updates is sent, the next page is read and its Zoho records fetched
    (`_read_ahead`), leaving out the records being sent. A page that creates, deletes, merges
    or links can change the next page's plan: the next page is then read after it.
    """
    report = PushReport()
    run = LazyRun(ctx.scope, RunKind.PUSH, ctx.config.version, ctx.clock, resume=resume)
    page: PushRun | None = None
    ahead: asyncio.Task[Prepared | None] | None = None
    try:
        recovered = await recover_pending(ctx, before=ctx.clock())
        report.add({"recovered": recovered})
        prepared: Prepared | None = None
        for number in range(max_pages):
            if prepared is None:
                now = ctx.clock()
                with unit_of_work(ctx.sessions) as session:
                    batch = load_batch(session, ctx.scope, ctx.config, now, limit=page_size)
                    if run.run_id is None and (batch.records or recovered):
                        run.start(session, started_by(session, batch.records))
                        run.record(session, {"recovered": recovered})
                if not batch.records:
                    break
                prepared = await prepare(ctx, batch, now)
            batch = prepared.batch
            page = PushRun(ctx, batch, prepared.now)
            groups = settle(page, prepared)
            sent = asyncio.Event()
            if batch.more and number + 1 < max_pages and page_local(groups):
                ahead = asyncio.create_task(_read_ahead(ctx, batch, page_size, turn, sent))
            with when_written(sent.set):
                await send(page, groups)
            sent.set()
            report.pages += 1
            report.records += len(batch.records)
            report.add(page.counts)
            with unit_of_work(ctx.sessions) as session:
                finish(page, session)
                run.record(session, run_counts(page.counts))
            relinked, page, prepared = page.relinked, None, None  # recorded: not twice
            if not batch.more:
                break
            if ahead is not None:
                task, ahead = ahead, None
                if relinked:  # the page linked records after the next one was planned
                    await _drop(task)
                elif (prepared := await task) is None:
                    report.more = True
                    break
                elif not prepared.batch.records or prepared.batch.repointed:
                    # Read again: a record of the page sent may have been edited meanwhile
                    # (left out of the read-ahead); or reading moved a main-address link
                    # whose base the page sent may have written since.
                    prepared = None
                else:
                    continue
            if turn is not None and await turn.ended():
                report.more = True
                break
        else:
            report.more = True
    except BaseException as exc:
        await _drop(ahead)
        if page is not None and run.run_id is not None:  # what the page sent before it stopped
            with unit_of_work(ctx.sessions) as session:
                run.record(session, run_counts(page.counts))
        run.close(ctx.sessions, f"The Zoho CRM push failed: {exc}")
        raise
    run.close(ctx.sessions, forget=_quiet(run, report))
    report.run_id = run.run_id
    log.info("Zoho CRM push of connection %s: %s", ctx.scope.connection_id, report)
    return report


async def push_task(task: TaskContext, zoho: ZohoServices) -> None:
    """The "zoho_crm.push" job: payload {"connection_id": ...}, run on the connection's lane."""
    connection_id = int(task.payload["connection_id"])
    resume = task.payload.get("resume")
    async with open_context(task.session_factory, connection_id, zoho.crm_factory,
                            task.clock) as ctx:
        report = await push(ctx, page_size=PAGE_SIZE, max_pages=PAGES_PER_JOB,
                            turn=LaneSlice(task.session_factory, connection_id, PUSH_TASK,
                                           task.clock, PUSH_SHARE),
                            resume=int(resume) if resume is not None else None)
    task.report_progress(report.records, report.records, f"Pushed {report.records} records.")
    if report.more:
        from .push_trigger import enqueue_push  # the trigger imports this module's task name

        with unit_of_work(task.session_factory) as session:
            enqueue_push(session, task.queue, ctx.scope.organisation_id, resume=report.run_id)
