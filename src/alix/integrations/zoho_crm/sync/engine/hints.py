"""The hints task: drain a connection's notification inbox into the pull, 100 records a call.

Per round: up to 100 records with pending hints (one row per record, however many callbacks
named it); hints that need no read (echoes of our own writes, changes of unsynced fields,
modules not synced) are closed at once; the others are fetched by id, one `get_records` call per
module, and applied as one pull page (`apply.pull_page`) in the transaction that closes their
hints, so a crash replays the round and the replay plans no-ops. A record that no longer exists
or whose last hint is a delete goes to the delete handler, by default the pull's own deletion
pass (queued once). A lost hint costs nothing here: the
periodic incremental sync finds the change by `Modified_Time` (sync-design.md).

Before each read the task waits a short, bounded window (`HintWindow`: until 100 records are
pending or the oldest pending hint is 200 ms old, whichever first): Zoho sends a burst of edits
as many small callbacks, and the job wakes at the first one, so reading at once cost one read
per callback instead of one per hundred records.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy.orm import Session

from alix.db.session import unit_of_work
from alix.errors import Conflict, NotFound
from alix.integrations.zoho_crm.services import ZohoServices
from alix.jobs.queue import JobQueue, TaskContext

from ..mapping import crm_fields
from ..store import links as link_store
from ..store.inbox import Hint, mark_processed, pending_hints, purge_processed
from ..store.runs import RunKind, Starter
from .apply import pull_page
from .context import HINTS_SHARE, LaneSlice, SyncContext, open_context
from .hints_echo import kinds_of_module, needs_no_fetch
from .hints_inbox import wake_worker
from .job_run import LazyRun
from .resolver import RESOLVER
from .runs import follow_up

log = logging.getLogger(__name__)

TASK = "zoho_crm.hints"
BATCH = 100  # records per round: Zoho's GET by ids takes 100 (zoho-crm-api.md 4.2)
# Processed hints are kept a while for diagnosis, then purged when the inbox drains.
KEEP_PROCESSED = timedelta(days=7)

# Handles Zoho deletions of one module's records in the caller's transaction (the one closing
# their hints); the task's default queues the incremental pull (pull_for_deletions).
DeleteHandler = Callable[[Session, SyncContext, str, Sequence[str]], None]
Sleep = Callable[[float], Awaitable[None]]


@dataclass(frozen=True)
class HintWindow:
    """How long hints gather before a read: until `ids` records are pending or the oldest
    pending hint is `seconds` old. Checked every `step` seconds (one inbox query each)."""

    seconds: float = 0.2
    ids: int = BATCH
    step: float = 0.025


LIVE_WINDOW = HintWindow()


@dataclass
class HintOutcome:
    """What a drain did: records fetched and read calls, echoes skipped, deletions seen."""

    counts: Counter[str] = field(default_factory=Counter)
    reads: int = 0  # get_records calls
    more: bool = False  # its turn on the lane ended with hints still pending
    run_id: int | None = None  # the run it recorded, which the job for its rest goes on with


@dataclass(frozen=True)
class _Applied:
    """Where a round's applied records are told: the outcome, and the run they start."""

    outcome: HintOutcome
    run: LazyRun
    started_by: str


async def process_hints(
    ctx: SyncContext, *, on_delete: DeleteHandler | None = None, batch: int = BATCH,
    window: HintWindow | None = None, sleep: Sleep = asyncio.sleep,
    started_by: str = Starter.NOTIFICATION.value, turn: LaneSlice | None = None,
    resume: int | None = None,
) -> HintOutcome:
    """Drain the connection's inbox, oldest hints first; returns what it did.

    With a `window`, each round first lets hints gather (see HintWindow); without one, it
    reads what is pending at once (a drain of a backlog, tests). The first record applied
    starts a real-time run (see job_run; echoes and deletions alone record none), closed as
    succeeded, or failed when an error stops the drain. With a `turn`, it stops between
    rounds once its turn is over (outcome.more: the job queues itself for the rest, which
    goes on with the run `resume` names).
    """
    outcome = HintOutcome()
    run = LazyRun(ctx.scope, RunKind.REALTIME, ctx.config.version, ctx.clock, resume=resume)
    try:
        await _drain(ctx, _Applied(outcome, run, started_by), on_delete, batch, window, sleep,
                     turn)
    except BaseException as exc:
        run.close(ctx.sessions, f"Processing Zoho's notifications failed: {exc}")
        raise
    run.close(ctx.sessions)
    outcome.run_id = run.run_id
    return outcome


