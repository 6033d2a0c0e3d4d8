"""One primary contact per customer, one main address per kind: held on every write path.

Each test names the path it guards (new customers, the single-record commands, bulk updates,
bulk creation as the sync imports children); removing the rule from that path fails it.
"""

from __future__ import annotations

import pytest

from alix.bootstrap import Container
from alix.customers import addresses, bulk, contacts, outbox, service
from alix.customers import repository as repo
from alix.customers.bulk import NewChild
from alix.customers.domain import Actor, NewCustomer, Operation
from alix.customers.fields import Entity
from alix.db.session import unit_of_work
from alix.errors import ValidationFailed
from tests.support import Account, statements


def _primaries(container: Container, actor: Actor, customer_id: int) -> list[str]:
    with unit_of_work(container.session_factory) as session:
        return [c.last_name for c in repo.contacts_of(session, actor.organisation_id,
                                                       customer_id) if c.is_primary]


def _mains(container: Container, actor: Actor, customer_id: int) -> list[tuple[str, str | None]]:
    with unit_of_work(container.session_factory) as session:
        return [(a.kind, a.city) for a in repo.addresses_of(session, actor.organisation_id,
                                                            customer_id) if a.is_main]


def _customers(container: Container, actor: Actor, count: int) -> list[int]:
    with unit_of_work(container.session_factory) as session:
        return service.create_customers(session, actor, [
            NewCustomer({"name": f"Firm {i}", "currency": "CAD"},
                        contacts=[{"last_name": f"Boss {i}", "is_primary": True}],
                        addresses=[{"kind": "billing", "is_main": True, "city": f"City {i}"}])
            for i in range(count)])


# -- a new customer with its children (service._prepare) ----------------------------------------

def test_a_new_customer_takes_one_primary_contact_and_one_main_address_per_kind(
    backend: str, container: Container, actor: Actor
) -> None:
    new = NewCustomer(
        {"name": "Twice", "currency": "CAD"},
        contacts=[{"last_name": "A", "is_primary": True}, {"last_name": "B", "is_primary": True}],
        addresses=[{"kind": "billing", "is_main": True}, {"kind": "shipping", "is_main": True},
                   {"kind": "billing", "is_main": True}],
    )
    with pytest.raises(ValidationFailed) as caught, unit_of_work(container.session_factory) as s:
        service.create_customer(s, actor, new)
    assert caught.value.errors == {
        "contacts.1.is_primary": ["This customer already has a primary contact (contacts.0); "
                                  "only one can be the primary contact."],
        "addresses.2.is_main": ["This customer already has a main billing address "
                                "(addresses.0); only one can be the main billing address."],
    }
    with unit_of_work(container.session_factory) as session:
        assert repo.list_customers(session, actor.organisation_id, repo.CustomerQuery()).items \
            == []


# -- the single-record commands (contacts.py, addresses.py via service.claim_flag) --------------

def test_adding_or_making_a_primary_contact_demotes_the_previous_one(
    backend: str, container: Container, actor: Actor
) -> None:
    [firm] = _customers(container, actor, 1)
    with unit_of_work(container.session_factory) as session:
        added = contacts.add_contact(session, actor, firm, {"last_name": "New",
                                                            "is_primary": True})
    assert _primaries(container, actor, firm) == ["New"]
    with unit_of_work(container.session_factory) as session:
        other = contacts.add_contact(session, actor, firm, {"last_name": "Other"})
        contacts.update_contact(session, actor, other.id, {"is_primary": True})
    assert _primaries(container, actor, firm) == ["Other"]
    with unit_of_work(container.session_factory) as session:
        demoted = repo.get_contact(session, actor.organisation_id, added.id)
        history = [e for e in outbox.entries(session, actor.organisation_id, status=None)
                   if e.entity_id == added.id]
    assert (demoted.is_primary, demoted.version) == (False, 2)
    assert history[-1].changes == {"is_primary": (True, False)}


def test_a_primary_contact_moved_to_a_customer_with_one_is_no_longer_primary(
    backend: str, container: Container, actor: Actor
) -> None:
    first, second = _customers(container, actor, 2)
    with unit_of_work(container.session_factory) as session:
        [boss] = repo.contacts_of(session, actor.organisation_id, first)
        moved = contacts.move_contact(session, actor, boss.id, second)
    assert (moved.customer_id, moved.is_primary) == (second, False)
    assert _primaries(container, actor, second) == ["Boss 1"]


def test_a_main_address_changing_kind_into_a_taken_one_is_refused(
    backend: str, container: Container, actor: Actor
) -> None:
    [firm] = _customers(container, actor, 1)
    with unit_of_work(container.session_factory) as session:
        dock = addresses.add_address(session, actor, firm, {"kind": "shipping", "is_main": True,
                                                            "city": "Dock"})
    with pytest.raises(ValidationFailed) as caught, unit_of_work(container.session_factory) as s:
        addresses.update_address(s, actor, dock.id, {"kind": "billing"})
    assert caught.value.errors["is_main"] == [
        f"Customer {firm} already has a main billing address (City 0); only one can be the "
        "main billing address. Make this one the main address instead, or untick it."]
    with unit_of_work(container.session_factory) as session:
        addresses.update_address(session, actor, dock.id, {"kind": "billing"},
                                 replace_main=True)
    assert _mains(container, actor, firm) == [("billing", "Dock")]


