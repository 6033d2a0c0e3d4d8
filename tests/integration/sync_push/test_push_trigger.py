"""ALIX changes queue one push job per connection lane, in the transaction of the change."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio
import pytest
from sqlalchemy import Engine, select

from alix.bootstrap import Container, register_tasks
from alix.customers.domain import Actor, NewCustomer, Origin
from alix.customers.service import create_customer, update_customer
from alix.db.session import make_session_factory, unit_of_work
from alix.integrations.zoho_crm.client import ZohoCrm
from alix.integrations.zoho_crm.client.fake import FakeZohoCrm
from alix.integrations.zoho_crm.services import ZohoServices
from alix.integrations.zoho_crm.sync.engine import push as push_module
from alix.integrations.zoho_crm.sync.engine.context import lane_key
from alix.integrations.zoho_crm.sync.engine.push import PUSH_TASK
from alix.integrations.zoho_crm.sync.engine.push_trigger import install_push_trigger
from alix.integrations.zoho_crm.tables import ZohoConnection
from alix.jobs.queue import JobQueue, TaskRegistry
from alix.jobs.runner import JobRunner
from alix.jobs.tables import Job

from .conftest import Clock, connect


def jobs(container: Container) -> list[tuple[str, str | None, dict[str, object]]]:
    with unit_of_work(container.session_factory) as session:
        return [(j.task, j.lease_key, j.payload) for j in session.scalars(select(Job))]


def test_a_change_queues_the_push_once_and_sync_writes_queue_nothing(
    backend: str, container: Container
) -> None:
    clock = Clock()
    scope, actor = connect(container.session_factory, clock)
    with unit_of_work(container.session_factory) as session:
        customer = create_customer(session, actor, NewCustomer({"name": "Acme", "currency": "CAD"}))
    expected = (PUSH_TASK, lane_key(scope.connection_id), {"connection_id": scope.connection_id})
    assert jobs(container) == [expected]
    with unit_of_work(container.session_factory) as session:
        update_customer(session, actor, customer.id, {"phone": "514 555 0100"})
    assert jobs(container) == [expected]  # one is already waiting
    with unit_of_work(container.session_factory) as session:
        session.execute(Job.__table__.delete())
    sync = Actor(scope.organisation_id, actor.user_id, Origin.ZOHO_CRM)
    with unit_of_work(container.session_factory) as session:
        update_customer(session, sync, customer.id, {"phone": "514 555 0101"})
    assert jobs(container) == []


def test_a_rolled_back_change_queues_nothing(backend: str, container: Container) -> None:
    clock = Clock()
    _scope, actor = connect(container.session_factory, clock)
    with container.session_factory() as session:
        create_customer(session, actor, NewCustomer({"name": "Acme", "currency": "CAD"}))
        session.rollback()
    assert jobs(container) == []


def test_a_push_at_its_page_budget_queues_the_rest(
    backend: str, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """More pending records than one job sends: the job queues the next push itself, so the
    rest does not wait for the next ALIX change."""
    monkeypatch.setattr(push_module, "PAGE_SIZE", 2)
    monkeypatch.setattr(push_module, "PAGES_PER_JOB", 1)
    clock = Clock()
    sessions = make_session_factory(engine)
    _scope, actor = connect(sessions, clock)
    fake = FakeZohoCrm(clock=clock)

    @asynccontextmanager
    async def factory(_connection: ZohoConnection) -> AsyncIterator[ZohoCrm]:
        yield fake

    registry = TaskRegistry()
    register_tasks(registry, lambda: ZohoServices(factory, "http://alix.test"))
    queue = JobQueue(registry, clock=clock)
    install_push_trigger(sessions, queue)
    runner = JobRunner(engine, sessions, queue, clock=clock)
    with unit_of_work(sessions) as session:
        for name in ("One", "Two", "Three", "Four", "Five"):
            create_customer(session, actor, NewCustomer({"name": name, "currency": "CAD"}),
                            clock=clock)
    for _ in range(5):
        clock.tick(1)
        anyio.run(runner.run_pending)
    assert sorted(a["Account_Name"] for a in fake.records["Accounts"].values()) == [
        "Five", "Four", "One", "Three", "Two"]
