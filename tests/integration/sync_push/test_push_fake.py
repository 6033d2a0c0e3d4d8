"""The push against the fake Zoho CRM: creates, updates, no ping-pong, per-record failures."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from alix.customers import outbox
from alix.customers.domain import NewCustomer
from alix.customers.service import create_customer, update_customer
from alix.db.session import unit_of_work
from alix.integrations.zoho_crm.client.fake import FakeZohoCrm
from alix.integrations.zoho_crm.sync.kinds import LinkKind
from alix.integrations.zoho_crm.sync.store.issues import open_issues
from alix.integrations.zoho_crm.sync.store.links import links_by_alix_ids
from alix.integrations.zoho_crm.sync.store.tables import zoho_links

from .conftest import World

pytestmark = pytest.mark.anyio


def new(name: str = "Acme Québec Inc.") -> NewCustomer:
    return NewCustomer(
        {"name": name, "currency": "CAD", "website": "https://acme.example"},
        contacts=[{"first_name": "Ada", "last_name": "Lovelace",
                   "email": f"ada@{name.split()[0].lower()}.example"}],
        addresses=[{"kind": "billing", "is_main": True, "street": "1 Rue Principale",
                    "city": "Montréal", "country": "CA"}],
    )


def add(world: World, customer: NewCustomer) -> int:
    with unit_of_work(world.sessions) as session:
        return create_customer(session, world.actor, customer, clock=world.clock).id


def accounts(fake: FakeZohoCrm) -> list[dict[str, Any]]:
    return list(fake.records["Accounts"].values())


def pending(world: World) -> int:
    with unit_of_work(world.sessions) as session:
        return len(outbox.entries(session, world.scope.organisation_id))


async def test_a_new_customer_is_created_with_its_children_and_linked(
    world: World, fake: FakeZohoCrm
) -> None:
    customer_id = add(world, new())
    report = await world.push()
    (account,) = accounts(fake)
    assert account["Account_Name"] == "Acme Québec Inc."
    assert account["Website"] == "https://acme.example"
    assert account["Billing_City"] == "Montréal"
    (contact,) = fake.records["Contacts"].values()
    assert contact["Last_Name"] == "Lovelace"
    assert contact["Account_Name"] == {"id": account["id"]}
    assert report.counts["created"] == 2
    assert pending(world) == 0
    with unit_of_work(world.sessions) as session:
        links = links_by_alix_ids(session, world.scope, list(LinkKind), [customer_id])
        assert links[(LinkKind.CUSTOMER, customer_id)].zoho_id == account["id"]
        assert session.scalar(select(zoho_links.c.id).where(
            zoho_links.c.pending_since.is_not(None))) is None


async def test_a_second_push_with_nothing_changed_calls_zoho_not_at_all(
    world: World, fake: FakeZohoCrm
) -> None:
    add(world, new())
    await world.push()
    calls = fake.calls
    report = await world.push()
    assert fake.calls == calls
    assert report.records == 0


async def test_an_update_sends_only_the_changed_fields_and_advances_the_base(
    world: World, fake: FakeZohoCrm
) -> None:
    customer_id = add(world, new())
    await world.push()
    sent: list[dict[str, Any]] = []
    original = fake.update

    async def spy(module: str, records: Any, **kw: Any) -> Any:
        sent.extend(dict(r) for r in records)
        return await original(module, records, **kw)

    fake.update = spy  # type: ignore[method-assign]
    with unit_of_work(world.sessions) as session:
        update_customer(session, world.actor, customer_id, {"phone": "+1 514 555 0100"},
                        clock=world.clock)
    await world.push()
    (account,) = accounts(fake)
    assert sent == [{"Phone": "+1 514 555 0100", "id": account["id"]}]
    assert account["Phone"] == "+1 514 555 0100"
    calls = fake.calls
    await world.push()  # the base holds the phone now: nothing to send
    assert fake.calls == calls


async def test_a_refused_record_becomes_an_issue_and_the_rest_goes_on(
    world: World, fake: FakeZohoCrm
) -> None:
    first = add(world, new("Acme"))
    add(world, new("Globex"))
    await world.push()
    fake.records["Accounts"][next(iter(fake.records["Accounts"]))]["Locked__s"] = True
    second = add(world, new("Initech"))
    with unit_of_work(world.sessions) as session:
        update_customer(session, world.actor, first, {"phone": "514 555 0101"}, clock=world.clock)
    report = await world.push()
    assert report.counts["failed"] == 1
    assert {a["Account_Name"] for a in accounts(fake)} == {"Acme", "Globex", "Initech"}
    with unit_of_work(world.sessions) as session:
        (issue,) = open_issues(session, world.scope)
        assert issue.code == "RECORD_LOCKED" and issue.alix_id == first
        assert issue.next_retry_at is not None
        (row,) = outbox.entries(session, world.scope.organisation_id)
        assert row.entity_id == first and row.retry_at == issue.next_retry_at
    assert second


async def test_a_new_customer_and_its_main_address_are_one_account_insert(
    world: World, fake: FakeZohoCrm
) -> None:
    add(world, NewCustomer({"name": "Acme", "currency": "CAD"}, addresses=[
        {"kind": "billing", "is_main": True, "street": "1 Rue Principale", "city": "Montréal",
         "country": "CA"}]))
    await world.push()
    assert fake.calls == 1  # one insert carries the Account and its billing address
    (account,) = accounts(fake)
    assert (account["Account_Name"], account["Billing_City"]) == ("Acme", "Montréal")
    calls = fake.calls
    await world.push()
    assert fake.calls == calls  # linked, both kinds: nothing left to send
    with unit_of_work(world.sessions) as session:
        kinds = {r.kind for r in session.execute(select(zoho_links.c.kind)).all()}
    assert kinds == {LinkKind.CUSTOMER.value, LinkKind.MAIN_BILLING.value}
