"""Quirks of the real client over the emulator on real HTTP: caps, expiry, shared tokens, 429s."""

from __future__ import annotations

import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest

from alix.db.engine import make_engine
from alix.integrations.zoho_crm.client import (
    InMemoryTokenStore,
    RateLimited,
    RetryPolicy,
    TokenStore,
)
from alix.integrations.zoho_crm.client.tokens import AccessToken
from alix.integrations.zoho_crm.token_store import SqlTokenStore, metadata
from zoho_emulator.testing import EmulatorServer

from .conftest import connect

pytestmark = pytest.mark.anyio


@pytest.fixture
def emu(emulator: Any) -> Any:
    emulator.control("reset", {})
    return emulator


async def test_a_read_past_the_page_token_cap_restarts_and_misses_nothing(emu: Any) -> None:
    emu.control("seed", {"accounts": 5000, "seed": 2})
    emu.control("config", {"page_token_cap": 2400})
    async with connect(emu) as client:
        ids = [r.id async for r in client.iter_records("Accounts", ["Account_Name"])]
        assert client.pager.queries == 3
    assert len(ids) == len(set(ids)) == 5000


async def test_token_expiry_in_the_middle_of_an_iteration(emu: Any) -> None:
    emu.control("seed", {"accounts": 2500, "seed": 3})
    async with connect(emu) as client:
        seen = []
        async for record in client.iter_records("Accounts", ["Account_Name"]):
            seen.append(record.id)
            if len(seen) == 700:
                emu.control("faults", {"expire_tokens": True})
        assert client.accounts.refreshes == 2
    assert len(set(seen)) == 2500


@pytest.mark.parametrize("kind", ["memory", "sqlite"])
async def test_two_clients_sharing_a_token_store_refresh_once(
    emu: Any, tmp_path: Path, kind: str
) -> None:
    emu.control("seed", {"accounts": 50, "seed": 4})
    creds = emu.self_client()
    stores: list[TokenStore]
    if kind == "memory":
        shared = InMemoryTokenStore()
        stores = [shared, shared]
    else:
        engines = [make_engine(f"sqlite:///{tmp_path / 'tokens.db'}") for _ in range(2)]
        metadata.create_all(engines[0])
        stores = [SqlTokenStore(e) for e in engines]
    clients = [connect(emu, store=s, creds=creds) for s in stores]

    async def read(n: int) -> None:
        for _ in range(3):
            await clients[n].count("Accounts")

    for round_ in (1, 2):
        async with anyio.create_task_group() as group:
            for n in range(2):
                group.start_soon(read, n)
        assert sum(c.accounts.refreshes for c in clients) == round_
        emu.control("faults", {"expire_tokens": True})
    for client in clients:
        await client.aclose()


async def test_a_429_storm_ends_in_a_clear_error_after_bounded_retries(emu: Any) -> None:
    emu.control("faults", {"error_rates": {"429": 1.0}})
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    policy = RetryPolicy(max_attempts=5, base_delay=0.2, budget=30)
    try:
        async with connect(emu, retry=policy, sleep=sleep) as client:
            with pytest.raises(RateLimited, match="Gave up after 5 attempts"):
                await client.count("Accounts")
    finally:
        emu.control("faults", {"error_rates": {}})
    assert len(slept) == 4 and sum(slept) <= 0.2 * (1 + 2 + 4 + 8)


async def test_an_empty_module_and_nothing_new_read_as_no_records(emu: Any) -> None:
    async with connect(emu) as client:
        assert [r async for r in client.iter_records("Accounts", ["Account_Name"])] == []
        emu.control("seed", {"accounts": 5, "seed": 5})
        tomorrow = datetime.now(UTC) + timedelta(days=1)
        late = client.iter_records("Accounts", ["Account_Name"], modified_since=tomorrow)
        assert [r async for r in late] == []
        assert len([r async for r in client.iter_records("Accounts", ["Account_Name"])]) == 5


async def test_a_token_from_one_data_centre_is_invalid_on_another(emu: Any) -> None:
    emu.control("seed", {"accounts": 3, "seed": 6})
    with EmulatorServer(accounts=3, seed=7) as other:
        # A token of this DC presented to the other DC's API host.
        token = emu.access_token()
        answer = httpx.get(
            f"{other.base_url}/crm/v8/Accounts",
            params={"fields": "Account_Name"},
            headers={"Authorization": f"Zoho-oauthtoken {token}"},
        )
        assert answer.status_code == 401 and answer.json()["code"] == "INVALID_TOKEN"
        # The client follows the api_domain that comes with a refreshed token: a stored
        # token pointing at the wrong DC is refused once, refreshed at our accounts server,
        # and the call lands on our DC.
        store = InMemoryTokenStore()
        wrong = AccessToken(token, datetime.now(UTC) + timedelta(hours=1), other.base_url)
        async with store.locked("contract") as slot:
            await slot.replace(wrong)
        async with connect(emu, store=store) as client:
            assert await client.count("Accounts") == 3
            assert client.accounts.refreshes == 1
        fresh = await store.load("contract")
        assert fresh is not None and fresh.api_domain == emu.base_url


class _Lookups:
    """A meta path finder that finds nothing and remembers what was looked for."""

    def __init__(self) -> None:
        self.names: list[str] = []

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> None:
        self.names.append(name)


async def test_a_request_looks_for_no_module(emu: Any) -> None:
    # httpcore imports sniffio on every request to learn its async library; without it
    # installed, each request searched sys.path for it again: a quarter of the CPU of reading
    # Zoho's pages in the initial import.
    emu.control("seed", {"accounts": 30, "seed": 4})
    async with connect(emu) as client:
        await client.get_records("Accounts", ["1"], ["Account_Name"])  # token, pools, imports
        lookups = _Lookups()
        sys.meta_path.insert(0, lookups)
        try:
            read = [r.id async for r in client.iter_records("Accounts", ["Account_Name"])]
            await client.get_records("Accounts", read[:3], ["Account_Name"])
        finally:
            sys.meta_path.remove(lookups)
    assert len(read) == 30
    assert lookups.names == []
