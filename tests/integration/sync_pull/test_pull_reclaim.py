"""A pull whose process died: the cloud icon hands its job back, a runner takes it over and
finishes it, and the status page shows the dead run as interrupted."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import anyio
import pytest
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from alix.customers.tables import customers
from alix.db.session import unit_of_work
from alix.integrations.zoho_crm.repository import connected
from alix.integrations.zoho_crm.sync.engine.context import lane_key
from alix.integrations.zoho_crm.sync.store import runs as run_store
from alix.integrations.zoho_crm.sync.store.scope import SyncScope
from alix.jobs.lease import LeaseStore
from alix.jobs.runner import JobRunner
from alix.jobs.tables import DONE, RUNNING, Job
from tests.integration.sync_pull.test_emulator import _call, activate_customers
from tests.integration.zoho_settings.conftest import (
    CALLBACK,
    CLIENT_ID,
    CLIENT_SECRET,
    Alix,
    alix,
    connect,
    zoho_container,
)
from zoho_emulator.testing import EmulatorServer

ACCOUNTS = 12
THRESHOLD = 2.0

__all__ = ["alix", "zoho_container"]


@pytest.fixture(scope="module")
def emu() -> Iterator[EmulatorServer]:
    with EmulatorServer(accounts=ACCOUNTS, contacts_per_account=1,
                        register_clients=[(CLIENT_ID, CLIENT_SECRET, CALLBACK)]) as server:
        yield server


def test_a_dead_pull_is_handed_back_reclaimed_and_shown_interrupted(
    alix: Alix, emu: EmulatorServer, backend: str
) -> None:
    connect(alix.http, emu)
    activate_customers(alix)
    container = alix.container
    started = _call(alix, "POST", "/sync", {})
    assert started.status_code == 202, started.text
    job_id = started.json()["job_id"]
    # The process running it died after starting its run: the job stays running with a
    # heartbeat that is no longer renewed, the lane's lease lapses within the threshold.
    long_ago = container.clock() - timedelta(seconds=3 * THRESHOLD)
    with unit_of_work(container.session_factory) as session:
        connection_id = connected(session, alix.admin.organisation_id).id
        scope = SyncScope(alix.admin.organisation_id, connection_id)
        dead_run = run_store.start_run(session, scope, run_store.RunKind.INITIAL, 1, long_ago)
        session.execute(update(Job).where(Job.id == job_id).values(
            status=RUNNING, worker="runner-4242-gone", started_at=long_ago,
            heartbeat_at=long_ago, attempts=1))
    assert LeaseStore(container.engine, clock=lambda: long_ago).acquire(
        lane_key(connection_id), "runner-4242-gone", THRESHOLD)

    again = _call(alix, "POST", "/sync", {})
    assert again.status_code == 202 and again.json()["job_id"] == job_id, \
        "the dead job is handed back, not a second pull beside it"
    runner = JobRunner(container.engine, container.session_factory, container.queue,
                       clock=container.clock,
                       heartbeat_seconds=THRESHOLD)
    assert anyio.run(runner.run_pending) >= 1  # with the notification channels' job
    with Session(container.engine) as session:
        job = session.get(Job, job_id)
        assert job is not None
        assert job.status == DONE, job.error
        assert "done" in job.progress_message
        imported = session.execute(select(func.count()).select_from(customers).where(
            customers.c.organisation_id == alix.admin.organisation_id)).scalar_one()
        assert imported > 0
        left = run_store.get_run(session, scope, dead_run)
        latest = run_store.latest_run(session, scope)
    assert left.status is run_store.RunStatus.INTERRUPTED
    assert latest is not None and latest.status is run_store.RunStatus.SUCCEEDED
    page = alix.http.get("/settings/integrations/zoho-crm/sync")
    assert page.status_code == 200
    row = page.text.split(f'data-run="{dead_run}"', 1)[1].split("</tr>", 1)[0]
    assert "Interrupted" in row and "Running" not in row


def test_a_pull_stopped_between_pages_is_queued_again_and_resumes(
    alix: Alix, emu: EmulatorServer
) -> None:
    connect(alix.http, emu)
    activate_customers(alix)
    container = alix.container
    job_id = _call(alix, "POST", "/sync", {}).json()["job_id"]
    runner: JobRunner | None = None

    def sigterm_after_first_page(done: int, total: int | None, message: str) -> None:
        if "records/s" in message and runner is not None:
            runner.request_stop()  # what SIGTERM does (alix.jobs.shutdown)

    runner = JobRunner(container.engine, container.session_factory, container.queue,
                       clock=container.clock,
                       heartbeat_seconds=THRESHOLD, on_progress=sigterm_after_first_page)
    assert anyio.run(runner.run_job, job_id)
    with Session(container.engine) as session:
        job = session.get(Job, job_id)
        assert job is not None
        assert (job.status, job.attempts) == ("queued", 0)
        connection_id = connected(session, alix.admin.organisation_id).id
        scope = SyncScope(alix.admin.organisation_id, connection_id)
        stopped = run_store.latest_run(session, scope)
        first_page = session.execute(select(func.count()).select_from(customers)).scalar_one()
    assert stopped is not None and stopped.status is run_store.RunStatus.INTERRUPTED
    assert stopped.done > 0 and first_page > 0, "the page before the stop committed"
    assert LeaseStore(container.engine).acquire(lane_key(connection_id), "web", THRESHOLD)
    LeaseStore(container.engine).release(lane_key(connection_id), "web")

    again = JobRunner(container.engine, container.session_factory, container.queue,
                      clock=container.clock,
                      heartbeat_seconds=THRESHOLD)
    assert anyio.run(again.run_job, job_id)
    with Session(container.engine) as session:
        job = session.get(Job, job_id)
        assert job is not None and job.status == DONE
        latest = run_store.latest_run(session, scope)
    assert latest is not None and latest.status is run_store.RunStatus.SUCCEEDED
    with Session(container.engine) as session:
        assert run_store.get_run(session, scope, stopped.id).status is \
            run_store.RunStatus.INTERRUPTED
