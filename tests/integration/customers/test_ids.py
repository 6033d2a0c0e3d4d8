"""Ids are never reused: a deleted record's id never names a new one (the sync pairs by id)."""

from __future__ import annotations

from alix.bootstrap import Container
from alix.customers import addresses, contacts, service
from alix.customers import repository as repo
from alix.customers.domain import Actor
from alix.db.session import unit_of_work
from tests.integration.customers.conftest import sample


def test_a_deleted_newest_customer_id_is_not_reused(
    backend: str, container: Container, actor: Actor
) -> None:
    with unit_of_work(container.session_factory) as session:
        first, newest = service.create_customers(session, actor, [sample("Old"), sample("New")])
    with unit_of_work(container.session_factory) as session:
        service.delete_customer(session, actor, newest)
    with unit_of_work(container.session_factory) as session:
        later = service.create_customers(session, actor, [sample("Later"), sample("Last")])
    assert first < newest < later[0] < later[1]


def test_a_deleted_newest_contact_id_is_not_reused(
    backend: str, container: Container, actor: Actor, customer_id: int
) -> None:
    org = actor.organisation_id
    with unit_of_work(container.session_factory) as session:
        removed = contacts.add_contact(session, actor, customer_id, {"last_name": "Temp"}).id
    with unit_of_work(container.session_factory) as session:
        contacts.remove_contact(session, actor, removed)
    with unit_of_work(container.session_factory) as session:
        added = contacts.add_contact(session, actor, customer_id, {"last_name": "Jones"}).id
        contacts.remove_contact(session, actor, added)
    with unit_of_work(container.session_factory) as session:
        # A new customer's contacts take the bulk path (one executemany): beyond both too.
        [other] = service.create_customers(session, actor, [sample("Other")])
        bulk = [c.id for c in repo.contacts_of(session, org, other)]
    assert removed < added < min(bulk)


def test_a_deleted_newest_address_id_is_not_reused(
    backend: str, container: Container, actor: Actor, customer_id: int
) -> None:
    org = actor.organisation_id
    with unit_of_work(container.session_factory) as session:
        removed = addresses.add_address(session, actor, customer_id,
                                        {"kind": "billing", "city": "Laval"}).id
    with unit_of_work(container.session_factory) as session:
        addresses.remove_address(session, actor, removed)
    with unit_of_work(container.session_factory) as session:
        added = addresses.add_address(session, actor, customer_id,
                                      {"kind": "billing", "city": "Québec"}).id
        addresses.remove_address(session, actor, added)
    with unit_of_work(container.session_factory) as session:
        [other] = service.create_customers(session, actor, [sample("Other")])
        bulk = [a.id for a in repo.addresses_of(session, org, other)]
    assert removed < added < min(bulk)
