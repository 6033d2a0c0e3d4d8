"""Later runs: only what changed is read, our own echo writes nothing, deletions follow the
delete policy."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator, Sequence
from datetime import datetime

import pytest
from sqlalchemy import select

from alix.customers.domain import Actor, NewCustomer, Origin
from alix.customers.outbox import mark_done
from alix.customers.service import create_customers, update_customer
from alix.db.session import unit_of_work
from alix.integrations.zoho_crm.client import Record, TransportFailed
from alix.integrations.zoho_crm.rules import DeletePolicy
from alix.integrations.zoho_crm.sync.store import watermarks as mark_store
from alix.integrations.zoho_crm.sync.store.tables import zoho_sync_runs
from tests.integration.sync_pull.conftest import World, make_world
from tests.unit.sync.configuration import configuration


def _seed(world: World) -> tuple[str, str]:
    [acme, globex] = world.zoho("Accounts", {"Account_Name": "Acme", "Currency": "CAD"},
                                {"Account_Name": "Globex", "Currency": "CAD"})
    [smith] = world.zoho("Contacts", {"Last_Name": "Smith", "Account_Name": {"id": acme}})
    world.pull(initial=True)
    assert globex
    return acme, smith


def test_nothing_changed_reads_no_record(world: World) -> None:
    _seed(world)
    world.crm.records_read = 0
    outbox_before = len(world.outbox())
    report = world.pull()
    assert world.crm.records_read == 0
    assert dict(report.counts) == {}
    assert len(world.outbox()) == outbox_before


def test_only_modified_records_are_read_and_applied(world: World) -> None:
    acme, _smith = _seed(world)
    world.clock.advance(60)
    asyncio.run(world.crm.update("Accounts", [{"id": acme, "Website": "acme.example"}]))
    world.crm.records_read = 0
    report = world.pull()
    assert world.crm.records_read == 1
    assert world.customers()["Acme"].website == "acme.example"
    assert report.counts["updated"] == 1
    with unit_of_work(world.ctx.sessions) as session:
        mark = mark_store.get_bookmark(session, world.scope, "Accounts").watermark
    assert mark.modified_time is not None and mark.modified_time <= world.clock()


def _drop_connection_after(world: World, records: int) -> None:
    """The fake's record listing fails in transit once `records` records were handed out."""
    listing = world.crm.iter_records

    async def dropping(module: str, fields: Sequence[str], *,
                       modified_since: datetime | None = None) -> AsyncIterator[Record]:
        handed = 0
        async for record in listing(module, fields, modified_since=modified_since):
            if handed == records:
                raise TransportFailed(f"The connection dropped after {records} records.")
            handed += 1
            yield record

    world.crm.iter_records = dropping  # type: ignore[method-assign]


def test_records_at_the_watermark_second_are_not_read_twice(world: World) -> None:
    # Four Accounts saved in one second; the first run commits a page of two, then fails. Its
    # watermark is that second with the two ids read, and the next run asks Zoho from that
    # second on (inclusive): the two already applied must be skipped, the other two applied.
    world.zoho("Accounts", *({"Account_Name": f"Firm {n}", "Currency": "CAD"} for n in range(4)))
    _drop_connection_after(world, 2)
    with pytest.raises(TransportFailed):
        world.pull(initial=True, page_size=2)
    del world.crm.iter_records  # the connection is back
    with unit_of_work(world.ctx.sessions) as session:
        mark = mark_store.get_bookmark(session, world.scope, "Accounts").watermark
    assert len(mark.ids_at_boundary) == 2 and len(world.customers()) == 2

    report = world.pull(page_size=2)
    assert report.read["Accounts"] == 2
    assert report.counts["created"] == 2 and not report.counts["unchanged"]
    assert len(world.customers()) == 4


def test_our_own_echo_writes_nothing_in_alix(world: World) -> None:
    acme, smith = _seed(world)
    customer = world.customers()["Acme"]
    world.clock.advance(60)
    # Zoho saves the record again with the values ALIX holds (what our push does): a new
    # Modified_Time, nothing new in the mapped fields.
    asyncio.run(world.crm.update("Accounts", [{"id": acme, "Account_Name": "Acme"}]))
    asyncio.run(world.crm.update("Contacts", [{"id": smith, "Last_Name": "Smith"}]))
    outbox_before = len(world.outbox())
    world.crm.records_read = 0
    report = world.pull()
    assert world.crm.records_read == 2
    assert report.counts["unchanged"] >= 2 and not report.counts["updated"]
    assert world.customers()["Acme"].version == customer.version
    assert len(world.outbox()) == outbox_before


