"""A process writer still starting has the first pages written in a thread (page_writer.
HeadStart): the pages still commit one after the other in the order given, and none is written
after one that failed."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from datetime import UTC, datetime

import pytest

from alix.integrations.zoho_crm.sync.engine.apply import PageOutcome
from alix.integrations.zoho_crm.sync.engine.page_writer import HeadStart, Page, WriterStopped
from alix.integrations.zoho_crm.sync.kinds import LinkKind

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def _page(number: int) -> Page:
    return Page("Accounts", (LinkKind.CUSTOMER,), (), None, NOW, number)


class Writer:
    """Takes pages and writes each when the test says so; the log says who got what when."""

    depth, ahead, page_size = 2, 8, 400

    def __init__(self, name: str, log: list[str], *, started: bool = True) -> None:
        self.name = name
        self.log = log
        self.started = started
        self.taken: dict[int, asyncio.Future[PageOutcome]] = {}

    def ready(self) -> bool:
        return self.started

    def submit(self, page: Page) -> Awaitable[PageOutcome]:
        self.log.append(f"{self.name} takes {page.number}")
        self.taken[page.number] = asyncio.get_running_loop().create_future()
        return self.taken[page.number]

    def commit(self, number: int) -> None:
        self.log.append(f"{self.name} commits {number}")
        self.taken[number].set_result(PageOutcome(read=number))

    async def close(self) -> None:
        return None


async def _turn() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


Sent = list[Awaitable[PageOutcome]]


async def _started_after_two_pages(log: list[str]) -> tuple[Writer, Writer, HeadStart, Sent]:
    """Pages 1 and 2 sent while the process starts, then it is up."""
    here, there = Writer("thread", log), Writer("process", log, started=False)
    writer = HeadStart(here, there)
    sent = [writer.submit(_page(1)), writer.submit(_page(2))]
    await _turn()
    there.started = True
    return here, there, writer, sent


def test_the_thread_writes_until_the_process_started_then_the_process_in_order() -> None:
    async def run() -> list[str]:
        log: list[str] = []
        here, there, writer, [one, two] = await _started_after_two_pages(log)
        three, four = writer.submit(_page(3)), writer.submit(_page(4))
        await _turn()
        here.commit(1)
        await _turn()
        here.commit(2)
        await _turn()
        there.commit(3)
        there.commit(4)
        assert [(await w).read for w in (one, two, three, four)] == [1, 2, 3, 4]
        return log

    assert asyncio.run(run()) == [
        "thread takes 1", "thread commits 1", "thread takes 2", "thread commits 2",
        # The process takes its first page once the thread's last one committed, then the
        # next at once: its pool writes them in the order sent.
        "process takes 3", "process takes 4", "process commits 3", "process commits 4"]


def test_no_page_is_written_after_one_that_failed_in_the_thread() -> None:
    async def run() -> list[str]:
        log: list[str] = []
        here, _there, writer, [one, two] = await _started_after_two_pages(log)
        three = writer.submit(_page(3))
        await _turn()
        here.taken[1].set_exception(ValueError("a bad record"))
        with pytest.raises(ValueError):
            await one
        for later in (two, three):
            with pytest.raises(WriterStopped, match="earlier page failed"):
                await later
        return log

    assert asyncio.run(run()) == ["thread takes 1"]
