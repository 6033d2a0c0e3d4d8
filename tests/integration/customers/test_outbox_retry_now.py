"""A person asks to retry: the outbox makes a record's waiting or abandoned rows due now."""

from __future__ import annotations

from datetime import timedelta

from alix.bootstrap import Container
from alix.customers import outbox, service
from alix.customers.domain import Actor
from alix.customers.fields import Entity
from alix.db.session import unit_of_work


def test_retry_now_makes_a_records_waiting_and_failed_rows_due_and_nothing_else(
    backend: str, container: Container, actor: Actor, customer_id: int
) -> None:
    org = actor.organisation_id
    now = container.clock()
    with unit_of_work(container.session_factory) as session:
        [customer, first, second, *_rest] = outbox.pending_records(session, org, now)
        # The customer waits an hour; one contact was given up on; the other waits too.
        outbox.mark_failed(session, org, [
            outbox.Failure(customer.entry_ids, "Zoho was down.", now + timedelta(hours=1)),
            outbox.Failure(first.entry_ids, "Zoho rejected it.", None),
            outbox.Failure(second.entry_ids, "Zoho was down.", now + timedelta(hours=1)),
        ], now)
        done = service.update_customer(session, actor, customer_id, {"notes": "later"})
        assert done.version == 2
    later = now + timedelta(seconds=1)
    with unit_of_work(container.session_factory) as session:
        outbox.retry_now(session, org, Entity.CONTACT, [first.entity_id], later)
        due = outbox.pending_records(session, org, later)
    by_record = {(r.entity, r.entity_id): r for r in due}
    assert (Entity.CONTACT, first.entity_id) in by_record  # failed, pending again
    assert (Entity.CONTACT, second.entity_id) not in by_record  # not asked: still waiting
    assert by_record[(Entity.CUSTOMER, customer_id)].attempts == 1  # due by its newer row
    with unit_of_work(container.session_factory) as session:
        rows = [e for e in outbox.entries(session, org, status=None)
                if e.entity is Entity.CONTACT and e.entity_id == first.entity_id]
    assert [(e.status, e.retry_at, e.processed_at, e.attempts) for e in rows] == [
        (outbox.PENDING, later, None, 1)]


def test_retry_now_leaves_other_organisations_and_done_rows_alone(
    backend: str, container: Container, actor: Actor, customer_id: int
) -> None:
    org = actor.organisation_id
    now = container.clock()
    with unit_of_work(container.session_factory) as session:
        records = outbox.pending_records(session, org, now)
        outbox.mark_done(session, org, [i for r in records for i in r.entry_ids], now)
        outbox.retry_now(session, org + 1, Entity.CUSTOMER, [customer_id], now)
        outbox.retry_now(session, org, Entity.CUSTOMER, [customer_id], now)
        assert outbox.pending_records(session, org, now) == []
