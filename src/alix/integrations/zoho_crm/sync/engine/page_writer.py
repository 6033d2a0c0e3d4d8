"""Where the pull writes its pages: a worker thread, or, for a large initial import, a process
of its own.

A page's writes (mapping, plan, ALIX rows, links, progress: `write_page`) take most of an
initial import's CPU, and reading the next pages (HTTP, JSON, records) most of the rest. In
one process the two share one interpreter lock, so an import runs on one core however many the
machine has. With the writer in a child process, the pages are read on one core while they are
written on another (bench/initial_import.py; the figures are in its notes). The child is
started once per run, with `spawn` (the parent holds threads, an event loop and database
connections, which a fork would copy half-made), and is only worth its start-up above some
thousands of records: `ALIX_ZOHO_IMPORT_PROCESS_ABOVE`. While it starts (spawn, then most of a
second of imports), the first pages are written by a worker thread of the parent (HeadStart).

Both writers commit each page in one transaction with its watermark and progress, so what a
crash leaves behind is the same: whole pages, and a restart from the last committed one. A
child whose parent was killed ends by itself within a fraction of a second, the page it was
writing rolled back (tests/crash: a killed `alix sync` with a writer process). A
page's `now` comes from the run's clock in the parent: the child has no clock of its own.
"""

from __future__ import annotations

import asyncio
import gc
import multiprocessing
import os
import threading
import time
from collections.abc import Awaitable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Protocol

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from alix.customers.domain import Actor
from alix.db.session import unit_of_work
from alix.integrations.zoho_crm.config import SyncConfiguration
from alix.integrations.zoho_crm.sync.kinds import LinkKind
from alix.integrations.zoho_crm.sync.mapping import Mapped, Rejection
from alix.integrations.zoho_crm.sync.sources import ZohoRecord
from alix.integrations.zoho_crm.sync.store import runs as run_store
from alix.integrations.zoho_crm.sync.store import watermarks as mark_store
from alix.integrations.zoho_crm.sync.store.scope import SyncScope
from alix.integrations.zoho_crm.sync.watermark import Watermark

from .apply import PageOutcome, apply_mapped, pull_page
from .initial import keep_statistics
from .page_state import map_records

PAGE = 200  # one Zoho page: the client reads 200 records per call


@dataclass(frozen=True)
class PageRun:
    """What every page of a run is written with (picklable: it goes to the child)."""

    scope: SyncScope
    config: SyncConfiguration
    actor: Actor
    run_id: int
    fast: bool  # the initial import: apply.pull_page's fast path


@dataclass(frozen=True)
class Page:
    """One page to write: its module and kinds, records, watermark, time, and its number in
    the run (the initial import analyzes the tables as they double: initial.py).

    A process writer sends `mapped` instead of `records` (mapped where they were read, which
    leaves the writer, the slower of the two, less to do), with `read` their number.
    """

    module: str
    kinds: tuple[LinkKind, ...]
    records: Sequence[ZohoRecord]
    watermark: Watermark | None
    now: datetime
    number: int
    mapped: Sequence[Mapped | Rejection] | None = None
    read: int = 0

    def mapped_here(self, config: SyncConfiguration) -> Page:
        """This page with its records mapped, to be written elsewhere."""
        return replace(self, records=(), mapped=map_records(self.records, self.kinds, config),
                       read=len(self.records))


def write_page(sessions: sessionmaker[Session], run: PageRun, page: Page) -> PageOutcome:
    """Apply one page and commit it with its watermark and the run's progress."""
    with unit_of_work(sessions) as session:
        if page.mapped is None:
            outcome = pull_page(session, run.scope, run.config, run.actor, page.records,
                                page.kinds, page.now, fast=run.fast)
        else:
            outcome = apply_mapped(session, run.scope, run.config, run.actor, page.mapped,
                                   page.read, page.now, fast=run.fast)
        if page.watermark is not None:
            mark_store.put_watermark(session, run.scope, page.module, page.watermark,
                                     page.now)
        run_store.record_progress(session, run.scope, run.run_id, module=page.module,
                                  done=outcome.read, counts=dict(outcome.counts))
        if run.fast:
            keep_statistics(session, page.number)
    return outcome