async def _drain(ctx: SyncContext, applied: _Applied, on_delete: DeleteHandler | None,
                 batch: int, window: HintWindow | None, sleep: Sleep,
                 turn: LaneSlice | None) -> None:
    while True:
        gathered = None
        if window is not None:
            gathered = await _gather(ctx, window, sleep)
            if window.ids < batch:  # its read may hold fewer records than the round takes
                gathered = None
        with unit_of_work(ctx.sessions) as session:
            # The gathering's last read serves the round: hints arriving since have new row
            # ids and stay pending for the next round (mark_processed closes the ids read).
            hints = (gathered[:batch] if gathered is not None
                     else pending_hints(session, ctx.scope, limit=batch))
            if not hints:
                purge_processed(session, ctx.scope, ctx.clock() - KEEP_PROCESSED)
                return
            to_fetch = _close_needless(session, ctx, hints, applied.outcome)
        by_module: dict[str, list[Hint]] = {}
        for hint in to_fetch:
            by_module.setdefault(hint.module, []).append(hint)
        # Parents first: a Contact hinted before its new Account still finds it imported.
        for module in sorted(by_module, key=lambda m: _rank(ctx, m)):
            await _apply_module(ctx, module, by_module[module], on_delete, applied)
        if turn is not None and await turn.ended():
            applied.outcome.more = True
            return


async def _gather(ctx: SyncContext, window: HintWindow, sleep: Sleep) -> list[Hint] | None:
    """Wait until `window.ids` records are pending or the oldest pending hint is
    `window.seconds` old; never longer than `window.seconds` in all, whatever the clock says
    (a hint stamped by a clock ahead of ours cannot hold the lane).

    Returns the hints of the read that ended the wait, so the round need not read them again;
    None when no read did (the inbox is empty, or the wait ran out during a pause).
    """
    slept = 0.0
    while slept < window.seconds:
        with unit_of_work(ctx.sessions) as session:
            hints = pending_hints(session, ctx.scope, limit=window.ids)
        if not hints:
            return None
        if len(hints) >= window.ids:
            return hints
        oldest = min(h.first_received_at for h in hints)
        left = window.seconds - (ctx.clock() - oldest).total_seconds()
        if left <= 0:
            return hints
        pause = min(left, window.step, window.seconds - slept)
        await sleep(pause)
        slept += pause
    return None


def _rank(ctx: SyncContext, module: str) -> int:
    return min((kind.rank for kind in kinds_of_module(ctx.config, module)), default=99)


def _close_needless(
    session: Session, ctx: SyncContext, hints: Sequence[Hint], outcome: HintOutcome
) -> list[Hint]:
    """Close the hints that need no read (one links query); the rest, to fetch."""
    kinds = {h.module: kinds_of_module(ctx.config, h.module) for h in hints}
    all_kinds = {k for ks in kinds.values() for k in ks}
    links = link_store.links_by_zoho_ids(session, ctx.scope, all_kinds,
                                         {h.zoho_id for h in hints})
    done: list[int] = []
    fetch: list[Hint] = []
    for hint in hints:
        if not kinds[hint.module]:
            outcome.counts["not_synced"] += 1
            done.extend(hint.inbox_ids)
        elif needs_no_fetch(hint, kinds[hint.module], links, ctx.config, RESOLVER):
            outcome.counts["echo"] += 1
            done.extend(hint.inbox_ids)
        else:
            fetch.append(hint)
    mark_processed(session, ctx.scope, done, ctx.clock())
    return fetch


