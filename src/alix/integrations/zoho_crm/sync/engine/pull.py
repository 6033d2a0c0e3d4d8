"""The pull run (Zoho CRM -> ALIX): modules in order, page by page, each page committed with its
watermark and progress; then deletions, then the retries of rejected records.

Order: Accounts (customers and their main addresses), Contacts, then the active custom address
modules, so parents are linked before their children. Each module reads from its watermark
(inclusive) to a bound frozen when the run starts; fetching the next page overlaps with writing
the current one (a queue of two pages).

A module that was read to its bound stores the watermark `upper + 1 s` with no boundary ids:
every record modified at or before the bound has been seen (that second was closed when the
run started), so the next run asks Zoho only for later changes, and with nothing changed it
reads no record at all (Zoho answers 304). A crash mid-module leaves the last page's watermark
(inclusive, with the boundary ids), so the restart re-reads at most the boundary second.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter, deque
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from alix.customers import bulk
from alix.customers import repository as repo
from alix.customers.fields import Entity
from alix.customers.service import delete_customer, remove_child
from alix.db.session import unit_of_work
from alix.errors import Conflict
from alix.integrations.zoho_crm.client.errors import ScopeMissing
from alix.integrations.zoho_crm.client.timestamps import format_datetime
from alix.integrations.zoho_crm.config import SyncConfiguration
from alix.integrations.zoho_crm.mappers import ModuleKind
from alix.integrations.zoho_crm.rules import DeletePolicy
from alix.integrations.zoho_crm.sync.kinds import LinkKind
from alix.integrations.zoho_crm.sync.mapping import crm_fields, crm_module
from alix.integrations.zoho_crm.sync.sources import ZohoRecord
from alix.integrations.zoho_crm.sync.store import issues as issue_store
from alix.integrations.zoho_crm.sync.store import links as link_store
from alix.integrations.zoho_crm.sync.store import runs as run_store
from alix.integrations.zoho_crm.sync.store import watermarks as mark_store
from alix.integrations.zoho_crm.sync.store.issues import Direction
from alix.integrations.zoho_crm.sync.watermark import Watermark, Window, advance, open_window

from .apply import PageOutcome
from .context import LaneSlice, SyncContext
from .main_moves import held_by_accounts
from .page_writer import Page, PageRun, PageWriter, page_writer
from .pull_issues import REFETCHED_CODES

log = logging.getLogger(__name__)

BATCH = 100  # get_records ids per call (Zoho's limit)
ONE_SECOND = timedelta(seconds=1)

# (done, total or None, message): what the toast and the CLI bar show.
Progress = Callable[[int, int | None, str], None]


@dataclass(frozen=True)
class Step:
    """One CRM module of the walk and the link kinds its records carry."""

    module: str
    kinds: tuple[LinkKind, ...]


@dataclass
class PullReport:
    """What a run did: its id, outcome counts and records read per module."""

    run_id: int
    counts: Counter[str] = field(default_factory=Counter)
    read: Counter[str] = field(default_factory=Counter)
    deleted: int = 0
    # Changes seen past the run's upper bound (records or deletions of the settle window):
    # the next run picks them up, so whoever runs this one queues that run (pull_task).
    deferred: int = 0
    # Of those, deletions: only then does the next run need `{module}/deleted` again.
    deferred_deletions: int = 0


def steps_of(config: SyncConfiguration) -> list[Step]:
    """The modules to walk, parents first; none when Customers is off."""
    if not config.module(ModuleKind.CUSTOMERS).active:
        return []
    account_kinds = [LinkKind.CUSTOMER]
    for kind in (LinkKind.MAIN_BILLING, LinkKind.MAIN_SHIPPING):
        if config.module(kind.module).active:
            account_kinds.append(kind)
    steps = [Step(crm_module(config, LinkKind.CUSTOMER) or "Accounts", tuple(account_kinds)),
             Step(crm_module(config, LinkKind.CONTACT) or "Contacts", (LinkKind.CONTACT,))]
    for kind in (LinkKind.BILLING, LinkKind.SHIPPING):
        module = crm_module(config, kind)
        if config.module(kind.module).active and module:
            steps.append(Step(module, (kind,)))
    return steps


def _fields(config: SyncConfiguration, step: Step) -> list[str]:
    return list(dict.fromkeys(f for kind in step.kinds for f in crm_fields(config, kind)))


async def _pages(records: AsyncIterator[Any], size: int) -> AsyncIterator[list[Any]]:
    page: list[Any] = []
    async for record in records:
        page.append(record)
        if len(page) >= size:
            yield page
            page = []
    if page:
        yield page


class _HandedOver(Exception):
    """The run's turn on the lane is over between two pages (see LaneSlice)."""


