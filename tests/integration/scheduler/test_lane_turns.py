"""Push and notifications take turns on a connection's lane: a job that has worked its slice
hands the lane over at its next page when another kind of job waits, and queues itself for
the rest. A burst of Zoho edits no longer holds an ALIX edit's push until all were read."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import anyio
import pytest
from sqlalchemy import func, select

from alix.customers.service import update_customer
from alix.db.session import unit_of_work
from alix.integrations.zoho_crm.sync.engine import context
from alix.integrations.zoho_crm.sync.engine.hints_inbox import wake_worker
from alix.integrations.zoho_crm.sync.engine.push import PUSH_TASK
from alix.integrations.zoho_crm.sync.engine.runs import start_for_organisation
from alix.integrations.zoho_crm.sync.store.inbox import add_hints
from alix.integrations.zoho_crm.sync.store.runs import RunKind
from alix.integrations.zoho_crm.sync.store.tables import zoho_inbox, zoho_sync_runs
from alix.jobs.tables import DONE, QUEUED

from .conftest import World

BURST = 250  # three rounds of the hints job


def _pending_hints(world: World) -> int:
    with world.container.session_factory() as session:
        return int(session.scalar(select(func.count()).select_from(zoho_inbox).where(
            zoho_inbox.c.processed_at.is_(None))) or 0)


def _runs(world: World, kind: RunKind) -> list[tuple[str, dict[str, int]]]:
    with world.container.session_factory() as session:
        return [(status, counts) for status, counts in session.execute(
            select(zoho_sync_runs.c.status, zoho_sync_runs.c.counts)
            .where(zoho_sync_runs.c.kind == kind.value).order_by(zoho_sync_runs.c.id))]


def test_an_alix_edit_is_pushed_between_the_rounds_of_a_zoho_burst(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(context, "LANE_SLICE", timedelta(0))  # the frozen clock does not move
    ids = [world.zoho_insert("Accounts", Account_Name=f"Company {i:03d}") for i in range(BURST)]
    world.initial_sync()
    world.clock.advance(2)
    asyncio.run(world.crm.update("Accounts", [{"id": z, "Phone": "+1 555 0100"} for z in ids]))
    with unit_of_work(world.container.session_factory) as session:
        add_hints(session, world.scope, "Accounts", "update", [(z, None) for z in ids],
                  world.clock())
        wake_worker(session, world.container.queue, world.scope)  # queued before the push
    customer = world.customers()["Company 000"]
    with unit_of_work(world.container.session_factory) as session:
        update_customer(session, world.actor, customer.id, {"website": "https://c0.example"},
                        clock=world.clock)
    ran = anyio.run(world.runner.run_pending, 2)  # the hints job, then the next due job
    assert ran == 2
    pushes = [j for j in world.jobs() if j.task == PUSH_TASK]
    assert [j.status for j in pushes] == [DONE], "the push waited for the whole burst"
    zoho_site = world.crm.records["Accounts"][ids[0]].get("Website")
    assert zoho_site == "https://c0.example"
    assert 0 < _pending_hints(world) < BURST, "the burst continues after the push"
    assert [j for j in world.jobs(QUEUED) if j.task == "zoho_crm.hints"]
    world.settle()
    assert _pending_hints(world) == 0
    assert world.customers()["Company 249"].phone == "+1 555 0100"
    # The hints handed the lane over between rounds, and are still one run in the history.
    assert [(status, counts.get("updated")) for status, counts in _runs(world, RunKind.REALTIME)
            ] == [("succeeded", BURST)]


def test_a_zoho_edit_is_applied_between_the_pages_of_a_large_push(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(context, "LANE_SLICE", timedelta(0))
    ids = [world.zoho_insert("Accounts", Account_Name=f"Company {i:03d}") for i in range(BURST)]
    world.initial_sync()
    customers = world.customers()
    with unit_of_work(world.container.session_factory) as session:
        for n, name in enumerate(sorted(customers)):
            update_customer(session, world.actor, customers[name].id,
                            {"website": f"https://c{n}.example"}, clock=world.clock)
    world.clock.advance(2)
    asyncio.run(world.crm.update("Accounts", [{"id": ids[-1], "Phone": "+1 555 0199"}]))
    with unit_of_work(world.container.session_factory) as session:
        add_hints(session, world.scope, "Accounts", "update", [(ids[-1], None)], world.clock())
        wake_worker(session, world.container.queue, world.scope)  # queued after the push
    assert anyio.run(world.runner.run_pending, 2) == 2  # a push page, then the hints
    assert world.customers()["Company 249"].phone == "+1 555 0199", \
        "the Zoho edit is in ALIX after one page of the push"
    assert [j for j in world.jobs(QUEUED) if j.task == PUSH_TASK], "the rest of the push"
    world.settle()
    assert all(str(r.get("Website", "")).startswith("https://c")
               for r in world.crm.records["Accounts"].values())
    # The push handed the lane over after each page, and is still one run in the history.
    assert [(status, counts.get("updated")) for status, counts in _runs(world, RunKind.PUSH)
            ] == [("succeeded", BURST)]


def test_an_incremental_pull_hands_the_lane_to_a_push_and_its_rest_follows(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(context, "LANE_SLICE", timedelta(0))
    ids = [world.zoho_insert("Accounts", Account_Name=f"Company {i:03d}") for i in range(450)]
    world.initial_sync()
    world.clock.advance(2)
    asyncio.run(world.crm.update("Accounts", [{"id": z, "Phone": "+1 555 0111"} for z in ids]))
    world.clock.advance(3)  # settled: the whole change is the next pull's
    with unit_of_work(world.container.session_factory) as session:
        start_for_organisation(session, world.container.queue, world.scope.organisation_id,
                               initial=False, started_by="person")
    customer = world.customers()["Company 449"]
    with unit_of_work(world.container.session_factory) as session:
        update_customer(session, world.actor, customer.id, {"website": "https://c449.example"},
                        clock=world.clock)
    assert anyio.run(world.runner.run_pending, 2) == 2  # a page of the pull, then the push
    assert world.crm.records["Accounts"][ids[-1]].get("Website") == "https://c449.example"
    phones = [c.phone for c in world.customers().values()]
    assert 0 < phones.count("+1 555 0111") < len(ids), "the pull's rest follows later"
    world.wait(5)  # its follow-up, after the settle window
    assert all(c.phone == "+1 555 0111" for c in world.customers().values())