class PageWriter(Protocol):
    """Writes pages in the order given; `depth` pages may be on their way at once, and the
    reader keeps up to `ahead` pages read before they are sent."""

    depth: int
    ahead: int
    page_size: int  # records per transaction, unless the run says otherwise

    def submit(self, page: Page) -> Awaitable[PageOutcome]: ...

    async def close(self) -> None: ...


class StartingWriter(PageWriter, Protocol):
    """A writer that takes a while to start (a process): `ready` once it writes at once."""

    def ready(self) -> bool: ...


class ThreadWriter:
    """Pages written in a worker thread of this process (every run but a large import), one
    at a time: the caller waits for each before it sends the next."""

    depth = 1
    ahead = 2
    page_size = PAGE

    def __init__(self, sessions: sessionmaker[Session], run: PageRun) -> None:
        self.sessions = sessions
        self.run = run

    def submit(self, page: Page) -> Awaitable[PageOutcome]:
        return asyncio.ensure_future(asyncio.to_thread(write_page, self.sessions, self.run,
                                                       page))

    async def close(self) -> None:
        return None


class WriterStopped(Exception):
    """A page sent after one that failed: not written, or it would commit a watermark past
    the failed page's records."""


# The child's sessions and run, set once when it starts (_start), and whether a page failed.
_CHILD: tuple[sessionmaker[Session], PageRun] | None = None
_FAILED: str | None = None


def _start(url: str, run: PageRun, parent: int) -> None:
    global _CHILD
    # The watchdog first, with the parent's pid as the parent gave it: a parent killed while
    # this process was still starting (its imports take most of a second, while the parent
    # writes the first pages itself: HeadStart) would otherwise be missed, os.getppid() then
    # naming whoever adopted the orphan, which would then live on, holding the parent's
    # output pipes open (tests/crash: a kill after the first page hung `alix sync`'s caller).
    threading.Thread(target=_outlive_no_parent, args=(parent,), daemon=True,
                     name="page-writer-watchdog").start()
    from alix import models as _models  # noqa: F401 - every table on the metadata
    from alix.db.engine import make_engine
    from alix.db.session import make_session_factory

    _CHILD = (make_session_factory(make_engine(url)), run)
    # The child only writes pages, whose objects are acyclic and die with the page, while
    # the collector's default passes every 700 new objects (a page makes some 50,000) and
    # walks everything imported: what is imported now is set aside for good (gc.freeze) and
    # a pass waits for 50,000 new objects. Writing the 10k import's pages in one process
    # took 7.9 s of CPU with the defaults and 7.0-7.3 s so (an upper bound: that replay
    # held every page in memory, which the collector walked too).
    gc.freeze()
    gc.set_threshold(50_000, 20, 20)


def _outlive_no_parent(parent: int) -> None:
    """End the child once its parent is gone (killed: nobody else ends it). A pool's worker
    waits for its next call forever otherwise, holding the database and the parent's output
    pipes; a page it was writing is rolled back, as the parent's own would be."""
    while os.getppid() == parent:
        time.sleep(0.2)
    os._exit(1)


def _ready() -> None:
    return None


def _write(page: Page) -> PageOutcome:
    global _FAILED
    assert _CHILD is not None, "the writer process was not started"
    if _FAILED is not None:
        raise WriterStopped(f"Page {page.number} was not written: page {_FAILED}.")
    sessions, run = _CHILD
    try:
        return write_page(sessions, run, page)
    except BaseException as exc:
        _FAILED = f"{page.number} failed ({exc})"
        raise


