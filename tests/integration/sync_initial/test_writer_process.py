"""A large initial import writes its pages in a second process (page_writer): the same rows,
links, bases and issues as one written in this process; a run that dies in the middle of a
page keeps the pages before it and resumes with exact counts; a page after one that failed in
the writer is not written."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import Engine

from alix.integrations.zoho_crm.sync.engine import page_writer
from alix.integrations.zoho_crm.sync.engine.page_writer import (
    HeadStart,
    Page,
    PageRun,
    ProcessWriter,
    ThreadWriter,
    WriterStopped,
)
from alix.integrations.zoho_crm.sync.kinds import LinkKind

from .conftest import FailingFake, world_named
from .test_fast_import import _seed, _snapshot, crash_and_resume


def test_pages_written_by_a_second_process_import_the_same(engine: Engine,
                                                            backend: str) -> None:
    apart, here = world_named(engine, "Apart Ltd"), world_named(engine, "Here Ltd")
    for world in (apart, here):
        _seed(world)
    run = PageRun(apart.scope, apart.config, apart.ctx.actor, 0, True)
    chosen = page_writer.page_writer(apart.ctx.sessions, run, records=13, process_above=0)
    asyncio.run(chosen.close())  # its process started: ended here, not when pytest exits
    # This database opens from another process; the first pages are written here while it
    # starts (tests/unit/sync/test_head_start.py), unless told not to, as here.
    assert isinstance(chosen, HeadStart) and isinstance(chosen.then, ProcessWriter)
    apart_report = apart.pull(initial=True, process_above=0, head_start=False, page_size=2)
    here_report = here.pull(initial=True, page_size=2)
    assert apart_report.counts == here_report.counts
    assert apart_report.read == here_report.read
    assert _snapshot(apart) == _snapshot(here)
    # Only a run above the threshold starts a process.
    assert isinstance(page_writer.page_writer(apart.ctx.sessions, run, records=13,
                                              process_above=13), ThreadWriter)


def test_a_run_that_dies_mid_page_keeps_the_pages_before_and_resumes(engine: Engine,
                                                                     backend: str) -> None:
    crash_and_resume(world_named(engine, "Apart Ltd", FailingFake), process_above=0,
                     head_start=False)


def test_a_head_start_imports_the_same(engine: Engine, backend: str) -> None:
    # Pages written here while the process starts, then there: whichever wrote which,
    # the same rows, links and issues as one writer.
    apart, here = world_named(engine, "Apart Ltd"), world_named(engine, "Here Ltd")
    for world in (apart, here):
        _seed(world)
    apart_report = apart.pull(initial=True, process_above=0, page_size=2)
    here_report = here.pull(initial=True, page_size=2)
    assert apart_report.counts == here_report.counts
    assert _snapshot(apart) == _snapshot(here)


def test_no_page_is_written_after_one_that_failed(engine: Engine, backend: str,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    # The writer's pages are on their way two at a time: the one after a failed page must
    # not commit its watermark past the failed page's records.
    world = world_named(engine, "Apart Ltd")
    run = PageRun(world.scope, world.config, world.ctx.actor, 0, True)
    monkeypatch.setattr(page_writer, "_CHILD", (world.ctx.sessions, run))
    monkeypatch.setattr(page_writer, "_FAILED", None)
    broken = Page("Accounts", (LinkKind.CUSTOMER,), [object()],  # type: ignore[list-item]
                  None, world.clock(), 1)
    with pytest.raises(Exception):  # noqa: B017 - whatever the bad record raises
        page_writer._write(broken)
    later = Page("Accounts", (LinkKind.CUSTOMER,), [], None, world.clock(), 2)
    with pytest.raises(WriterStopped, match="Page 2 was not written: page 1 failed"):
        page_writer._write(later)
