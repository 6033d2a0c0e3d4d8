"""kill -9 of a worker in the middle of a push of ALIX changes to the emulator: another worker
takes the push job over once the dead one's heartbeat is older than the threshold, and Zoho
ends with each new Account exactly once, every ALIX customer linked, nothing left to send.
(The import's counterpart: test_import_on_workers.py.)"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, func, select

from alix.bootstrap import Container
from alix.customers.domain import Actor, NewCustomer, Origin
from alix.customers.outbox import DONE as SENT
from alix.customers.service import create_customers
from alix.customers.tables import customer_outbox, customers
from alix.db.session import unit_of_work
from alix.integrations.zoho_crm.sync.engine.push import PUSH_TASK
from alix.integrations.zoho_crm.sync.store.tables import zoho_links
from alix.jobs.tables import DONE, RUNNING, Job
from tests.crash.conftest import World, emulator, world
from tests.integration.workers.conftest import STALLED_SECONDS, StartWorker, wait_for
from zoho_emulator.testing import EmulatorServer

pytestmark = pytest.mark.postgres

CREATES = 1000  # 10 insert calls of 100
# Each emulator call waits this long while w1 pushes, so the kill lands between two pages
# (or during one) however busy the machine is; w2 pushes at full speed.
LATENCY_MS = 150


@pytest.fixture
def emu() -> Iterator[EmulatorServer]:
    with emulator(accounts=0, contacts_per_account=0) as server:
        yield server


@pytest.fixture
def crash(pg: Container, engine: Engine, emu: EmulatorServer) -> Iterator[World]:
    # The changes go through the procrastinate container: their push job is deferred in the
    # same transaction, as a web process on PostgreSQL does it.
    for made in world(engine, emu, STALLED_SECONDS):
        yield dataclasses.replace(made, container=pg)


def _accounts(emu: EmulatorServer) -> int:
    return len(emu.state.default_org.store("Accounts").records)


def _push_jobs(pg: Container) -> list[Job]:
    with pg.session_factory() as session:
        jobs = list(session.scalars(select(Job).where(Job.task == PUSH_TASK).order_by(Job.id)))
        session.expunge_all()
        return jobs


def _create_customers(crash: World, count: int) -> set[str]:
    """`count` new customers in one transaction: the push trigger queues one push job.
    (tests/crash/test_kill.py's make_changes, which its module's soak marker keeps there.)"""
    org = crash.admin.organisation_id
    names = {f"Pushed Customer {i:05d}" for i in range(count)}
    with unit_of_work(crash.container.session_factory) as session:
        create_customers(session, Actor(org, crash.admin.user_id, Origin.USER),
                         [NewCustomer({"name": n, "currency": "CAD"}) for n in sorted(names)])
    return names


def _check_push(crash: World, created: set[str]) -> None:
    """Zoho holds each new customer exactly once; each ALIX customer is linked, once, with
    nothing in flight; no ALIX change is left to send."""
    accounts = crash.emu.state.default_org.store("Accounts").records.values()
    names = Counter(str(a.get("Account_Name")) for a in accounts)
    assert set(names) == created and set(names.values()) == {1}, names.most_common(3)
    with crash.container.engine.connect() as conn:
        in_alix = conn.execute(select(func.count()).select_from(customers).where(
            customers.c.organisation_id == crash.admin.organisation_id)).scalar_one()
        linked = conn.execute(select(zoho_links.c.alix_id, zoho_links.c.zoho_id).where(
            zoho_links.c.kind == "customer", zoho_links.c.tombstoned_at.is_(None),
            zoho_links.c.pending_since.is_(None))).all()
        unsent = conn.execute(select(func.count()).select_from(customer_outbox).where(
            customer_outbox.c.status != SENT)).scalar_one()
    assert in_alix == len(created)
    assert len({a for a, _ in linked}) == len({z for _, z in linked}) == len(linked) == in_alix
    assert {z for _, z in linked} == {str(i) for i in
                                      crash.emu.state.default_org.store("Accounts").records}
    assert unsent == 0


def test_a_killed_workers_push_is_finished_by_another_exactly_once(
    pg: Container, crash: World, start_worker: StartWorker
) -> None:
    zoho = {k: v for k, v in crash.env.items() if k.startswith("ALIX_ZOHO_")}
    created = _create_customers(crash, CREATES)
    [push] = _push_jobs(pg)  # one job for the 1,000 changes, queued with them
    crash.emu.state.faults.latency_ms = LATENCY_MS
    first = start_worker("w1", **zoho)

    wait_for(lambda: _accounts(crash.emu) > 0, 60, "w1's first Accounts in Zoho")
    first.kill()
    first.wait(10)
    crash.emu.state.faults.latency_ms = 0
    assert _accounts(crash.emu) < CREATES, "the push ended before the kill"
    [killed] = _push_jobs(pg)
    assert killed.id == push.id and killed.status == RUNNING
    assert (killed.worker or "").startswith("w1-")

    start_worker("w2", **zoho)
    wait_for(lambda: all(j.status == DONE for j in _push_jobs(pg)), 60,
             "the second worker to finish the push")
    jobs = _push_jobs(pg)
    assert jobs[0].id == push.id and (jobs[0].worker or "").startswith("w2-")
    assert jobs[0].attempts == 2
    _check_push(crash, created)