class ProcessWriter:
    """Pages written by a child process in the order given, two on their way at once: while
    the child writes one, the next is already sent, so handing pages over between processes
    (a few milliseconds each, while this process's lock is busy reading) costs it no wait.
    Once a page fails, the child writes none after it (WriterStopped)."""

    depth = 2
    ahead = 8  # the first pages are read while the child starts (about a second of imports)
    # Two of Zoho's pages per transaction: a page's fixed costs (its dozen lookups, the
    # commit, the run's progress) are then shared by twice the records. Writing the 10k
    # import's pages took 6.4-6.8 s of CPU so, 7.3-8.0 s a Zoho page at a time (five pages
    # at a time was slower again).
    page_size = 2 * PAGE

    def __init__(self, url: str, run: PageRun) -> None:
        self.pool = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"),
                                        initializer=_start,
                                        initargs=(url, run, os.getpid()))
        self.config = run.config
        # Start it now, not with the first page: its imports overlap the first reads.
        self.started = self.pool.submit(_ready)

    def ready(self) -> bool:
        """The child has started (its imports done): a page sent now is written at once."""
        return self.started.done()

    def submit(self, page: Page) -> Awaitable[PageOutcome]:
        return asyncio.wrap_future(self.pool.submit(_write, page.mapped_here(self.config)))

    async def close(self) -> None:
        await asyncio.to_thread(self.pool.shutdown, wait=True)


class HeadStart:
    """A process writer that is still starting (spawn, then about 0.6 s of imports, while the
    reader has pages ready and nothing writes them) has the first pages written in a thread
    of this process instead: `first` until `then.ready()`, `then` from there on.

    Pages still commit one after the other, in the order given: `then` takes its first page
    only once every page `first` was given has committed, so no watermark is committed ahead
    of a page still being written; after a failure in `first`, `then` writes nothing
    (WriterStopped), as the process writer itself does after one of its pages failed.
    """

    depth = ProcessWriter.depth
    ahead = ProcessWriter.ahead
    page_size = ProcessWriter.page_size

    def __init__(self, first: PageWriter, then: StartingWriter) -> None:
        self.first = first
        self.then = then
        self.turns = asyncio.Lock()  # FIFO: pages reach a writer in the order given
        self.written: Awaitable[PageOutcome] | None = None  # first's latest page

    def submit(self, page: Page) -> Awaitable[PageOutcome]:
        # Once ready, always ready (a started process stays started): no page goes back.
        here = not self.then.ready()
        return asyncio.ensure_future(self._here(page) if here else self._there(page))

    async def _after_first(self, page: Page) -> None:
        if self.written is None:
            return
        try:
            await self.written
        except Exception as exc:
            raise WriterStopped(f"Page {page.number} was not written: an earlier page failed "
                                f"({exc}).") from exc

    async def _here(self, page: Page) -> PageOutcome:
        async with self.turns:
            await self._after_first(page)
            written = self.first.submit(page)
            self.written = written
        return await written

    async def _there(self, page: Page) -> PageOutcome:
        async with self.turns:
            await self._after_first(page)  # at once after the first page handed over
            sent = self.then.submit(page)  # the pool takes its pages in order
        return await sent

    async def close(self) -> None:
        await self.first.close()
        await self.then.close()


def database_url(sessions: sessionmaker[Session]) -> str | None:
    """The URL another process opens the same database with; None for an in-memory SQLite
    database, which only this process can see."""
    bind = sessions.kw.get("bind")
    if not isinstance(bind, Engine):
        return None
    url = bind.url
    if url.get_backend_name() == "sqlite" and (url.database or ":memory:") == ":memory:":
        return None
    return url.render_as_string(hide_password=False)


def page_writer(sessions: sessionmaker[Session], run: PageRun, *, records: int | None,
                process_above: int | None, head_start: bool = True) -> PageWriter:
    """A process of its own for a run of more than `process_above` records (None: never),
    when the database can be opened from another process, with a worker thread writing the
    first pages while it starts (`head_start`: HeadStart); a worker thread otherwise."""
    url = database_url(sessions)
    if (process_above is not None and records is not None and records > process_above
            and url is not None):
        process = ProcessWriter(url, run)
        return HeadStart(ThreadWriter(sessions, run), process) if head_start else process
    return ThreadWriter(sessions, run)
