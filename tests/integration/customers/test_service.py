"""The service on SQLite and PostgreSQL: commands, field errors, one main address, the outbox."""

from __future__ import annotations

import pytest
from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError

from alix.bootstrap import Container
from alix.customers import addresses, contacts, outbox, service
from alix.customers import repository as repo
from alix.customers.domain import Actor, NewCustomer, Operation, Origin
from alix.customers.fields import Entity
from alix.customers.tables import addresses as address_table
from alix.customers.tables import customers as customer_table
from alix.db.session import unit_of_work
from alix.errors import Conflict, NotFound, ValidationFailed
from tests.integration.customers.conftest import sample
from tests.support import Account


def _entries(container: Container, actor: Actor) -> list[outbox.OutboxEntry]:
    with unit_of_work(container.session_factory) as session:
        return outbox.entries(session, actor.organisation_id, status=None)


def test_create_cleans_values_and_records_every_row(
    backend: str, container: Container, actor: Actor, customer_id: int
) -> None:
    with unit_of_work(container.session_factory) as session:
        customer = repo.get_customer(session, actor.organisation_id, customer_id)
        people = repo.contacts_of(session, actor.organisation_id, customer_id)
        places = repo.addresses_of(session, actor.organisation_id, customer_id)
    assert (customer.name, customer.currency, customer.version) == ("Acme Québec Inc.", "CAD", 1)
    assert customer.is_active is True
    assert [p.full_name for p in people] == ["Ada Lovelace", "Babbage"]
    billing, shipping = places
    assert (billing.province, billing.country) == ("CA-QC", "CA")
    assert (shipping.province, shipping.country) == ("Nowhere", "Atlantis")
    entries = _entries(container, actor)
    assert [(e.entity, e.operation) for e in entries] == [
        (Entity.CUSTOMER, Operation.CREATE), (Entity.CONTACT, Operation.CREATE),
        (Entity.CONTACT, Operation.CREATE), (Entity.ADDRESS, Operation.CREATE),
        (Entity.ADDRESS, Operation.CREATE),
    ]
    first = entries[0]
    assert first.changes["name"] == (None, "Acme Québec Inc.")
    assert (first.origin, first.actor_id, first.status) == (Origin.USER, actor.user_id, "pending")
    assert {e.customer_id for e in entries} == {customer_id}


def test_update_records_only_what_changed_and_bumps_the_version(
    backend: str, container: Container, actor: Actor, customer_id: int
) -> None:
    with unit_of_work(container.session_factory) as session:
        updated = service.update_customer(
            session, actor, customer_id, {"name": "Acme Quebec", "email": "info@acme.example"}
        )
        unchanged = service.update_customer(session, actor, customer_id, {"name": "Acme Quebec "})
    assert (updated.version, unchanged.version) == (2, 2)
    last = _entries(container, actor)[-1]
    assert (last.operation, last.version) == (Operation.UPDATE, 2)
    assert last.changes == {"name": ("Acme Québec Inc.", "Acme Quebec")}
    with unit_of_work(container.session_factory) as session:
        found = repo.customers_by_names(session, actor.organisation_id, ["ACME  quebec"])
    assert [c.id for c in found["acme quebec"]] == [customer_id]


def test_field_errors_and_nothing_half_written(
    backend: str, container: Container, actor: Actor
) -> None:
    bad = NewCustomer(
        {"name": " ", "currency": "XYZ", "email": "not-an-email", "phone": "x" * 51},
        contacts=[{"first_name": "No last name"}],
        addresses=[{"kind": "billing", "is_main": True}, {"kind": "billing", "is_main": True}],
    )
    with pytest.raises(ValidationFailed) as caught, unit_of_work(container.session_factory) as s:
        service.create_customer(s, actor, bad)
    errors = caught.value.errors
    assert set(errors) == {"name", "currency", "email", "phone", "contacts.0.last_name",
                           "addresses.1.is_main"}
    assert "CAD, USD, EUR" in errors["currency"][0]
    assert "at most 50 characters" in errors["phone"][0]
    with pytest.raises(ValidationFailed), unit_of_work(container.session_factory) as session:
        service.create_customers(session, actor, [sample("Fine"), bad])
    with unit_of_work(container.session_factory) as session:
        assert session.execute(select(customer_table)).all() == []
    assert _entries(container, actor) == []


def test_the_outbox_row_commits_and_rolls_back_with_its_change(
    backend: str, container: Container, actor: Actor, customer_id: int
) -> None:
    before = len(_entries(container, actor))
    with pytest.raises(RuntimeError), unit_of_work(container.session_factory) as session:
        service.update_customer(session, actor, customer_id, {"notes": "lost"})
        raise RuntimeError("crash before commit")
    assert len(_entries(container, actor)) == before
    with unit_of_work(container.session_factory) as session:
        assert repo.get_customer(session, actor.organisation_id, customer_id).notes is None
        sync = service.sync_actor(session, actor.organisation_id)
        service.update_customer(session, sync, customer_id, {"notes": "from Zoho"})
    last = _entries(container, actor)[-1]
    assert last.changes == {"notes": (None, "from Zoho")}
    assert (last.origin, last.actor_id) == (Origin.ZOHO_CRM, sync.user_id)
    assert last.status == outbox.SKIPPED  # the sync's own write is never pushed back
    assert sync.user_id != actor.user_id


