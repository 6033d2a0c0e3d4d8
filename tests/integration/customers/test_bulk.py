"""Bulk updates of a page (the sync's write path) on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session

from alix.bootstrap import Container
from alix.customers import addresses, bulk, outbox, service
from alix.customers import repository as repo
from alix.customers.bulk import RecordUpdate
from alix.customers.domain import Actor, NewCustomer
from alix.customers.fields import Entity
from alix.db.session import unit_of_work
from tests.integration.customers.conftest import sample
from tests.support import Account, query_plan, statements


def _create(container: Container, actor: Actor, count: int) -> list[int]:
    with unit_of_work(container.session_factory) as session:
        return service.create_customers(session, actor, [sample(f"Firm {i}") for i in range(count)])


def _updates(container: Container, actor: Actor) -> list[outbox.OutboxEntry]:
    with unit_of_work(container.session_factory) as session:
        rows = outbox.entries(session, actor.organisation_id, status=None)
    return [e for e in rows if e.operation.value == "update"]



def test_a_page_is_written_record_by_record_without_stopping_on_refusals(
    backend: str, container: Container, actor: Actor
) -> None:
    a, b, c, d, e = _create(container, actor, 5)
    page = [
        RecordUpdate(a, {"name": "Firm A renamed", "email": "A@firm.example"}),
        RecordUpdate(b, {"name": " Firm 1 ", "email": "info@acme.example"}),  # as it is
        RecordUpdate(c, {"email": "not-an-email", "notes": "lost with the bad email"}),
        RecordUpdate(999_999, {"notes": "nobody"}),
        RecordUpdate(a, {"notes": "twice"}),
        RecordUpdate(d, {"currency": "JPY"}, expected_version=1),
        RecordUpdate(e, {"notes": "stale"}, expected_version=7),
    ]
    with unit_of_work(container.session_factory) as session:
        results = bulk.update_customers(session, actor, page)
    assert [(r.id, r.ok, r.changed, r.version) for r in results[:2]] == [
        (a, True, True, 2), (b, True, False, 1)]
    assert [(r.id, sorted(r.errors)) for r in results[2:]] == [
        (c, ["email"]), (999_999, ["id"]), (a, ["id"]), (d, ["currency"]), (e, ["version"])]
    assert "No customer 999999 in this organisation." in results[3].errors["id"]
    assert "appears twice" in results[4].errors["id"][0]
    assert "not one of your organisation's currencies" in results[5].errors["currency"][0]
    with unit_of_work(container.session_factory) as session:
        renamed = repo.customers_by_names(session, actor.organisation_id, ["firm a RENAMED"])
        untouched = repo.customers_by_ids(session, actor.organisation_id, [c])
    assert [(x.id, x.email, x.version) for x in renamed["firm a renamed"]] == [
        (a, "A@firm.example", 2)]
    assert (untouched[0].notes, untouched[0].version) == (None, 1)
    [change] = _updates(container, actor)
    assert (change.entity_id, change.version, change.status) == (a, 2, outbox.PENDING)
    assert change.changes == {"name": ("Firm 0", "Firm A renamed"),
                              "email": ("info@acme.example", "A@firm.example")}


def test_a_page_costs_the_same_statements_whatever_its_size(
    backend: str, container: Container, actor: Actor
) -> None:
    ids = _create(container, actor, 40)
    costs = []
    for chunk in (ids[:2], ids[2:40]):
        with statements(container.engine) as seen, \
                unit_of_work(container.session_factory) as session:
            results = bulk.update_customers(
                session, actor, [RecordUpdate(i, {"notes": f"n{i}"}) for i in chunk])
        assert all(r.ok and r.version == 2 for r in results)
        costs.append(len(seen))
    assert costs[0] == costs[1]
    assert len(_updates(container, actor)) == 40


def test_the_sync_actor_writes_skipped_outbox_rows(
    backend: str, container: Container, actor: Actor, customer_id: int
) -> None:
    with unit_of_work(container.session_factory) as session:
        sync = service.sync_actor(session, actor.organisation_id)
        [result] = bulk.update_customers(session, sync, [RecordUpdate(customer_id,
                                                                       {"phone": "514 555 0100"})])
        contact = repo.contacts_of(session, actor.organisation_id, customer_id)[0]
        bulk.update_contacts(session, sync, [RecordUpdate(contact.id, {"title": "CEO"})])
    assert (result.ok, result.version) == (True, 2)
    changes = _updates(container, actor)
    assert [(e.entity, e.origin.value, e.actor_id, e.status) for e in changes] == [
        (Entity.CUSTOMER, "zoho_crm", sync.user_id, outbox.SKIPPED),
        (Entity.CONTACT, "zoho_crm", sync.user_id, outbox.SKIPPED),
    ]
    with unit_of_work(container.session_factory) as session:
        pending = outbox.pending_records(session, actor.organisation_id, container.clock())
    assert len(pending) == 5
    assert all(r.operation.value == "create" for r in pending)  # nothing of the sync's


def test_a_new_primary_contact_demotes_the_previous_one(
    backend: str, container: Container, actor: Actor, customer_id: int
) -> None:
    org = actor.organisation_id
    with unit_of_work(container.session_factory) as session:
        ada, babbage = repo.contacts_of(session, org, customer_id)
        results = bulk.update_contacts(session, actor, [
            RecordUpdate(babbage.id, {"is_primary": True, "email": "cb@acme.example"}),
            RecordUpdate(ada.id, {"last_name": ""}),
        ])
    assert [r.ok for r in results] == [True, False]
    assert results[1].errors == {"last_name": ["Last name is required."]}
    with unit_of_work(container.session_factory) as session:
        found = {c.id: c for c in repo.contacts_by_ids(session, org, [ada.id, babbage.id])}
    assert (found[babbage.id].is_primary, found[babbage.id].email) == (True, "cb@acme.example")
    assert (found[ada.id].is_primary, found[ada.id].last_name) == (False, "Lovelace")
    assert {e.entity_id: e.changes for e in _updates(container, actor)} == {
        ada.id: {"is_primary": (True, False)},
        babbage.id: {"is_primary": (False, True), "email": (None, "cb@acme.example")},
    }


def _addresses(container: Container, actor: Actor, customer_id: int, raw: list[dict[str, Any]]
               ) -> list[int]:
    with unit_of_work(container.session_factory) as session:
        return [addresses.add_address(session, actor, customer_id, r).id for r in raw]


def test_main_addresses_stay_one_per_kind(
    backend: str, container: Container, actor: Actor, customer_id: int
) -> None:
    org = actor.organisation_id
    laval, quebec = _addresses(container, actor, customer_id,
                               [{"kind": "billing", "city": "Laval"},
                                {"kind": "billing", "city": "Québec", "country": "Canada"}])
    with unit_of_work(container.session_factory) as session:
        refused, fine = bulk.update_addresses(session, actor, [
            RecordUpdate(laval, {"is_main": True}),
            RecordUpdate(quebec, {"province": "Quebec", "postal_code": "G1R 4P5"}),
        ])
    assert "already has a main billing address" in refused.errors["is_main"][0]
    assert (fine.ok, fine.version) == (True, 2)
    with unit_of_work(container.session_factory) as session:
        first, second = bulk.update_addresses(session, actor, [
            RecordUpdate(laval, {"is_main": True}),
            RecordUpdate(quebec, {"is_main": True}),
        ], replace_main=True)
        [province_of_quebec] = repo.addresses_by_ids(session, org, [quebec])
    assert (first.ok, first.version) == (True, 2)
    assert "only one can be the main billing address" in second.errors["is_main"][0]
    assert province_of_quebec.province == "CA-QC"  # the stored country, CA, placed it
    with unit_of_work(container.session_factory) as session:
        mains = [(a.kind, a.id) for a in repo.addresses_of(session, org, customer_id)
                 if a.is_main]
    assert mains == [("billing", laval), ("shipping", mains[1][1])]


def test_an_empty_page_writes_nothing(backend: str, container: Container, actor: Actor) -> None:
    with unit_of_work(container.session_factory) as session:
        assert bulk.update_addresses(session, actor, []) == []
    assert _updates(container, actor) == []


def test_lookups_of_a_page(backend: str, container: Container, actor: Actor) -> None:
    with unit_of_work(container.session_factory) as session:
        twins = service.create_customers(session, actor, [
            NewCustomer({"name": n, "currency": "CAD"}) for n in ("Twin", " twin ", "Solo")])
        found = repo.customers_by_names(session, actor.organisation_id,
                                        ["TWIN", "solo", "nobody"])
        by_id = repo.customers_by_ids(session, actor.organisation_id, [twins[2], 0, twins[0]])
    assert {k: [c.id for c in v] for k, v in found.items()} == {
        "twin": twins[:2], "solo": [twins[2]], "nobody": []}
    assert [c.id for c in by_id] == [twins[0], twins[2]]


def test_a_batch_of_new_customers_costs_the_same_statements_whatever_its_size(
    backend: str, container: Container, actor: Actor
) -> None:
    costs = []
    for names in (["Solo"], [f"Many {i}" for i in range(30)]):
        with statements(container.engine) as seen, \
                unit_of_work(container.session_factory) as session:
            service.create_customers(session, actor, [sample(n) for n in names])
        costs.append(len(seen))
    assert costs[0] == costs[1]


def test_new_ids_follow_the_batch_order_and_the_largest_id_after_deletions(
    backend: str, container: Container, actor: Actor
) -> None:
    first = _create(container, actor, 3)
    with unit_of_work(container.session_factory) as session:
        service.delete_customer(session, actor, first[-1])
    names = [f"Later {i}" for i in range(5)]
    with unit_of_work(container.session_factory) as session:
        ids = service.create_customers(session, actor, [sample(n) for n in names])
    assert ids == sorted(ids) and ids[0] > first[1] and len(set(ids)) == 5
    org = actor.organisation_id
    with unit_of_work(container.session_factory) as session:
        found = repo.customers_by_ids(session, org, ids)
        children = [(repo.contacts_of(session, org, i), repo.addresses_of(session, org, i))
                    for i in ids]
        created = [e for e in outbox.entries(session, org, status=None)
                   if e.operation.value == "create" and e.entity is Entity.CUSTOMER][-5:]
    assert [c.name for c in found] == names
    for customer_id, (people, places) in zip(ids, children, strict=True):
        assert [p.last_name for p in people] == ["Lovelace", "Babbage"]
        assert sorted(a.kind for a in places) == ["billing", "shipping"]
        assert {p.customer_id for p in people} | {a.customer_id for a in places} == {customer_id}
    assert [(e.entity_id, e.changes["name"]) for e in created] == [
        (i, (None, n)) for i, n in zip(ids, names, strict=True)]


def _by_key(container: Container, read: Callable[[Session], Any]) -> tuple[Any, list[str]]:
    """What read(session) returns, and SQLite's plan of its query on the customers."""
    def run() -> Any:
        with unit_of_work(container.session_factory) as session:
            return read(session)
    return query_plan(container.engine, run, "FROM customers")


