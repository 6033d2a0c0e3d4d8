"""The push reads its next page while the page before waits for Zoho, and never twice.

A page of updates is sent while the next page is read and its Zoho records fetched: the wait
for one page's calls is spent on the next page's reads (issue 14). What that must not change:
each record is sent once per edit, one read and one write per page, an edit made while its
page is on the way is still sent, and a page that creates records is read after them (its
contacts need their Accounts' links).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import anyio
import pytest

from alix.customers.addresses import set_main_address, update_address
from alix.customers.domain import NewCustomer
from alix.customers.fields import Entity
from alix.customers.repository import addresses_of
from alix.customers.service import create_customer, insert_child, update_customer
from alix.db.session import unit_of_work
from alix.integrations.zoho_crm.client.fake import FakeZohoCrm
from alix.integrations.zoho_crm.client.wire import Record, WriteResult
from alix.integrations.zoho_crm.client.written import announce_written
from alix.integrations.zoho_crm.sync.store import issues

from .conftest import World

pytestmark = pytest.mark.anyio


class SlowZoho(FakeZohoCrm):
    """The fake Zoho, answering a write only after a pause (a real call takes time), with a
    log of when each call started and ended, and hooks run while writes are on their way
    (the first hook during the first write, and so on)."""

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.log: list[str] = []
        self.during_update: list[Any] = []

    async def get_records(self, module: str, ids: Sequence[str],
                          fields: Sequence[str] = ()) -> list[Record]:
        self.log.append(f"get {module} {len(ids)}")
        return await super().get_records(module, ids, fields)

    async def update(self, module: str, records: Sequence[Mapping[str, Any]],
                     **options: Any) -> list[WriteResult]:
        self.log.append(f"update {module} {len(records)} start")
        announce_written()  # the request has left; Zoho takes a while to answer
        if self.during_update:  # one hook per write call, in order
            self.during_update.pop(0)()
        await anyio.sleep(0.01)
        results = await super().update(module, records, **options)
        self.log.append(f"update {module} {len(records)} end")
        return results


def _customers(world: World, n: int) -> list[int]:
    with unit_of_work(world.sessions) as session:
        return [create_customer(session, world.actor, NewCustomer(
            {"name": f"Ahead {i}", "currency": "CAD", "website": f"https://a{i}.example"}),
            clock=world.clock).id for i in range(n)]


def _edit(world: World, ids: Sequence[int], site: str) -> None:
    with unit_of_work(world.sessions) as session:
        for i in ids:
            update_customer(session, world.actor, i, {"website": f"https://{site}{i}.example"},
                            clock=world.clock)


def _sites(zoho: FakeZohoCrm) -> dict[str, str]:
    return {r["Account_Name"]: r["Website"] for r in zoho.records["Accounts"].values()}


@pytest.fixture
def slow(clock: Any) -> SlowZoho:
    return SlowZoho(clock=clock)


@pytest.fixture
def ahead(world: World, slow: SlowZoho) -> World:
    world.crm = slow
    return world


async def test_the_next_page_is_read_while_a_page_of_updates_is_sent(
        ahead: World, slow: SlowZoho) -> None:
    ids = _customers(ahead, 12)
    await ahead.push(page_size=4)
    _edit(ahead, ids, "new")
    slow.log.clear()
    report = await ahead.push(page_size=4)
    assert report.counts["updated"] == 12
    # One read and one write per page of 4, and each next page's read happens while the
    # write before it is on its way.
    assert slow.log == [
        "get Accounts 4", "update Accounts 4 start", "get Accounts 4", "update Accounts 4 end",
        "update Accounts 4 start", "get Accounts 4", "update Accounts 4 end",
        "update Accounts 4 start", "update Accounts 4 end",
    ]
    assert _sites(slow) == {f"Ahead {n}": f"https://new{i}.example" for n, i in enumerate(ids)}


async def test_an_edit_made_while_its_page_is_sent_is_sent_after_it(
        ahead: World, slow: SlowZoho) -> None:
    ids = _customers(ahead, 8)
    await ahead.push(page_size=4)
    _edit(ahead, ids, "first")
    # While the first page's write is on its way, a person edits a record of that page and
    # one of the next page again.
    slow.during_update.append(lambda: _edit(ahead, [ids[0], ids[5]], "second"))
    await ahead.push(page_size=4)
    sites = _sites(slow)
    assert sites["Ahead 0"] == f"https://second{ids[0]}.example"
    assert sites["Ahead 5"] == f"https://second{ids[5]}.example"
    assert sites["Ahead 1"] == f"https://first{ids[1]}.example"
    with unit_of_work(ahead.sessions) as session:
        from alix.customers import outbox

        assert outbox.pending_records(session, ahead.scope.organisation_id,
                                      ahead.clock()) == []


async def test_contacts_after_a_page_of_new_accounts_are_read_once_those_are_linked(
        ahead: World, slow: SlowZoho) -> None:
    """A page that creates Accounts is not read past: the next page's contacts then find
    their Account's link instead of waiting for it as an issue."""
    await ahead.push(page_size=2)
    with unit_of_work(ahead.sessions) as session:
        customers = [create_customer(session, ahead.actor, NewCustomer(
            {"name": f"Parent {i}", "currency": "CAD"}), clock=ahead.clock).id
            for i in range(2)]
        for i, customer in enumerate(customers):
            insert_child(session, ahead.actor, Entity.CONTACT, customer,
                         {"first_name": "Ann", "last_name": f"Child {i}", "is_primary": False},
                         ahead.clock())
    report = await ahead.push(page_size=2)
    assert report.counts.get("created") == 4
    with unit_of_work(ahead.sessions) as session:
        assert issues.open_issues(session, ahead.scope) == []
    accounts = {r["Account_Name"]: r["id"] for r in slow.records["Accounts"].values()}
    assert {r["Last_Name"]: r["Account_Name"]["id"] for r in slow.records["Contacts"].values()
            } == {"Child 0": accounts["Parent 0"], "Child 1": accounts["Parent 1"]}