def test_one_main_address_per_kind(
    backend: str, container: Container, actor: Actor, customer_id: int
) -> None:
    org = actor.organisation_id
    with pytest.raises(ValidationFailed) as caught, unit_of_work(container.session_factory) as s:
        addresses.add_address(s, actor, customer_id, {"kind": "billing", "is_main": True})
    assert "already has a main billing address" in caught.value.errors["is_main"][0]
    with unit_of_work(container.session_factory) as session:
        second = addresses.add_address(session, actor, customer_id,
                                       {"kind": "billing", "city": "Laval"})
        addresses.set_main_address(session, actor, second.id)
    with unit_of_work(container.session_factory) as session:
        mains = [a for a in repo.addresses_of(session, org, customer_id)
                 if a.kind == "billing" and a.is_main]
    assert [a.id for a in mains] == [second.id]
    updates = [e for e in _entries(container, actor) if e.operation is Operation.UPDATE]
    assert [e.changes for e in updates] == [{"is_main": (True, False)},
                                            {"is_main": (False, True)}]


def test_the_database_refuses_a_second_main_address(
    backend: str, container: Container, actor: Actor, customer_id: int
) -> None:
    with pytest.raises(IntegrityError), container.engine.begin() as conn:
        conn.execute(insert(address_table).values(
            organisation_id=actor.organisation_id, customer_id=customer_id, kind="billing",
            is_main=True, version=1, created_at=container.clock(),
            updated_at=container.clock()))


def test_contacts_add_update_move_remove(
    backend: str, container: Container, actor: Actor, customer_id: int
) -> None:
    org = actor.organisation_id
    with unit_of_work(container.session_factory) as session:
        other = service.create_customer(session, actor, NewCustomer(
            {"name": "Other", "currency": "USD"}, contacts=[{"last_name": "Boss",
                                                               "is_primary": True}]))
        grace = contacts.add_contact(session, actor, customer_id,
                                     {"first_name": "Grace", "last_name": "Hopper",
                                      "is_primary": True})
        primaries = [c.full_name for c in repo.contacts_of(session, org, customer_id)
                     if c.is_primary]
        assert primaries == ["Grace Hopper"]
        grace = contacts.update_contact(session, actor, grace.id, {"title": "Admiral"})
        moved = contacts.move_contact(session, actor, grace.id, other.id)
        assert (moved.customer_id, moved.is_primary, moved.version) == (other.id, False, 3)
    last = _entries(container, actor)[-1]
    assert last.customer_id == other.id
    assert last.changes == {"is_primary": (True, False), "customer_id": (customer_id, other.id)}
    with pytest.raises(ValidationFailed) as caught, unit_of_work(container.session_factory) as s:
        contacts.update_contact(s, actor, grace.id, {"last_name": "", "email": "a@b"})
    assert set(caught.value.errors) == {"last_name", "email"}
    with unit_of_work(container.session_factory) as session:
        contacts.remove_contact(session, actor, grace.id)
        with pytest.raises(NotFound):
            repo.get_contact(session, org, grace.id)


def test_activate_deactivate_delete_and_stale_versions(
    backend: str, container: Container, actor: Actor, customer_id: int
) -> None:
    with unit_of_work(container.session_factory) as session:
        assert service.set_active(session, actor, [customer_id], False) == 1
        assert service.set_active(session, actor, [customer_id], False) == 0
    with pytest.raises(Conflict), unit_of_work(container.session_factory) as session:
        service.update_customer(session, actor, customer_id, {"notes": "x"}, expected_version=1)
    with unit_of_work(container.session_factory) as session:
        service.delete_customer(session, actor, customer_id)
    deletes = [e for e in _entries(container, actor) if e.operation is Operation.DELETE]
    assert [e.entity for e in deletes] == [Entity.CONTACT, Entity.CONTACT, Entity.ADDRESS,
                                           Entity.ADDRESS, Entity.CUSTOMER]
    assert deletes[-1].changes["name"] == ("Acme Québec Inc.", None)
    with unit_of_work(container.session_factory) as session:
        assert session.execute(select(address_table)).all() == []


def test_another_organisation_sees_nothing(
    backend: str, container: Container, customer_id: int, other_org_admin: Account
) -> None:
    stranger = Actor(other_org_admin.organisation_id, other_org_admin.user_id, Origin.API)
    with pytest.raises(NotFound), unit_of_work(container.session_factory) as session:
        service.update_customer(session, stranger, customer_id, {"notes": "mine now"})
    with pytest.raises(NotFound), unit_of_work(container.session_factory) as session:
        service.set_active(session, stranger, [customer_id], False)


def test_cursor_pagination_is_stable_and_searchable(
    backend: str, container: Container, actor: Actor
) -> None:
    names = ["delta", "Alpha", "charlie", "Bravo", "alpha"]
    with unit_of_work(container.session_factory) as session:
        service.create_customers(session, actor, [
            NewCustomer({"name": n, "currency": "CAD", "email": f"{n.lower()}@x.example"})
            for n in names
        ])
    seen: list[str] = []
    cursor = None
    with unit_of_work(container.session_factory) as session:
        while True:
            page = repo.list_customers(session, actor.organisation_id,
                                       repo.CustomerQuery(after=cursor, limit=2))
            seen += [c.name for c in page.items]
            if page.next_cursor is None:
                break
            cursor = page.next_cursor
        found = repo.list_customers(session, actor.organisation_id,
                                    repo.CustomerQuery(search="CHAR"))
        by_mail = repo.list_customers(session, actor.organisation_id,
                                      repo.CustomerQuery(search="delta@x"))
        odd = repo.list_customers(session, actor.organisation_id, repo.CustomerQuery(search="%"))
    assert seen == ["Alpha", "alpha", "Bravo", "charlie", "delta"]
    assert [c.name for c in found.items] == ["charlie"]
    assert [c.name for c in by_mail.items] == ["delta"]
    assert odd.items == []