def _two_organisations(container: Container, actor: Actor, other: Account
                       ) -> tuple[list[int], list[int]]:
    """Three customers of ours, one of another organisation."""
    theirs = Actor(other.organisation_id, other.user_id, actor.origin)
    return _create(container, actor, 3), _create(container, theirs, 1)


def test_the_rows_of_a_page_are_read_by_id_not_by_organisation(
    container: Container, actor: Actor, other_org_admin: Account
) -> None:
    # As below, for the rows every pull and push page reads: SQLite walked the organisation's
    # (organisation, name) index and sorted it (22.5 ms a page at 100k customers, 3.4 by key).
    ours, theirs = _two_organisations(container, actor, other_org_admin)
    # A page's worth of ids: with a handful, SQLite picked the key anyway.
    page = [*theirs, *reversed(ours), *range(900_000, 900_100)]
    found, plan = _by_key(container, lambda session: repo.by_ids(
        session, Entity.CUSTOMER, actor.organisation_id, page))
    assert [c.id for c in found] == sorted(ours)  # by id, another organisation's left out
    assert plan and all("PRIMARY KEY" in step for step in plan), plan
    # The push reads only the rows' catalog values, their customer and version, the same way.
    values, plan = _by_key(container, lambda session: repo.values_by_ids(
        session, Entity.CUSTOMER, actor.organisation_id, page))
    assert sorted((v.id, v.customer_id, v.version, v.values) for v in values) == [
        (c.id, c.id, c.version, c.values()) for c in found]
    assert all(v.values["is_active"] is True for v in values)  # typed as a Core query would
    # The ids come as one JSON list (json_each, scanned); the rows are looked up by key.
    read = [step for step in plan if "customers" in step]
    assert read and all("PRIMARY KEY" in step for step in read), plan


def test_the_customers_of_a_page_of_children_are_found_by_id_not_by_organisation(
    container: Container, actor: Actor, other_org_admin: Account
) -> None:
    # SQLite answered `organisation_id = ? AND id IN (...)` from the (organisation, name)
    # index, reading every customer of the organisation for each page of new children: the
    # initial import then slowed down with every page it had written.
    ours, theirs = _two_organisations(container, actor, other_org_admin)
    found, plan = _by_key(container, lambda session: repo.existing_ids(
        session, Entity.CUSTOMER, actor.organisation_id, [*ours, *theirs, 999_999]))
    assert found == set(ours)  # another organisation's customer is not one of ours
    # The ids come as one JSON list (json_each, scanned); the customers are looked up by key.
    read = [step for step in plan if "customers" in step]
    assert read and all("PRIMARY KEY" in step for step in read), plan

