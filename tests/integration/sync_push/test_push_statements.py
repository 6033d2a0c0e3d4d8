"""A page of pushed records costs a constant number of SQL statements, whatever its size.

The bookkeeping after each Zoho write (link bases, new links, outbox marks) is one statement
per table per call, so the push's database cost does not grow with the records it sends.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest
from sqlalchemy import Engine

from alix.customers.domain import NewCustomer
from alix.customers.service import create_customer, update_customer
from alix.db.session import unit_of_work
from alix.integrations.zoho_crm.client.fake import FakeZohoCrm
from alix.integrations.zoho_crm.sync.kinds import LinkKind
from alix.integrations.zoho_crm.sync.store.links import links_by_alix_ids
from tests.support import statements

from .conftest import World

pytestmark = pytest.mark.anyio



def _customers(world: World, n: int, *, with_address: bool, prefix: str) -> list[int]:
    addresses = ([{"kind": "billing", "is_main": True, "street": "1 Rue Principale",
                   "city": "Montréal", "country": "CA"}] if with_address else [])
    with unit_of_work(world.sessions) as session:
        return [create_customer(session, world.actor, NewCustomer(
            {"name": f"{prefix} {i}", "currency": "CAD", "website": f"https://{prefix}{i}.example"},
            addresses=list(addresses)), clock=world.clock).id for i in range(n)]


def _rename_sites(world: World, ids: list[int]) -> None:
    with unit_of_work(world.sessions) as session:
        for i in ids:
            update_customer(session, world.actor, i, {"website": f"https://new{i}.example"},
                            clock=world.clock)


async def _statements_of_an_update_page(world: World, engine: Engine, n: int) -> int:
    ids = _customers(world, n, with_address=True, prefix=f"Updated{n}")
    await world.push()
    _rename_sites(world, ids)
    with statements(engine) as seen:
        report = await world.push()
    assert report.counts.get("updated") == n
    return len(seen)


async def test_an_update_page_costs_the_same_statements_for_3_or_30_records(
    world: World, fake: FakeZohoCrm, engine: Engine
) -> None:
    few = await _statements_of_an_update_page(world, engine, 3)
    many = await _statements_of_an_update_page(world, engine, 30)
    assert many == few
    sites = {r["Website"] for r in fake.records["Accounts"].values()}
    assert len(sites) == 33 and all("new" in s for s in sites)


async def test_a_create_page_costs_the_same_statements_for_3_or_30_records(
    world: World, fake: FakeZohoCrm, engine: Engine
) -> None:
    await world.push()  # the first push creates the integration's own user: not per page
    counts = []
    for n in (3, 30):
        ids = _customers(world, n, with_address=False, prefix=f"Created{n}")
        with statements(engine) as seen:
            report = await world.push()
        assert report.counts.get("created") == n
        counts.append(len(seen))
        with unit_of_work(world.sessions) as session:
            links = links_by_alix_ids(session, world.scope, [LinkKind.CUSTOMER], ids)
        assert {links[(LinkKind.CUSTOMER, i)].zoho_id for i in ids} == {
            r["id"] for r in fake.records["Accounts"].values()
            if r["Account_Name"].startswith(f"Created{n} ")}
    assert counts[1] == counts[0]


async def test_a_full_page_of_100_updates_costs_what_a_page_of_20_costs(
    world: World, fake: FakeZohoCrm, engine: Engine
) -> None:
    """The issue's figure: a page of 100 pushed records (each read before its write) costs
    the statements a page of 20 costs, so the push's database time does not grow per record."""
    reads: list[int] = []
    get_records = fake.get_records

    async def counted(module: str, ids: Sequence[str], fields: Sequence[str] = ()) -> Any:
        reads.append(len(ids))
        return await get_records(module, ids, fields)

    fake.get_records = counted  # type: ignore[method-assign]
    twenty = await _statements_of_an_update_page(world, engine, 20)
    hundred = await _statements_of_an_update_page(world, engine, 100)
    assert hundred == twenty
    assert reads == [20, 100]  # every update read first, one call per page
    sites = {r["Website"] for r in fake.records["Accounts"].values()}
    assert len(sites) == 120 and all("new" in s for s in sites)


async def test_a_page_of_linked_records_does_not_look_for_creates_in_flight(
    world: World, engine: Engine
) -> None:
    """A linked record has no pending marker (the marker is its link's row before Zoho's id),
    so a page of updates reads no markers: only the run's recovery looks for old ones."""
    ids = _customers(world, 3, with_address=True, prefix="Linked")
    await world.push()
    _rename_sites(world, ids)
    with statements(engine) as seen:
        report = await world.push()
    assert report.counts.get("updated") == 3
    markers = [s for s in seen if "ORDER BY zoho_links.pending_since" in s]  # pending_inserts
    assert len(markers) == 1 and "zoho_links.pending_since <" in markers[0]  # the recovery's
    new = _customers(world, 1, with_address=False, prefix="Unlinked")
    with statements(engine) as seen:
        report = await world.push()
    assert report.counts.get("created") == 1 and new
    assert len([s for s in seen if "ORDER BY zoho_links.pending_since" in s]) == 2