async def _stopped(reader: asyncio.Task[None]) -> None:
    """Cancel the page reader and wait for it; its error (not its cancellation) propagates,
    and so does a cancellation of the walk itself (it used to be swallowed here)."""
    reader.cancel()
    try:
        await reader
    except asyncio.CancelledError:
        current = asyncio.current_task()
        if current is not None and current.cancelling():
            raise


class _Walker:
    """One run over the steps: reads pages, commits each with its watermark and progress."""

    def __init__(self, ctx: SyncContext, run_id: int, totals: dict[str, int | None],
                 progress: Progress | None, page_size: int, writer: PageWriter, *,
                 fast: bool = False, bulk_above: int | None = None,
                 turn: LaneSlice | None = None) -> None:
        self.ctx = ctx
        self.writer = writer
        self.turn = turn
        # Modules with more records than this are read through bulk read (initial runs,
        # which count them first); None: never.
        self.bulk_above = bulk_above
        self.bulk_pages: Counter[str] = Counter()
        self.fast = fast  # the initial import: apply.pull_page's fast path
        self.pages = 0  # pages sent to the writer by this run (page_writer.Page.number)
        self.run_id = run_id
        self.totals = totals
        self.progress = progress
        self.page_size = page_size
        self.report = PullReport(run_id)
        self.started = time.monotonic()

    @property
    def total(self) -> int | None:
        values = list(self.totals.values())
        return None if any(v is None for v in values) else sum(v or 0 for v in values)

    def tell(self, module: str) -> None:
        if self.progress is None:
            return
        done = sum(self.report.read.values())
        rate = done / max(time.monotonic() - self.started, 1e-6)
        total = self.total
        eta = f", about {int((total - done) / rate)} s left" if total and rate and \
            total > done else ""
        shown = min(done, total) if total is not None else done
        # People read module labels, not API names: "Billing_Addresses" -> "Billing addresses".
        label = module.replace("_", " ").capitalize()
        self.progress(shown, total, f"Zoho CRM sync: {label}, {rate:.0f} records/s{eta}")

    def send(self, step: Step, records: Sequence[ZohoRecord], watermark: Watermark | None
             ) -> Awaitable[PageOutcome]:
        """Send one page to the writer, which commits it with its watermark and progress in
        one transaction (page_writer); `settle` takes its outcome."""
        self.pages += 1
        return self.writer.submit(Page(step.module, step.kinds, records, watermark,
                                       self.ctx.clock(), self.pages))

    async def settle(self, step: Step, written: Awaitable[PageOutcome]) -> PageOutcome:
        outcome = await written
        self.report.counts.update(outcome.counts)
        self.report.read[step.module] += outcome.read
        self.tell(step.module)
        return outcome

    async def commit(self, step: Step, records: Sequence[ZohoRecord],
                     watermark: Watermark | None) -> PageOutcome:
        """Write one page and wait for it."""
        return await self.settle(step, self.send(step, records, watermark))

    async def walk(self, step: Step, window: Window) -> None:
        """Read the module from the window's start to its bound, a page per transaction,
        overlapping the next page's fetch with the current page's writes; through bulk read
        when the module is large enough (see `bulk_above`), unless Zoho refuses it."""
        if self._bulk(step):
            try:
                await self._walk(step, window, bulk=True)
                return
            except ScopeMissing as exc:
                if self.bulk_pages.get(step.module):
                    raise  # refused midway: not a missing scope, and the run fails
                # Connected before the bulk scope was asked for, or an API user's profile
                # without export permission: the REST pages import the same records.
                log.warning("Zoho CRM bulk read of %s refused (%s): reading its pages "
                            "instead.", step.module, exc)
        await self._walk(step, window, bulk=False)

    def _bulk(self, step: Step) -> bool:
        total = self.totals.get(step.module)
        return self.bulk_above is not None and total is not None and total > self.bulk_above

    async def _walk(self, step: Step, window: Window, *, bulk: bool) -> None:
        fields = _fields(self.ctx.config, step)
        queue: asyncio.Queue[list[ZohoRecord] | None] = asyncio.Queue(
            maxsize=self.writer.ahead)
        read = self.ctx.crm.bulk_records if bulk else self.ctx.crm.iter_records

        async def fetch() -> None:
            try:
                async for page in _pages(read(step.module, fields,
                                              modified_since=window.since), self.page_size):
                    await queue.put(page)
            except asyncio.CancelledError:
                # The loop below stopped reading (the bound reached, a page failed): no end
                # mark, nobody would take it from a full queue and this task would never end
                # (a reconciliation hung so, holding the connection's lane).
                raise
            except BaseException:
                await queue.put(None)  # the loop still reads: it ends, then meets the error
                raise
            await queue.put(None)

        reader = asyncio.create_task(fetch())
        mark = window.start
        # Pages sent and not yet settled: at most the writer's depth (a process writer takes
        # the next page while it writes one; a thread writer one at a time).
        sent: deque[Awaitable[PageOutcome]] = deque()
        try:
            while (page := await queue.get()) is not None:
                if bulk:
                    await self._commit_bulk(step, window, page)
                    continue
                step_ahead = advance(window, mark, page)
                mark = step_ahead.watermark
                sent.append(self.send(step, step_ahead.records, mark))
                if len(sent) >= self.writer.depth:
                    await self.settle(step, sent.popleft())
                if step_ahead.reached_upper:
                    self.report.deferred += 1
                    break
                if self.turn is not None and await self.turn.ended():
                    # The page's watermark is committed: the rest of the module (and of the
                    # run) is the next pull's, queued after the job that waits for the lane.
                    raise _HandedOver
            while sent:
                await self.settle(step, sent.popleft())
        finally:
            # The walk failed: pages still on their way are let go (one the writer has begun
            # still commits whole, with its watermark; the next run starts after it).
            for left in sent:
                asyncio.ensure_future(left).cancel()
            await _stopped(reader)
        # Read to the bound: everything up to it is seen (see the module docstring).
        done = Watermark(window.upper + ONE_SECOND)
        if mark.modified_time is None or done.modified_time > mark.modified_time:  # type: ignore[operator]
            mark = done
        with unit_of_work(self.ctx.sessions) as session:
            mark_store.put_watermark(session, self.ctx.scope, step.module, mark, self.ctx.clock())

    async def _commit_bulk(self, step: Step, window: Window, page: list[ZohoRecord]) -> None:
        """A page of a bulk read: its rows come in no time order, so no watermark moves until
        the whole export is read (a crash re-reads the module; what was imported plans as
        unchanged); rows changed after the bound are left to the next run, as the pages'."""
        kept = [r for r in page if r.modified_time is None or r.modified_time <= window.upper]
        if len(kept) < len(page):
            self.report.deferred += 1
        await self.commit(step, kept, None)
        self.bulk_pages[step.module] += 1

    async def retry_due(self, step: Step) -> None:
        """Fetch again, by id, the records whose pull issues are due; no watermark moves."""
        with unit_of_work(self.ctx.sessions) as session:
            due = [i for i in issue_store.issues_due(session, self.ctx.scope, self.ctx.clock(),
                                                     limit=1000)
                   if i.direction is Direction.PULL and i.code in REFETCHED_CODES
                   and i.kind in step.kinds and i.zoho_id]
        ids = sorted({str(i.zoho_id) for i in due})
        fields = _fields(self.ctx.config, step)
        for start in range(0, len(ids), BATCH):
            chunk = ids[start:start + BATCH]
            records = await self.ctx.crm.get_records(step.module, chunk, fields)
            if records:
                await self.commit(step, records, None)
            gone = set(chunk) - {r.id for r in records}
            if gone:
                await asyncio.to_thread(self.close_gone, step, [i for i in due
                                                                 if i.zoho_id in gone])

    def close_gone(self, step: Step, issues: Sequence[issue_store.Issue]) -> None:
        """A record Zoho no longer has needs nothing more (its deletion is applied by the
        deleted-records pass): its issues are resolved, or they would be due forever."""
        with unit_of_work(self.ctx.sessions) as session:
            now = self.ctx.clock()
            for issue in issues:
                issue_store.resolve_record(session, self.ctx.scope, Direction.PULL, issue.kind,
                                           now, zoho_id=issue.zoho_id, codes=REFETCHED_CODES)

    async def deletions(self, step: Step, upper: datetime, checked: datetime | None) -> None:
        """Apply `{module}/deleted` since the last check (policy CRM -> ALIX), then store the
        new check time. The first run only starts the clock: nothing is linked yet."""
        if checked is not None:
            gone = await self.ctx.crm.deleted_since(step.module, checked)
            ids = [d.id for d in gone if d.deleted_time is None or d.deleted_time <= upper]
            # Deletions inside the settle window stay ahead of the new check time
            # (deleted_since is inclusive): the follow-up run applies them.
            self.report.deferred += len(gone) - len(ids)
            self.report.deferred_deletions += len(gone) - len(ids)
            if ids:
                await asyncio.to_thread(self.apply_deletions, step, ids)
        with unit_of_work(self.ctx.sessions) as session:
            now = self.ctx.clock()
            mark_store.put_deletions_checked(session, self.ctx.scope, step.module,
                                             upper + ONE_SECOND, now)

    def apply_deletions(self, step: Step, zoho_ids: Sequence[str]) -> None:
        ctx = self.ctx
        policy = ctx.config.delete_crm_to_alix
        with unit_of_work(ctx.sessions) as session:
            now = ctx.clock()
            links = link_store.links_by_zoho_ids(session, ctx.scope, step.kinds, zoho_ids)
            live = [link for link in links.values() if not link.tombstoned]
            if not live:
                return
            link_store.tombstone(session, ctx.scope,
                                 [(link.kind, link.zoho_id) for link in live], now)
            self.report.deleted += len(live)
            if policy is DeletePolicy.IGNORE:
                return
            org = ctx.actor.organisation_id
            customers = [link.alix_id for link in live if link.kind is LinkKind.CUSTOMER]
            found = repo.customers_by_ids(session, org, customers) if customers else []
            if policy is DeletePolicy.DELETE:
                # The administrator chose "Delete in ALIX" on Details: honour it (the
                # deletion is recorded in the outbox as history, origin zoho_crm).
                for customer in found:
                    delete_customer(session, ctx.actor, customer.id, clock=lambda: now)
            elif found:
                # The default keeps the customer's history: a deleted Account deactivates it
                # (sync-design.md, Deletes).
                bulk.update_customers(session, ctx.actor, [
                    bulk.RecordUpdate(c.id, {"is_active": False}) for c in found if c.is_active
                ], clock=lambda: now)
            children = [link for link in live if link.kind in (
                LinkKind.CONTACT, LinkKind.BILLING, LinkKind.SHIPPING)]
            kept = held_by_accounts(session, ctx.scope, children)
            children = [link for link in children if link.alix_id not in kept
                        or link.kind.entity is not Entity.ADDRESS]
            for entity in (Entity.CONTACT, Entity.ADDRESS):
                ids = [link.alix_id for link in children if link.kind.entity is entity]
                for row in repo.by_ids(session, entity, org, ids) if ids else []:
                    remove_child(session, ctx.actor, entity, row, now)
            self._count(session, len(live))

    def _count(self, session: Session, deleted: int) -> None:
        run_store.record_progress(session, self.ctx.scope, self.run_id,
                                  counts={"deleted": deleted})
        self.report.counts["deleted"] += deleted


