"""The sync runs unattended: after the initial synchronization nobody clicks again, yet lost
notifications, due retries and lost push jobs all end up synced when their time comes."""

from __future__ import annotations

import time

from sqlalchemy import delete, select

from alix.customers.outbox import DONE, PENDING
from alix.customers.service import update_customer
from alix.customers.tables import customer_outbox
from alix.db.session import unit_of_work
from alix.identity.tables import Organisation
from alix.integrations.zoho_crm import repository
from alix.integrations.zoho_crm.mappers import ModuleKind
from alix.integrations.zoho_crm.rules import ModuleState
from alix.integrations.zoho_crm.sync.engine.push import PUSH_TASK
from alix.integrations.zoho_crm.sync.engine.runs import PULL_TASK
from alix.integrations.zoho_crm.sync.engine.schedule import reconcile_name
from alix.integrations.zoho_crm.sync.store.inbox import add_hints
from alix.integrations.zoho_crm.sync.store.issues import open_issues
from alix.integrations.zoho_crm.tables import ZohoConnection
from alix.jobs.runner import JobRunner
from alix.jobs.tables import DONE as JOB_DONE
from alix.jobs.tables import Job, Schedule
from tests.integration.sync_push.conftest import SCHEMA

from .conftest import World, make_world

FIVE_MINUTES = 300


def _schedule(world: World) -> Schedule | None:
    with world.container.session_factory() as session:
        return session.get(Schedule, reconcile_name(world.scope.connection_id))


def _synced_customer(world: World, name: str = "Initech") -> tuple[str, int]:
    """An Account imported by the initial synchronization: its Zoho id and ALIX id."""
    zoho_id = world.zoho_insert("Accounts", Account_Name=name, Phone="+1 514 555 0100")
    world.initial_sync()
    return zoho_id, int(world.customers()[name].id)


def test_an_edit_whose_notification_was_lost_arrives_by_the_reconciliation(
    world: World
) -> None:
    zoho_id, _ = _synced_customer(world)
    world.wait(61)  # the sweep gives the established connection its reconciliation
    schedule = _schedule(world)
    assert schedule is not None and schedule.period_seconds == FIVE_MINUTES
    world.zoho_update("Accounts", zoho_id, Phone="+1 514 555 0199")  # Zoho never tells us
    world.wait(60)
    assert world.customers()["Initech"].phone == "+1 514 555 0100", "not before its period"
    world.wait(FIVE_MINUTES)
    assert world.customers()["Initech"].phone == "+1 514 555 0199"
    reconciliations = [j for j in world.jobs() if j.task == PULL_TASK and j.payload.get(
        "reconcile")]
    assert reconciliations and all(j.status == JOB_DONE for j in reconciliations)
    assert all(j.organisation_id is None for j in reconciliations), "no toast every 5 minutes"


def test_the_runner_loop_runs_the_schedules_by_itself(backend: str, container: object) -> None:
    world = make_world(container)  # type: ignore[arg-type]
    zoho_id, _ = _synced_customer(world)
    world.zoho_update("Accounts", zoho_id, Phone="+1 514 555 0142")
    runner = JobRunner(world.container.engine, world.container.session_factory,
                       world.container.queue, clock=world.clock, poll_seconds=0.02,
                       scheduler=world.container.scheduler)
    runner.start()
    try:
        deadline = time.monotonic() + 20
        while world.customers()["Initech"].phone != "+1 514 555 0142":
            assert time.monotonic() < deadline, "the reconciliation never ran"
            world.clock.advance(30)  # the clock runs; the loop ticks on its own
            time.sleep(0.05)
    finally:
        runner.stop()


def test_a_pull_issue_is_retried_at_its_time_without_a_click(
    backend: str, container: object
) -> None:
    # Zoho's home currency is USD, which the organisation does not trade in (yet).
    world = make_world(container, {**SCHEMA, "home_currency": "USD"})  # type: ignore[arg-type]
    world.zoho_insert("Accounts", Account_Name="Globex")
    world.initial_sync()
    assert "Globex" not in world.customers()
    with world.container.session_factory() as session:
        (issue,) = open_issues(session, world.scope)
    assert issue.next_retry_at is not None and "USD" in issue.message
    with unit_of_work(world.container.session_factory) as session:
        org = session.get(Organisation, world.scope.organisation_id)
        assert org is not None
        org.currencies = [*org.currencies, "USD"]
    world.wait(61)
    world.clock.now = max(world.clock.now, issue.next_retry_at)
    world.wait(FIVE_MINUTES)
    assert world.customers()["Globex"].currency == "USD"
    with world.container.session_factory() as session:
        assert open_issues(session, world.scope) == []


