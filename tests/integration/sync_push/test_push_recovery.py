"""Creates survive a crash between Zoho's insert and our commit; deletes; a CRM that moved."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from alix.customers.domain import NewCustomer
from alix.customers.service import create_customer, delete_customer, update_customer
from alix.db.session import unit_of_work
from alix.integrations.zoho_crm.client.fake import FakeZohoCrm
from alix.integrations.zoho_crm.rules import DeletePolicy
from alix.integrations.zoho_crm.sync.kinds import LinkKind
from alix.integrations.zoho_crm.sync.store.issues import open_issues
from alix.integrations.zoho_crm.sync.store.links import links_by_alix_ids
from alix.integrations.zoho_crm.sync.store.tables import zoho_sync_issues

from .conftest import Clock, World, connect

pytestmark = pytest.mark.anyio


class Crash(Exception):
    """The process died right after Zoho answered."""


def add(world: World, name: str) -> int:
    with unit_of_work(world.sessions) as session:
        return create_customer(session, world.actor, NewCustomer(
            {"name": name, "currency": "CAD"}), clock=world.clock).id


async def test_a_crash_after_the_insert_does_not_create_a_duplicate(
    world: World, fake: FakeZohoCrm
) -> None:
    customer_id = add(world, "Acme (Québec), Inc.")
    original = fake.insert

    async def insert_then_crash(module: str, records: Any, **kw: Any) -> Any:
        await original(module, records, **kw)
        raise Crash

    fake.insert = insert_then_crash  # type: ignore[method-assign]
    with pytest.raises(Crash):
        await world.push()
    assert len(fake.records["Accounts"]) == 1
    fake.insert = original  # type: ignore[method-assign]
    report = await world.push()
    assert report.counts["recovered"] == 1
    (account,) = fake.records["Accounts"].values()
    with unit_of_work(world.sessions) as session:
        link = links_by_alix_ids(session, world.scope, [LinkKind.CUSTOMER], [customer_id])
        assert link[(LinkKind.CUSTOMER, customer_id)].zoho_id == account["id"]
    calls = fake.calls
    await world.push()
    assert fake.calls == calls and len(fake.records["Accounts"]) == 1


async def test_a_crash_before_the_insert_creates_it_on_the_next_run(
    world: World, fake: FakeZohoCrm
) -> None:
    add(world, "Globex")

    async def crash(module: str, records: Any, **kw: Any) -> Any:
        raise Crash

    original = fake.insert
    fake.insert = crash  # type: ignore[method-assign]
    with pytest.raises(Crash):
        await world.push()
    fake.insert = original  # type: ignore[method-assign]
    await world.push()
    assert [a["Account_Name"] for a in fake.records["Accounts"].values()] == ["Globex"]


async def test_deleting_a_customer_unticks_active_when_mapped(
    sessions: sessionmaker[Session], fake: FakeZohoCrm, clock: Clock
) -> None:
    scope, actor = connect(sessions, clock, active_field=True)
    world = World(sessions, scope, actor, fake, clock)
    customer_id = add(world, "Acme")
    await world.push()
    (account,) = fake.records["Accounts"].values()
    assert account["Active"] is True
    with unit_of_work(sessions) as session:
        delete_customer(session, actor, customer_id, clock=clock)
    await world.push()
    assert fake.records["Accounts"][account["id"]]["Active"] is False
    with unit_of_work(sessions) as session:
        links = links_by_alix_ids(session, scope, [LinkKind.CUSTOMER], [customer_id])
        assert links[(LinkKind.CUSTOMER, customer_id)].tombstoned


async def test_without_active_field_the_account_is_kept_and_that_is_journaled(
    world: World, fake: FakeZohoCrm
) -> None:
    customer_id = add(world, "Acme")
    await world.push()
    with unit_of_work(world.sessions) as session:
        delete_customer(session, world.actor, customer_id, clock=world.clock)
    await world.push()
    assert len(fake.records["Accounts"]) == 1
    with unit_of_work(world.sessions) as session:
        assert open_issues(session, world.scope) == []  # the person decided: nothing to do
        [entry] = session.execute(select(zoho_sync_issues)).all()
    assert (entry.code, entry.status) == ("kept_in_zoho", "resolved")
    assert "no Active checkbox is mapped" in entry.message


async def test_delete_policy_deletes_the_account(
    sessions: sessionmaker[Session], fake: FakeZohoCrm, clock: Clock
) -> None:
    scope, actor = connect(sessions, clock, delete_policy=DeletePolicy.DELETE)
    world = World(sessions, scope, actor, fake, clock)
    customer_id = add(world, "Acme")
    await world.push()
    with unit_of_work(sessions) as session:
        delete_customer(session, actor, customer_id, clock=clock)
    await world.push()
    assert fake.records["Accounts"] == {}


async def test_a_record_zoho_changed_since_the_base_is_merged_not_overwritten(
    world: World, fake: FakeZohoCrm
) -> None:
    customer_id = add(world, "Acme")
    await world.push()
    (account,) = fake.records["Accounts"].values()
    await fake.update("Accounts", [{"id": account["id"], "Website": "https://crm.example"}])
    world.clock.tick()
    with unit_of_work(world.sessions) as session:
        update_customer(session, world.actor, customer_id, {"phone": "514 555 0100"},
                        clock=world.clock)
    await world.push()
    stored = fake.records["Accounts"][account["id"]]
    assert stored["Website"] == "https://crm.example"  # the CRM's edit survives
    assert stored["Phone"] == "514 555 0100"
    with unit_of_work(world.sessions) as session:
        from alix.customers import repository as repo

        assert repo.get_customer(session, world.actor.organisation_id,
                                 customer_id).website == "https://crm.example"
    calls = fake.calls
    await world.push()
    assert fake.calls == calls