def test_a_linked_customer_s_own_values_become_pending_push_work(world: World) -> None:
    with unit_of_work(world.ctx.sessions) as session:
        user = Actor(world.scope.organisation_id, world.ctx.actor.user_id, Origin.USER)
        [alix_id] = create_customers(session, user, [NewCustomer(
            {"name": "Acme", "currency": "CAD", "phone": "555 0100"})])
        mark_done(session, world.scope.organisation_id,
                  [r.id for r in world.outbox_in(session)], world.clock())
    world.zoho("Accounts", {"Account_Name": "Acme", "Currency": "CAD"})
    world.pull(initial=True)
    [link] = world.links()
    assert link.alix_id == alix_id and "phone" not in link.base  # not agreed until pushed
    [pending] = [r for r in world.outbox() if r.status == "pending"]
    assert (pending.origin, pending.entity_id) == ("system", alix_id)
    assert pending.changes == {"phone": {"old": None, "new": "555 0100"}}


def test_an_alix_edit_that_wins_is_left_to_its_own_outbox_row(world: World) -> None:
    acme, _smith = _seed(world)
    with unit_of_work(world.ctx.sessions) as session:
        user = Actor(world.scope.organisation_id, world.ctx.actor.user_id, Origin.USER)
        update_customer(session, user, world.customers()["Acme"].id, {"phone": "555 0100"})
    world.clock.advance(60)
    asyncio.run(world.crm.update("Accounts", [{"id": acme, "Website": "acme.example"}]))
    world.pull()
    acme_row = world.customers()["Acme"]
    assert (acme_row.phone, acme_row.website) == ("555 0100", "acme.example")
    pending = [r for r in world.outbox() if r.status == "pending"]
    # The user's edit is still pending for the push; the pull added none of its own.
    assert [r.origin for r in pending] == ["user"]


def test_a_deleted_account_deactivates_its_customer_and_a_deleted_contact_goes(
    backend: str, engine: object
) -> None:
    config = dataclasses.replace(configuration(), delete_crm_to_alix=DeletePolicy.MARK_INACTIVE)
    world = make_world(engine, config)  # type: ignore[arg-type]
    acme, smith = _seed(world)
    world.clock.advance(60)
    asyncio.run(world.crm.delete("Contacts", [smith]))
    asyncio.run(world.crm.delete("Accounts", [acme]))
    world.pull()
    assert world.customers()["Acme"].is_active is False
    assert world.customers()["Globex"].is_active is True
    assert world.contacts() == []
    tombstoned = {link.kind for link in world.links() if link.tombstoned_at is not None}
    assert tombstoned == {"customer", "contact"}
    # A later edit of nothing: the tombstones stay, nothing is re-created.
    world.pull()
    assert len(world.customers()) == 2


def test_with_the_delete_policy_a_deleted_account_deletes_its_customer(
    backend: str, engine: object
) -> None:
    config = dataclasses.replace(configuration(), delete_crm_to_alix=DeletePolicy.DELETE)
    world = make_world(engine, config)  # type: ignore[arg-type]
    acme, _smith = _seed(world)
    world.clock.advance(60)
    asyncio.run(world.crm.delete("Accounts", [acme]))
    world.pull()
    assert set(world.customers()) == {"Globex"}
    assert world.contacts() == []
    deletions = [r for r in world.outbox() if r.operation == "delete" and r.entity == "customer"]
    assert len(deletions) == 1 and deletions[0].origin == "zoho_crm"
    world.pull()
    assert set(world.customers()) == {"Globex"}, "a tombstoned Account never comes back"


def test_with_the_ignore_policy_a_deleted_account_leaves_its_customer_alone(
    backend: str, engine: object
) -> None:
    config = dataclasses.replace(configuration(), delete_crm_to_alix=DeletePolicy.IGNORE)
    world = make_world(engine, config)  # type: ignore[arg-type]
    acme, _smith = _seed(world)
    world.clock.advance(60)
    asyncio.run(world.crm.delete("Accounts", [acme]))
    world.pull()
    assert world.customers()["Acme"].is_active is True


def test_reconciliations_that_find_nothing_keep_one_row_of_history(world: World) -> None:
    """A check every few minutes must not push the runs that did something out of the
    history: the newest quiet reconciliation stays, the earlier quiet ones go."""
    world.zoho("Accounts", {"Account_Name": "Acme", "Currency": "CAD"})
    world.pull(initial=True)
    for _ in range(3):
        world.pull(reconcile=True)
    world.zoho("Accounts", {"Account_Name": "Globex", "Currency": "CAD"})
    world.pull(reconcile=True)
    world.pull(reconcile=True)
    with world.ctx.sessions() as session:
        kinds = [(r.kind, r.counts.get("created", 0)) for r in session.execute(
            select(zoho_sync_runs).order_by(zoho_sync_runs.c.id)).all()]
    assert kinds == [("initial", 1), ("reconcile", 1), ("reconcile", 0)]