async def test_a_main_address_switched_while_its_page_is_sent_reaches_zoho(
        ahead: World, slow: SlowZoho) -> None:
    """The next page, read while a main address's update is on its way, moves the Account's
    main-address link to the address a person just made main; the update's answer then
    writes that link's base. The next page is read again after it, so the new main address
    is compared with what Zoho holds now, not with the base before (it was sent)."""
    place = {"kind": "billing", "city": "Montréal", "country": "CA"}
    with unit_of_work(ahead.sessions) as session:
        customer = create_customer(session, ahead.actor, NewCustomer(
            {"name": "Two Sites", "currency": "CAD"}, addresses=[
                {**place, "is_main": True, "street": "1 Old Street"},
                {**place, "is_main": False, "street": "1 Old Street"},
            ]), clock=ahead.clock)
        first, second = sorted(a.id for a in addresses_of(
            session, ahead.scope.organisation_id, customer.id))
    others = _customers(ahead, 2)
    await ahead.push(page_size=2)
    with unit_of_work(ahead.sessions) as session:
        update_address(session, ahead.actor, first, {"street": "2 New Street"},
                       clock=ahead.clock)
    _edit(ahead, others, "new")  # the first page: that address and one customer; then more

    def switch() -> None:
        with unit_of_work(ahead.sessions) as session:
            set_main_address(session, ahead.actor, second, clock=ahead.clock)

    slow.during_update.append(switch)
    await ahead.push(page_size=2)
    account = next(r for r in slow.records["Accounts"].values()
                   if r["Account_Name"] == "Two Sites")
    assert account["Billing_Street"] == "1 Old Street"  # the main address in ALIX now


async def test_an_edit_of_the_last_page_made_while_it_is_sent_is_sent_by_the_same_push(
        ahead: World, slow: SlowZoho) -> None:
    ids = _customers(ahead, 5)
    await ahead.push(page_size=4)
    _edit(ahead, ids, "first")
    # The second page holds one record; while it is sent it is edited again, and nothing
    # else is due: the read-ahead finds no record, the push reads once more and sends it.
    slow.during_update.extend([lambda: None, lambda: _edit(ahead, [ids[4]], "second")])
    await ahead.push(page_size=4)
    assert _sites(slow)["Ahead 4"] == f"https://second{ids[4]}.example"
