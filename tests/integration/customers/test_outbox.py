"""The push's side of the outbox: pending rows coalesced per record, done, failed and retried."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from alix.bootstrap import Container
from alix.customers import outbox, service
from alix.customers.domain import Actor, Operation
from alix.customers.fields import Entity
from alix.db.session import unit_of_work
from tests.support import query_plan


def _pending(container: Container, actor: Actor, minutes: float = 0, limit: int = 100
             ) -> list[outbox.PendingRecord]:
    now = container.clock() + timedelta(minutes=minutes)
    with unit_of_work(container.session_factory) as session:
        return outbox.pending_records(session, actor.organisation_id, now, limit=limit)


def test_pending_rows_come_coalesced_per_record_in_order(
    backend: str, container: Container, actor: Actor, customer_id: int
) -> None:
    with unit_of_work(container.session_factory) as session:
        service.update_customer(session, actor, customer_id, {"notes": "first"})
        service.update_customer(session, actor, customer_id, {"phone": "514 555 0199"})
    records = _pending(container, actor)
    assert [r.entity for r in records] == [Entity.CUSTOMER, Entity.CONTACT, Entity.CONTACT,
                                           Entity.ADDRESS, Entity.ADDRESS]
    customer = records[0]
    assert (customer.entity_id, customer.operation, customer.version) == (
        customer_id, Operation.CREATE, 3)
    assert customer.actors == {actor.user_id}
    assert len(customer.entry_ids) == 3
    assert [r.entity_id for r in _pending(container, actor, limit=2)] == [
        r.entity_id for r in records[:2]]


def test_done_failed_and_retried(
    backend: str, container: Container, actor: Actor, customer_id: int
) -> None:
    org = actor.organisation_id
    customer, first_contact, second_contact, *_ = _pending(container, actor)
    now = container.clock()
    with unit_of_work(container.session_factory) as session:
        service.update_customer(session, actor, customer_id, {"notes": "after the read"})
        outbox.mark_done(session, org, customer.entry_ids, now)
        outbox.mark_failed(session, org, [
            outbox.Failure(first_contact.entry_ids,
                           "Zoho rejected contact 12: INVALID_DATA Email",
                           now + timedelta(minutes=5)),
            outbox.Failure(second_contact.entry_ids, "Zoho rejected contact 13: for good",
                           None),
        ], now)
    soon = _pending(container, actor)
    assert [(r.entity, r.operation) for r in soon[:1]] == [(Entity.ADDRESS, Operation.CREATE)]
    assert [r.operation for r in soon if r.entity is Entity.CUSTOMER] == [Operation.UPDATE]
    later = _pending(container, actor, minutes=6)
    [retried] = [r for r in later if (r.entity, r.entity_id) == (
        Entity.CONTACT, first_contact.entity_id)]
    assert later[0] == retried  # its first row is the oldest due row
    assert retried.attempts == 1
    with unit_of_work(container.session_factory) as session:
        errors = {e.id: e.last_error for e in outbox.entries(session, org)}
    assert errors[retried.entry_ids[0]] == "Zoho rejected contact 12: INVALID_DATA Email"
    assert (Entity.CONTACT, second_contact.entity_id) not in {(r.entity, r.entity_id)
                                                               for r in later}
    with unit_of_work(container.session_factory) as session:
        [given_up] = outbox.entries(session, org, status=outbox.FAILED)
    assert (given_up.entity_id, given_up.attempts) == (second_contact.entity_id, 1)
    assert given_up.processed_at is not None


def test_marking_done_is_idempotent(
    backend: str, container: Container, actor: Actor, customer_id: int
) -> None:
    org = actor.organisation_id
    now = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
    with unit_of_work(container.session_factory) as session:
        pending = outbox.entries(session, org)
        assert len(pending) == 5
        outbox.mark_done(session, org, [e.id for e in pending[:2]], now)
    with unit_of_work(container.session_factory) as session:  # a replayed page
        outbox.mark_done(session, org, [pending[0].id], now + timedelta(hours=1))
        outbox.mark_failed(session, org, [outbox.Failure([pending[1].id], "late", None)], now)
    with unit_of_work(container.session_factory) as session:
        assert [e.id for e in outbox.entries(session, org)] == [e.id for e in pending[2:]]
        done = outbox.entries(session, org, status=outbox.DONE)
    assert [(e.id, e.processed_at, e.attempts) for e in done] == [
        (e.id, now, 0) for e in pending[:2]]


def test_a_pages_pending_rows_are_found_by_record_not_by_walking_the_backlog(
    container: Container, actor: Actor, customer_id: int
) -> None:
    # Read with an OR of entities and ORDER BY id, SQLite walked every pending row of the
    # organisation for each page the push took: a backlog of n records cost n^2 / 200 rows.
    records, plan = query_plan(container.engine, lambda: _pending(container, actor),
                               "actor_id")
    assert {r.entity for r in records} == {Entity.CUSTOMER, Entity.CONTACT, Entity.ADDRESS}
    # Each entity's ids come as one JSON list (json_each, scanned); its rows by record.
    searches = [step for step in plan if step.startswith(("SEARCH", "SCAN"))
                and "json_each" not in step]
    assert len(searches) == 3, plan  # one per entity
    assert all("ix_customer_outbox_pending_records (organisation_id=? AND entity=? AND "
               "entity_id=?)" in step for step in searches), plan
