"""The hints task against the fake: fetch 100 per call, echoes cost no read, duplicates and
reordering change nothing twice, deletions and unsynced modules are closed."""

from __future__ import annotations

import asyncio

from sqlalchemy import select

from alix.bootstrap import register_tasks
from alix.integrations.zoho_crm.services import ZohoServices
from alix.integrations.zoho_crm.sync.engine.context import lane_key
from alix.integrations.zoho_crm.sync.engine.hints import process_hints, pull_for_deletions
from alix.integrations.zoho_crm.sync.store.tables import zoho_inbox
from alix.jobs.queue import JobQueue, TaskRegistry
from alix.jobs.tables import Job
from tests.integration.sync_hints.conftest import World

ACME = {"Account_Name": "Acme", "Currency": "CAD", "Phone": "111"}


def test_an_edit_is_fetched_once_and_applied(world: World) -> None:
    [acme] = world.zoho_insert("Accounts", ACME)
    world.link_all("Accounts", [acme])
    world.zoho_update("Accounts", acme, Phone="222")
    world.hint("Accounts", "update", (acme, {"Phone": "222"}))
    outcome = world.process()
    assert world.customers()["Acme"].phone == "222"
    assert world.crm.read_calls == 1 and outcome.reads == 1
    assert world.pending() == 0
    assert world.process().reads == 0  # nothing left: no read at all


def test_our_own_echo_needs_no_read(world: World) -> None:
    [acme] = world.zoho_insert("Accounts", ACME)
    world.link_all("Accounts", [acme])
    # What the push wrote and the base already holds, coming back as a callback.
    world.hint("Accounts", "update", (acme, {"Phone": " 111 ", "Account_Name": "Acme"}))
    # A change of a field no mapper syncs is not worth a read either.
    world.hint("Accounts", "update", (acme, {"Rating": "Hot"}))
    outcome = world.process()
    assert world.crm.read_calls == 0 and world.crm.records_read == 0
    assert outcome.counts["echo"] == 1
    assert world.pending() == 0


def test_an_echo_and_a_real_change_of_one_record_fetch_it(world: World) -> None:
    [acme] = world.zoho_insert("Accounts", ACME)
    world.link_all("Accounts", [acme])
    world.zoho_update("Accounts", acme, Phone="333")
    world.hint("Accounts", "update", (acme, {"Phone": "111"}))
    world.hint("Accounts", "update", (acme, {"Phone": "333"}))
    world.process()
    assert world.crm.read_calls == 1
    assert world.customers()["Acme"].phone == "333"


def test_duplicated_and_reordered_hints_change_nothing_twice(world: World) -> None:
    [acme, globex] = world.zoho_insert(
        "Accounts", ACME, {"Account_Name": "Globex", "Currency": "CAD"})
    world.link_all("Accounts", [acme])
    world.zoho_update("Accounts", acme, Phone="444")
    world.zoho_update("Accounts", acme, Phone="555")
    # Newest first, each twice, plus the insert of another Account after them.
    for _ in range(2):
        world.hint("Accounts", "update", (acme, {"Phone": "555"}))
        world.hint("Accounts", "update", (acme, {"Phone": "444"}))
    world.hint("Accounts", "insert", (globex, None))
    assert world.pending() == 3  # exact repeats are stored once
    first = world.customers()["Acme"]
    world.process()
    after = world.customers()
    assert after["Acme"].phone == "555" and after["Acme"].version == first.version + 1
    assert "Globex" in after
    assert world.crm.read_calls == 1  # both records in one call
    world.hint("Accounts", "update", (acme, {"Phone": "555"}))  # a late repeat: an echo now
    world.process()
    assert world.crm.read_calls == 1
    assert world.customers()["Acme"].version == after["Acme"].version


def test_a_contact_hinted_before_its_new_account_is_imported_with_it(world: World) -> None:
    [acme] = world.zoho_insert("Accounts", ACME)
    [smith] = world.zoho_insert("Contacts", {"Last_Name": "Smith", "Account_Name": {"id": acme}})
    world.hint("Contacts", "insert", (smith, None))
    world.hint("Accounts", "insert", (acme, None))
    outcome = world.process()
    assert outcome.counts["created"] == 2, outcome
    assert "Acme" in world.customers()


def test_one_read_per_hundred_records(world: World) -> None:
    ids = world.zoho_insert("Accounts", *[
        {"Account_Name": f"Customer {i:03}", "Currency": "CAD"} for i in range(150)])
    world.hint("Accounts", "insert", *[(i, None) for i in ids])
    world.process()
    assert world.crm.read_calls == 2
    assert len(world.customers()) == 150


def test_deletions_and_unsynced_modules_are_closed(world: World) -> None:
    [acme] = world.zoho_insert("Accounts", ACME)
    world.link_all("Accounts", [acme])
    world.hint("Accounts", "delete", (acme, None))
    world.hint("Leads", "update", ("999", {"Last_Name": "X"}))
    seen: list[tuple[str, list[str]]] = []
    outcome = asyncio.run(process_hints(
        world.ctx, on_delete=lambda _s, _c, module, ids: seen.append((module, list(ids)))))
    assert seen == [("Accounts", [acme])]
    assert outcome.counts["deleted"] == 1 and outcome.counts["not_synced"] == 1
    assert world.crm.read_calls == 0
    assert world.pending() == 0


def test_a_deletion_queues_the_pull_that_applies_deletions(world: World) -> None:
    registry = TaskRegistry()
    register_tasks(registry, _runs_no_task)
    queue = JobQueue(registry, clock=world.clock)
    [acme, globex] = world.zoho_insert(
        "Accounts", ACME, {"Account_Name": "Globex", "Currency": "CAD"})
    world.hint("Accounts", "delete", (acme, None), (globex, None))
    asyncio.run(process_hints(world.ctx, on_delete=pull_for_deletions(queue)))
    with world.ctx.sessions() as session:
        jobs = session.execute(select(Job.task, Job.payload, Job.lease_key)).all()
    assert jobs == [("zoho_crm.pull", {"connection_id": world.ctx.scope.connection_id,
                                       "initial": False, "deletions": True,
                                       "started_by": "Zoho notification"},
                     lane_key(world.ctx.scope.connection_id))]
    assert world.pending() == 0


def test_processed_hints_are_purged_after_a_week(world: World) -> None:
    world.hint("Leads", "update", ("1", None))
    world.process()
    world.hint("Leads", "update", ("2", None))
    world.clock.advance(8 * 24 * 3600)
    world.process()
    with world.ctx.sessions() as session:
        left = session.execute(select(zoho_inbox.c.zoho_id)).scalars().all()
    assert left == ["2"]


def test_a_record_gone_before_the_read_counts_as_deleted(world: World) -> None:
    world.hint("Accounts", "update", ("5725767000009999999", None))
    outcome = world.process()
    assert outcome.counts["deleted"] == 1
    assert world.pending() == 0


def _runs_no_task() -> ZohoServices:
    """The tasks are registered for the queue's names only: this test runs what it queues."""
    raise AssertionError("No Zoho CRM task runs in this test.")
