"""ALIX changes queue one push job per connection lane, in the transaction of the change."""

from __future__ import annotations

from sqlalchemy import select

from alix.bootstrap import Container
from alix.customers.model import Actor, NewCustomer, Origin
from alix.customers.service import create_customer, update_customer
from alix.db.session import unit_of_work
from alix.integrations.zoho_crm.sync.engine.context import lane_key
from alix.integrations.zoho_crm.sync.engine.push import PUSH_TASK
from alix.jobs.model import Job

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