def test_a_push_issue_is_retried_at_its_time_without_a_click(world: World) -> None:
    zoho_id, customer_id = _synced_customer(world)
    world.crm.records["Accounts"][zoho_id]["Locked__s"] = True
    with unit_of_work(world.container.session_factory) as session:
        update_customer(session, world.actor, customer_id, {"phone": "+1 514 555 0177"},
                        clock=world.clock)
    world.settle()  # the change's own push: Zoho refuses the locked record
    with world.container.session_factory() as session:
        (issue,) = open_issues(session, world.scope)
    assert issue.code == "RECORD_LOCKED" and issue.next_retry_at is not None
    world.crm.records["Accounts"][zoho_id]["Locked__s"] = False  # someone unlocks it in Zoho
    world.wait(30)
    assert world.crm.records["Accounts"][zoho_id]["Phone"] == "+1 514 555 0100", "not before"
    world.clock.now = max(world.clock.now, issue.next_retry_at)
    world.wait(SWEEP_MARGIN)
    assert world.crm.records["Accounts"][zoho_id]["Phone"] == "+1 514 555 0177"
    with world.container.session_factory() as session:
        assert open_issues(session, world.scope) == []


SWEEP_MARGIN = 61  # the sweep runs every minute


def test_a_change_whose_push_job_was_lost_is_pushed_by_the_sweep(world: World) -> None:
    zoho_id, customer_id = _synced_customer(world)
    with unit_of_work(world.container.session_factory) as session:
        update_customer(session, world.actor, customer_id, {"phone": "+1 514 555 0166"},
                        clock=world.clock)
    with unit_of_work(world.container.session_factory) as session:
        # The push job went with its process (a restore, a purge): only the outbox row is left.
        session.execute(delete(Job).where(Job.task == PUSH_TASK))
    world.settle()
    assert world.crm.records["Accounts"][zoho_id]["Phone"] == "+1 514 555 0100"
    world.wait(SWEEP_MARGIN)
    assert world.crm.records["Accounts"][zoho_id]["Phone"] == "+1 514 555 0166"
    with world.container.session_factory() as session:
        statuses = set(session.scalars(select(customer_outbox.c.status).where(
            customer_outbox.c.organisation_id == world.scope.organisation_id)))
    assert PENDING not in statuses and DONE in statuses


def test_a_push_that_failed_for_good_is_woken_again_after_a_pause(world: World) -> None:
    zoho_id, customer_id = _synced_customer(world)
    with unit_of_work(world.container.session_factory) as session:
        update_customer(session, world.actor, customer_id, {"phone": "+1 514 555 0155"},
                        clock=world.clock)
    with unit_of_work(world.container.session_factory) as session:
        # Zoho was down for every attempt: the job failed for good, its row is still pending.
        session.execute(Job.__table__.update().where(Job.task == PUSH_TASK).values(
            status="failed", finished_at=world.clock(), attempts=5))
    world.wait(SWEEP_MARGIN)
    assert world.crm.records["Accounts"][zoho_id]["Phone"] == "+1 514 555 0100", "a pause"
    world.wait(5 * 60)
    assert world.crm.records["Accounts"][zoho_id]["Phone"] == "+1 514 555 0155"


def test_hints_whose_job_was_lost_are_processed_by_the_sweep(world: World) -> None:
    zoho_id, _ = _synced_customer(world)
    world.zoho_update("Accounts", zoho_id, Phone="+1 514 555 0133")
    with unit_of_work(world.container.session_factory) as session:
        # Stored by the endpoint, whose job was lost.
        add_hints(session, world.scope, "Accounts", "update", [(zoho_id, None)], world.clock())
    world.wait(SWEEP_MARGIN)
    assert world.customers()["Initech"].phone == "+1 514 555 0133"
    assert not any(j.task == PULL_TASK and j.payload.get("reconcile") for j in world.jobs()), \
        "the hints, not the reconciliation"


def test_the_reconciliation_starts_and_stops_with_the_connection_and_customers(
    world: World
) -> None:
    world.wait(61)
    assert _schedule(world) is None, "nothing runs unattended before the initial sync"
    _synced_customer(world)
    world.wait(61)
    assert _schedule(world) is not None
    sessions = world.container.session_factory

    def switch(active: bool) -> None:
        with unit_of_work(sessions) as session:
            connection = session.get(ZohoConnection, world.scope.connection_id)
            assert connection is not None
            repository.save_module(session, connection, ModuleState(ModuleKind.CUSTOMERS, active))

    switch(False)
    assert _schedule(world) is None
    switch(True)
    assert _schedule(world) is not None
    with unit_of_work(sessions) as session:
        connection = session.get(ZohoConnection, world.scope.connection_id)
        assert connection is not None
        connection.status = "disconnected"
    assert _schedule(world) is None
    world.wait(61)
    assert _schedule(world) is None, "the sweep agrees"