# -- bulk updates (bulk._keep_one_flag) --------------------------------------------------------

def test_a_bulk_page_of_contacts_leaves_one_primary_per_customer(
    backend: str, container: Container, actor: Actor
) -> None:
    [firm] = _customers(container, actor, 1)
    with unit_of_work(container.session_factory) as session:
        a = contacts.add_contact(session, actor, firm, {"last_name": "A"})
        b = contacts.add_contact(session, actor, firm, {"last_name": "B"})
        first, second = bulk.update_contacts(session, actor, [
            bulk.RecordUpdate(a.id, {"is_primary": True}),
            bulk.RecordUpdate(b.id, {"is_primary": True}),
        ])
    assert first.ok and not second.ok
    assert second.errors == {"is_primary": [
        f"Customer {firm} already has a primary contact (contact person {a.id}); only one can "
        "be the primary contact."]}
    assert _primaries(container, actor, firm) == ["A"]


# -- bulk creation, the sync's import of children (bulk.create_children) -----------------------

def test_new_children_never_take_a_flag_from_a_stored_row_nor_from_each_other(
    backend: str, container: Container, actor: Actor
) -> None:
    first, second = _customers(container, actor, 2)
    with unit_of_work(container.session_factory) as session:
        made = bulk.create_children(session, actor, Entity.ADDRESS, [
            NewChild(first, {"kind": "billing", "is_main": True, "city": "Taker"}),
            NewChild(second, {"kind": "shipping", "is_main": True, "city": "Free"}),
            NewChild(second, {"kind": "shipping", "is_main": True, "city": "Late"}),
            NewChild(second, {"kind": "shipping", "city": "Plain", "country": "Canada",
                              "province": "Quebec"}),
        ])
        people = bulk.create_children(session, actor, Entity.CONTACT, [
            NewChild(first, {"last_name": "Usurper", "is_primary": True}),
            NewChild(second, {"last_name": "Helper"}),
        ])
    assert [r.ok for r in made] == [False, True, False, True]
    assert made[0].errors == {"is_main": [
        f"Customer {first} already has a main billing address (address "
        f"{_main_id(container, actor, first)}); only one can be the main billing address."]}
    assert made[2].errors == {"is_main": [
        f"Customer {second} already has a main shipping address (another address of the same "
        "batch); only one can be the main shipping address."]}
    assert (made[0].id, made[2].id) == (None, None)
    assert _mains(container, actor, first) == [("billing", "City 0")]
    assert _mains(container, actor, second) == [("billing", "City 1"), ("shipping", "Free")]
    assert [r.ok for r in people] == [False, True]
    assert _primaries(container, actor, first) == ["Boss 0"]
    with unit_of_work(container.session_factory) as session:
        plain = repo.get_address(session, actor.organisation_id, int(made[3].id or 0))
    assert (plain.country, plain.province, plain.version) == ("CA", "CA-QC", 1)


def _main_id(container: Container, actor: Actor, customer_id: int) -> int:
    with unit_of_work(container.session_factory) as session:
        [main] = [a for a in repo.addresses_of(session, actor.organisation_id, customer_id)
                  if a.is_main and a.kind == "billing"]
    return main.id


def test_new_children_are_refused_record_by_record_and_recorded_as_their_actor(
    backend: str, container: Container, actor: Actor, other_org_admin: Account
) -> None:
    [firm] = _customers(container, actor, 1)
    stranger = Actor(other_org_admin.organisation_id, other_org_admin.user_id, actor.origin)
    [elsewhere] = _customers(container, stranger, 1)
    with unit_of_work(container.session_factory) as session:
        sync = service.sync_actor(session, actor.organisation_id)
        results = bulk.create_children(session, sync, Entity.CONTACT, [
            NewChild(firm, {"last_name": "Kept", "email": "kept@firm.example"}),
            NewChild(elsewhere, {"last_name": "Trespasser"}),
            NewChild(firm, {"last_name": "", "email": "nope"}),
        ])
    assert [sorted(r.errors) for r in results] == [[], ["customer_id"], ["email", "last_name"]]
    assert results[1].errors["customer_id"] == [f"No customer {elsewhere} in this organisation."]
    with unit_of_work(container.session_factory) as session:
        kept = repo.get_contact(session, actor.organisation_id, int(results[0].id or 0))
        rows = [e for e in outbox.entries(session, actor.organisation_id, status=None)
                if e.entity_id == kept.id and e.entity is Entity.CONTACT]
    assert (kept.customer_id, kept.version) == (firm, 1)
    assert [(e.operation, e.origin, e.actor_id, e.status, e.customer_id) for e in rows] == [
        (Operation.CREATE, sync.origin, sync.user_id, outbox.SKIPPED, firm)]
    assert rows[0].changes["last_name"] == (None, "Kept")



def test_new_children_cost_the_same_statements_whatever_their_number(
    backend: str, container: Container, actor: Actor
) -> None:
    firms = _customers(container, actor, 30)
    costs = []
    for chunk in (firms[:1], firms[1:]):
        with statements(container.engine) as seen, \
                unit_of_work(container.session_factory) as session:
            results = bulk.create_children(session, actor, Entity.ADDRESS, [
                NewChild(f, {"kind": "shipping", "is_main": True, "city": "Dock"})
                for f in chunk])
        assert all(r.ok for r in results)
        costs.append(len(seen))
    assert costs[0] == costs[1]
