"""Zoho is polled only when it is needed: with notifications live, a change arrives by its
callback, and the pulls that follow one (a change still inside the settle window) read what
changed but do not ask Zoho for its deleted records again; the reconciliation, a person's sync
and a deletion's notification do."""

from __future__ import annotations

import asyncio

from alix.db.session import unit_of_work
from alix.integrations.zoho_crm.sync.engine.hints_inbox import wake_worker
from alix.integrations.zoho_crm.sync.engine.runs import PULL_TASK, start_for_organisation
from alix.integrations.zoho_crm.sync.store.inbox import add_hints
from alix.jobs.tables import QUEUED

from .conftest import World

FIVE_MINUTES = 300
MODULES = 2  # Accounts and Contacts


def _synced(world: World, name: str) -> str:
    zoho_id = world.zoho_insert("Accounts", Account_Name=name, Phone="+1 514 555 0100")
    world.initial_sync()
    return zoho_id


def _person_syncs(world: World) -> None:
    with unit_of_work(world.container.session_factory) as session:
        start_for_organisation(session, world.container.queue, world.scope.organisation_id,
                               initial=False, started_by="person")


def _run_due(world: World) -> None:
    """Run what is due now, without moving the clock."""
    world.settle()


def test_the_pull_that_follows_a_settling_change_does_not_ask_for_deletions(
    world: World
) -> None:
    zoho_id = _synced(world, "Initech")
    world.zoho_update("Accounts", zoho_id, Phone="+1 514 555 0111")
    asked = world.crm.asked["deleted"]
    _person_syncs(world)  # the change is a second old: inside the settle window
    _run_due(world)
    assert world.crm.asked["deleted"] - asked == MODULES, "a person's sync checks deletions"
    assert world.customers()["Initech"].phone == "+1 514 555 0100", "left for the follow-up"
    asked = world.crm.asked["deleted"]
    world.wait(5)  # the follow-up pull, queued for after the settle window
    assert world.customers()["Initech"].phone == "+1 514 555 0111"
    assert world.crm.asked["deleted"] == asked, "the follow-up asked for deleted records"


def test_the_reconciliation_asks_for_deletions_and_applies_one_nobody_told_us_about(
    world: World
) -> None:
    zoho_id = _synced(world, "Initech")
    world.wait(61)  # the sweep gives the established connection its reconciliation
    world.clock.advance(2)
    asyncio.run(world.crm.delete("Accounts", [zoho_id]))  # its notification was lost
    world.wait(FIVE_MINUTES + 5)
    assert world.customers()["Initech"].is_active is False


def test_a_deletion_notification_makes_a_queued_follow_up_check_deletions(
    world: World
) -> None:
    kept = _synced(world, "Initech")
    gone = world.zoho_insert("Accounts", Account_Name="Globex", Phone="+1 514 555 0102")
    world.clock.advance(3)
    _person_syncs(world)
    _run_due(world)
    world.zoho_update("Accounts", kept, Phone="+1 514 555 0111")
    _person_syncs(world)
    _run_due(world)  # defers the update: a follow-up without the deletion pass is queued
    assert [j for j in world.jobs(QUEUED) if j.task == PULL_TASK]
    asyncio.run(world.crm.delete("Accounts", [gone]))
    with unit_of_work(world.container.session_factory) as session:
        add_hints(session, world.scope, "Accounts", "delete", [(gone, None)], world.clock())
        wake_worker(session, world.container.queue, world.scope)
    world.wait(10)  # the hints job, then the follow-up after the settle window
    assert world.customers()["Globex"].is_active is False, \
        "the deletion waited for the reconciliation"
    assert world.customers()["Initech"].phone == "+1 514 555 0111"
