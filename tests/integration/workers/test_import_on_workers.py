"""kill -9 of a worker in the middle of an initial import from the emulator: another worker
takes the job over once the heartbeats are older than the threshold and finishes it from its
last committed page with exact counts and no duplicate; a second start while it runs collapses
into the same job."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, func, select, text

from alix.bootstrap import Container
from alix.customers.tables import contact_persons, customers
from alix.db.session import unit_of_work
from alix.integrations.zoho_crm.repository import connected
from alix.integrations.zoho_crm.sync.engine.runs import start_pull
from alix.integrations.zoho_crm.sync.store.tables import zoho_links, zoho_sync_issues
from alix.jobs.tables import DONE, RUNNING, Job
from tests.crash.conftest import World, emulator, world
from tests.integration.workers.conftest import STALLED_SECONDS, StartWorker, wait_for
from zoho_emulator.testing import EmulatorServer

pytestmark = pytest.mark.postgres


@pytest.fixture(scope="module")
def emu() -> Iterator[EmulatorServer]:
    with emulator(accounts=1000, contacts_per_account=1) as server:  # 2,000 records
        yield server


@pytest.fixture
def crash(pg: Container, engine: Engine, emu: EmulatorServer) -> Iterator[World]:
    yield from world(engine, emu, STALLED_SECONDS)


def _count(pg: Container, table: Any, *where: Any) -> int:
    with pg.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table).where(*where))
                   .scalar_one())


def check_import(pg: Container, crash: World) -> None:
    """Every Zoho Account is a customer once (or an open issue saying why not), linked once;
    every Contact of an imported Account is a contact person once."""
    org = crash.admin.organisation_id
    store = crash.emu.state.default_org.store
    accounts, contacts = store("Accounts").records, store("Contacts").records.values()
    imported = _count(pg, customers, customers.c.organisation_id == org)
    rejected = _count(pg, zoho_sync_issues, zoho_sync_issues.c.kind == "customer",
                      zoho_sync_issues.c.status == "open")
    assert imported + rejected == len(accounts)
    with pg.engine.connect() as conn:
        linked = set(conn.execute(select(zoho_links.c.zoho_id).where(
            zoho_links.c.kind == "customer", zoho_links.c.tombstoned_at.is_(None))).scalars())
    assert len(linked) == imported, "a customer without its link is a duplicate"
    people = _count(pg, contact_persons, contact_persons.c.organisation_id == org)
    with_account = [c for c in contacts if str(c.get("Account_Name") or "") in linked]
    assert people == _count(pg, zoho_links, zoho_links.c.kind == "contact") == len(with_account)


def _job(pg: Container, job_id: int) -> Job:
    with pg.session_factory() as session:
        job = session.get(Job, job_id)
        assert job is not None
        return job


def test_a_killed_workers_import_is_finished_by_another_exactly_once(
    pg: Container, crash: World, start_worker: StartWorker
) -> None:
    zoho = {k: v for k, v in crash.env.items() if k.startswith("ALIX_ZOHO_")}
    first = start_worker("w1", **zoho)
    org = crash.admin.organisation_id
    with unit_of_work(pg.session_factory) as session:
        job_id = start_pull(session, pg.queue, org, connected(session, org).id,
                            initial=True).id
    wait_for(lambda: _job(pg, job_id).progress_done > 0, 30, "the import's first page")
    # A second click while it runs is the same job, not a second procrastinate job.
    with unit_of_work(pg.session_factory) as session:
        again = start_pull(session, pg.queue, org, connected(session, org).id, initial=True)
        assert again.id == job_id
    with pg.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM procrastinate_jobs"
                                 " WHERE task_name = 'zoho_crm.pull'")).scalar_one() == 1

    first.kill()
    first.wait(10)
    assert _job(pg, job_id).status == RUNNING, "the import ended before the kill"
    start_worker("w2", **zoho)

    wait_for(lambda: _job(pg, job_id).status == DONE, 60, "the second worker to finish it")
    job = _job(pg, job_id)
    assert (job.worker or "").startswith("w2-") and job.attempts == 2
    check_import(pg, crash)
