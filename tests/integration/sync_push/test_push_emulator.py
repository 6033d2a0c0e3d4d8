"""The push end to end over real HTTP: the Zoho client against the emulator."""

from __future__ import annotations

import random
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from alix.customers.domain import NewCustomer
from alix.customers.service import create_customer, update_customer
from alix.db.session import unit_of_work
from alix.integrations.zoho_crm.client import InMemoryTokenStore, RetryPolicy, ZohoCrmClient
from alix.integrations.zoho_crm.sync.engine import push as push_module
from zoho_emulator.testing import EmulatorServer

from .conftest import Clock, World, connect

pytestmark = pytest.mark.anyio


async def _no_sleep(seconds: float) -> None:
    return None


@pytest.fixture(scope="module")
def emu() -> Iterator[EmulatorServer]:
    with EmulatorServer(accounts=0, contacts_per_account=0, addresses_per_account=0,
                        seed=1) as server:
        yield server


@pytest.fixture
async def client(emu: EmulatorServer) -> AsyncIterator[ZohoCrmClient]:
    emu.control("reset", {})
    creds = emu.self_client()
    crm = ZohoCrmClient.connect(
        client_id=creds["client_id"], client_secret=creds["client_secret"],
        refresh_token=creds["refresh_token"], connection_id="push", store=InMemoryTokenStore(),
        override_url=emu.base_url, retry=RetryPolicy(max_attempts=4, base_delay=0.01, budget=5),
        sleep=_no_sleep, random=random.Random(3).random,
    )
    try:
        yield crm
    finally:
        await crm.aclose()


def calls(emu: EmulatorServer) -> int:
    stats: dict[str, Any] = emu.control("stats", {})
    return sum(stats["calls"].values())


async def test_create_update_and_quiet_second_push_over_http(
    sessions: sessionmaker[Session], emu: EmulatorServer, client: ZohoCrmClient
) -> None:
    clock = Clock()
    scope, actor = connect(sessions, clock)
    world = World(sessions, scope, actor, client, clock)
    with unit_of_work(sessions) as session:
        customer = create_customer(session, actor, NewCustomer(
            {"name": "Acme Québec", "currency": "CAD", "website": "https://acme.example"},
            contacts=[{"first_name": "Ada", "last_name": "Lovelace",
                       "email": "ada@acme.example"}],
            addresses=[{"kind": "billing", "is_main": True, "city": "Montréal"}]))
    report = await world.push()
    assert report.counts.get("failed", 0) == 0, report
    (account,) = [a for a in await _all(client, "Accounts", ["Account_Name", "Billing_City"])]
    assert account.values["Account_Name"] == "Acme Québec"
    assert account.values["Billing_City"] == "Montréal"
    (contact,) = await _all(client, "Contacts", ["Last_Name", "Account_Name"])
    assert contact.values["Account_Name"]["id"] == account.id

    with unit_of_work(sessions) as session:
        update_customer(session, actor, customer.id, {"website": "https://acme.example/new"})
    await world.push()
    (account,) = await _all(client, "Accounts", ["Website"])
    assert account.values["Website"] == "https://acme.example/new"

    before = calls(emu)
    idle = calls(emu) - before  # whatever reading the stats costs itself
    before = calls(emu)
    report = await world.push()
    assert report.records == 0 and calls(emu) - before == idle


async def _all(client: ZohoCrmClient, module: str, fields: list[str]) -> list[Any]:
    return [r async for r in client.iter_records(module, fields)]


async def test_the_next_page_is_read_once_the_write_before_it_has_reached_zoho(
    sessions: sessionmaker[Session], emu: EmulatorServer, client: ZohoCrmClient,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Reading the next page is synchronous database work done while Zoho answers the page
    before. Started before that page's write had left ALIX, it held the write back: Zoho
    sat idle, then the push waited for it (bench/live.py)."""
    clock = Clock()
    scope, actor = connect(sessions, clock)
    world = World(sessions, scope, actor, client, clock)
    with unit_of_work(sessions) as session:
        ids = [create_customer(session, actor, NewCustomer(
            {"name": f"Paced {i}", "currency": "CAD"})).id for i in range(6)]
    await world.push(page_size=2)
    with unit_of_work(sessions) as session:
        for i in ids:
            update_customer(session, actor, i, {"website": f"https://paced{i}.example"})

    writes = emu.state.calls
    before = writes["PUT {module}"]
    reached: list[bool] = []
    load = push_module.load_batch

    def load_after_the_write(*args: Any, **kwargs: Any) -> Any:
        if kwargs.get("exclude"):  # the next page, read while a page is sent
            wanted = before + len(reached) + 1
            deadline = time.monotonic() + 2
            while writes["PUT {module}"] < wanted and time.monotonic() < deadline:
                time.sleep(0.005)
            reached.append(writes["PUT {module}"] >= wanted)
        return load(*args, **kwargs)

    monkeypatch.setattr(push_module, "load_batch", load_after_the_write)
    report = await world.push(page_size=2)
    assert report.counts.get("updated") == 6
    assert len(reached) >= 2 and all(reached), reached  # one read after each page