async def _apply_module(
    ctx: SyncContext,
    module: str,
    hints: Sequence[Hint],
    on_delete: DeleteHandler | None,
    applied: _Applied,
) -> None:
    outcome = applied.outcome
    kinds = kinds_of_module(ctx.config, module)
    wanted = [h.zoho_id for h in hints if not h.deleted]
    records = []
    if wanted:
        fields = sorted({f for kind in kinds for f in crm_fields(ctx.config, kind)}
                        | {"Modified_Time"})
        records = await ctx.crm.get_records(module, wanted, fields)
        outcome.reads += 1
    found = {r.id for r in records}
    gone = [h.zoho_id for h in hints if h.deleted or h.zoho_id not in found]
    with unit_of_work(ctx.sessions) as session:
        if records:
            page = pull_page(session, ctx.scope, ctx.config, ctx.actor, records, kinds,
                             ctx.clock())
            outcome.counts.update(page.counts)
            outcome.counts["fetched"] += len(records)
            # In the page's transaction, as the pull's runs count theirs.
            applied.run.start(session, applied.started_by)
            applied.run.record(session, page.counts, module=module, done=len(records))
        if gone:
            outcome.counts["deleted"] += len(gone)
            if on_delete is not None:
                on_delete(session, ctx, module, gone)
        mark_processed(session, ctx.scope, [i for h in hints for i in h.inbox_ids], ctx.clock())


def pull_for_deletions(queue: JobQueue) -> DeleteHandler:
    """The default deletion handling: queue the connection's incremental pull, whose
    `{module}/deleted` pass applies Zoho deletions per the delete policy (the pull's own
    handling, so both paths treat a deletion alike); one pull however many deletions, queued
    for after the settle window, since a pull leaves the last seconds' deletions for later."""
    def handle(session: Session, ctx: SyncContext, _module: str, _ids: Sequence[str]) -> None:
        follow_up(session, queue, ctx.scope.organisation_id, ctx.scope.connection_id,
                  started_by=Starter.NOTIFICATION.value)

    return handle


async def drain_inbox(ctx: TaskContext, zoho: ZohoServices,
                      on_delete: DeleteHandler | None = None) -> None:
    """Task `zoho_crm.hints` {connection_id}; runs in the connection's sync lane."""
    connection_id = int(ctx.payload["connection_id"])
    resume = ctx.payload.get("resume")
    on_delete = on_delete or pull_for_deletions(ctx.queue)
    try:
        async with open_context(ctx.session_factory, connection_id, zoho.crm_factory,
                                ctx.clock) as sync:
            outcome = await process_hints(sync, on_delete=on_delete, window=LIVE_WINDOW,
                                          turn=LaneSlice(ctx.session_factory, connection_id,
                                                         TASK, ctx.clock, HINTS_SHARE),
                                          resume=int(resume) if resume is not None else None)
        if outcome.more:  # the rest after the job that waits for the lane
            with unit_of_work(ctx.session_factory) as session:
                wake_worker(session, ctx.queue, sync.scope, resume=outcome.run_id)
    except (NotFound, Conflict) as exc:
        # Removed or disconnected: its hints wait (or went with it); nothing to retry.
        log.info("Zoho CRM hints of connection %s not processed: %s", connection_id, exc)
        return
    log.info("Zoho CRM hints of connection %s: %s, %s read call(s).", connection_id,
             dict(outcome.counts), outcome.reads)


def hints_task(on_delete: DeleteHandler | None = None
               ) -> Callable[[TaskContext, ZohoServices], Awaitable[None]]:
    """The registered task, with the pull's delete handling plugged in."""
    async def run(ctx: TaskContext, zoho: ZohoServices) -> None:
        await drain_inbox(ctx, zoho, on_delete)

    return run