async def run_pull(
    ctx: SyncContext,
    *,
    initial: bool = False,
    reconcile: bool = False,
    progress: Progress | None = None,
    page_size: int | None = None,
    started_by: str | None = None,
    deletions: bool = True,
    bulk_above: int | None = None,
    process_above: int | None = None,
    head_start: bool = True,
    turn: LaneSlice | None = None,
) -> PullReport:
    """Pull what changed in Zoho CRM since the watermarks (everything the first time).

    `initial` counts the records first (`actions/count`) so progress has a total, and records
    the run as the initial synchronization; both kinds resume from the stored watermarks, so a
    crashed initial sync continues where its last page committed. Raises Conflict when the
    Customers module is off. The run row is closed as succeeded or failed either way.
    `reconcile` records the run as the scheduled reconciliation; one that found nothing
    replaces the previous such run in the history instead of adding to it.
    `deletions=False` skips the `{module}/deleted` pass and leaves its check time where it
    was, so the next pass that does run (the reconciliation at the latest) asks from there:
    the pull that only follows a settling change costs one listing call per module, not two
    (issue 14: with notifications live, Zoho is polled only when needed).
    `bulk_above`: an initial run reads a module of more records than this through Zoho's
    bulk read (200,000 records a job instead of 200 a call), falling back to the pages when
    the connection's scopes do not allow it.
    `process_above`: an initial run of more records than this writes its pages in a process
    of its own, beside the one reading them (page_writer); with `head_start`, the first pages
    are written here while that process starts (page_writer.HeadStart).
    `page_size`: records per transaction; by default the writer's (page_writer).
    `turn`: the run hands the lane over between pages once its turn is over (a push or
    notifications wait); what is left is the next pull's (report.deferred).
    """
    steps = steps_of(ctx.config)
    if not steps:
        raise Conflict("Activate Customers on Settings -> Integration -> Zoho CRM before "
                       "synchronizing.")
    now = ctx.clock()
    with unit_of_work(ctx.sessions) as session:
        bookmarks = {s.module: mark_store.get_bookmark(session, ctx.scope, s.module)
                     for s in steps}
    windows = {s.module: open_window(bookmarks[s.module].watermark, now) for s in steps}
    totals: dict[str, int | None] = {}
    for s in steps:
        if initial:
            since = windows[s.module].since
            criteria = (None if since is None else
                        f"(Modified_Time:greater_equal:{format_datetime(since)})")
            totals[s.module] = await ctx.crm.count(s.module, criteria)
        else:
            totals[s.module] = None
    with unit_of_work(ctx.sessions) as session:
        kind = run_store.pull_kind(initial=initial, reconcile=reconcile, started_by=started_by)
        run_id = run_store.start_run(session, ctx.scope, kind, ctx.config.version, ctx.clock(),
                                     totals, started_by=started_by)
    records = sum(t or 0 for t in totals.values()) if initial else None
    writer = page_writer(ctx.sessions, PageRun(ctx.scope, ctx.config, ctx.actor, run_id, initial),
                         records=records, process_above=process_above if initial else None,
                         head_start=head_start)
    walker = _Walker(ctx, run_id, totals, progress, page_size or writer.page_size, writer,
                     fast=initial,
                     bulk_above=bulk_above if initial else None, turn=turn)
    if progress is not None:
        progress(0, walker.total, "Zoho CRM sync: starting")
    try:
        for s in steps:
            await walker.walk(s, windows[s.module])
            if deletions:
                await walker.deletions(s, windows[s.module].upper,
                                       bookmarks[s.module].deletions_checked_at)
            await walker.retry_due(s)
    except _HandedOver:
        # Succeeded so far; the next pull continues from the committed watermarks, and
        # checks the deletions this one did not reach.
        walker.report.deferred += 1
        walker.report.deferred_deletions += int(deletions)
    except BaseException as exc:
        await writer.close()
        with unit_of_work(ctx.sessions) as session:
            run_store.finish_run(session, ctx.scope, run_id, run_store.RunStatus.FAILED,
                                 ctx.clock(), error=f"The Zoho CRM pull failed: {exc}"[:2000])
        raise
    await writer.close()
    with unit_of_work(ctx.sessions) as session:
        run_store.finish_run(session, ctx.scope, run_id, run_store.RunStatus.SUCCEEDED,
                             ctx.clock())
        if reconcile:
            run_store.forget_quiet_reconciliations(session, ctx.scope, run_id)
    if progress is not None:
        done = sum(walker.report.read.values())
        progress(done, walker.total if walker.total is not None else done,
                 f"Zoho CRM sync done: {summary(walker.report)}")
    return walker.report


def summary(report: PullReport) -> str:
    """The run's outcome counts as a short sentence fragment."""
    parts = [f"{n} {what}" for what, n in sorted(report.counts.items()) if n]
    return ", ".join(parts) if parts else "nothing changed"
