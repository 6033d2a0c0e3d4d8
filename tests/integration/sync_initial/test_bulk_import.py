"""A large module is imported through Zoho's bulk read (CSV exports in no time order) with the
same result as the pages: rows, links, bases and issues; a crash in the middle re-reads the
export and ends with exact counts; a connection whose scopes refuse bulk read reads the pages;
records changed after the run's bound are left to the next run, which finds them."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import Engine

from alix.integrations.zoho_crm.client.errors import ScopeMissing
from alix.integrations.zoho_crm.client.wire import Record
from tests.integration.sync_pull.conftest import CountingFake

from .conftest import world_named
from .test_fast_import import _account, _seed, _snapshot


class BulkFake(CountingFake):
    """The fake whose bulk export can die after `fail_after` records, or be refused."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.fail_after: int | None = None
        self.refuse = False

    async def bulk_records(  # type: ignore[override]
        self, module: str, fields: Sequence[str], *, modified_since: datetime | None = None
    ) -> AsyncIterator[Record]:
        if self.refuse:
            raise ScopeMissing("Zoho refused the bulk read: OAUTH_SCOPE_MISMATCH.",
                               code="OAUTH_SCOPE_MISMATCH")
        handed = 0
        async for record in super().bulk_records(module, fields,
                                                 modified_since=modified_since):
            if self.fail_after is not None and handed >= self.fail_after:
                raise ConnectionError("the process died here")
            handed += 1
            yield record


def test_the_bulk_read_and_the_pages_import_the_same(engine: Engine, backend: str) -> None:
    bulk, pages = (world_named(engine, "Bulk Ltd", BulkFake),
                   world_named(engine, "Pages Ltd", BulkFake))
    for world in (bulk, pages):
        _seed(world)
    bulk_report = bulk.pull(initial=True, bulk_above=0)
    pages_report = pages.pull(initial=True)
    assert bulk.crm.asked["bulk"] == 3 and pages.crm.asked["bulk"] == 0
    assert bulk_report.counts == pages_report.counts
    assert _snapshot(bulk) == _snapshot(pages)
    # Nothing is read twice afterwards: the watermarks moved past the export.
    assert sum(bulk.pull().read.values()) == 0


def test_only_modules_above_the_threshold_use_bulk_read(engine: Engine, backend: str) -> None:
    world = world_named(engine, "Bulk Ltd", BulkFake)
    accounts = world.zoho("Accounts", *[_account(f"Company {i}") for i in range(5)])
    world.zoho("Contacts", {"Last_Name": "Solo", "Account_Name": {"id": accounts[0]}})
    world.pull(initial=True, bulk_above=3)
    assert world.crm.asked["bulk"] == 1, "Accounts (5) by bulk, Contacts (1) by pages"
    assert len(world.customers()) == 5 and len(world.contacts()) == 1


def test_a_crash_in_the_middle_of_an_export_ends_with_exact_counts(engine: Engine,
                                                                   backend: str) -> None:
    world = world_named(engine, "Bulk Ltd", BulkFake)
    names = [f"Company {i:02d}" for i in range(23)]
    accounts = world.zoho("Accounts", *[_account(n) for n in names])
    world.zoho("Contacts", *[{"Last_Name": f"Person {i}", "Account_Name": {"id": a}}
                             for i, a in enumerate(accounts)])
    crm = world.crm
    assert isinstance(crm, BulkFake)
    crm.fail_after = 12
    with pytest.raises(ConnectionError):
        world.pull(initial=True, page_size=5, bulk_above=0)
    assert len(world.customers()) == 10  # two pages committed
    crm.fail_after = None
    second = world.pull(initial=True, page_size=5, bulk_above=0)
    assert sorted(world.customers()) == names
    assert len(world.contacts()) == 23
    assert len(world.links()) == 46 and world.issues() == []
    assert second.counts["created"] == 13 + 23, "the rest, nothing twice"


def test_a_refused_bulk_read_falls_back_to_the_pages(engine: Engine, backend: str) -> None:
    world = world_named(engine, "Bulk Ltd", BulkFake)
    world.zoho("Accounts", *[_account(f"Company {i}") for i in range(4)])
    crm = world.crm
    assert isinstance(crm, BulkFake)
    crm.refuse = True
    report = world.pull(initial=True, bulk_above=0)
    assert report.counts["created"] == 4 and len(world.customers()) == 4


def test_records_changed_inside_the_settle_window_are_left_to_the_next_run(
    engine: Engine, backend: str
) -> None:
    world = world_named(engine, "Bulk Ltd", BulkFake)
    world.zoho("Accounts", _account("Early"))
    world.clock.advance(10)
    world.zoho("Accounts", _account("Late"))  # in the export, but after the run's bound
    report = world.pull(initial=True, bulk_above=0, settle=0)
    assert sorted(world.customers()) == ["Early"]
    assert report.deferred == 1, "the run says a next one is needed (pull_task queues it)"
    world.pull()
    assert sorted(world.customers()) == ["Early", "Late"]
