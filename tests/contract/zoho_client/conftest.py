"""Backends for the ZohoCrm behaviour suite: the in-memory fake and the client over the emulator."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from alix.integrations.zoho_crm.client import (
    InMemoryTokenStore,
    RetryPolicy,
    TokenStore,
    ZohoCrm,
    ZohoCrmClient,
)
from alix.integrations.zoho_crm.client.fake import FakeZohoCrm
from zoho_emulator.testing import EmulatorServer


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


async def _no_sleep(seconds: float) -> None:
    return None


def connect(
    emu: Any,
    *,
    store: TokenStore | None = None,
    creds: dict[str, Any] | None = None,
    **options: Any,
) -> ZohoCrmClient:
    """A real client on the emulator's self client, through its development accounts URL."""
    creds = creds or emu.self_client()
    options.setdefault("retry", RetryPolicy(max_attempts=4, base_delay=0.01, budget=5))
    options.setdefault("sleep", _no_sleep)
    options.setdefault("random", random.Random(3).random)
    return ZohoCrmClient.connect(
        client_id=creds["client_id"],
        client_secret=creds["client_secret"],
        refresh_token=creds["refresh_token"],
        connection_id="contract",
        store=store or InMemoryTokenStore(),
        override_url=emu.base_url,
        **options,
    )


@dataclass
class Backend:
    """One implementation of the port, and what the suite may ask of it."""

    name: str
    crm: ZohoCrm
    emulator: Any = None

    def add_fields(self, module: str, names: list[str]) -> None:
        """Give `module` extra custom text fields."""
        if self.name == "fake":
            assert isinstance(self.crm, FakeZohoCrm)
            self.crm.add_fields(module, names)
            return
        for name in names:
            self.emulator.control("fields", {"module": module, "api_name": name})

    def lock(self, module: str, record_id: str) -> None:
        """Lock a record as a CRM user would (Zoho's record locking, doc 9.9)."""
        if self.name == "fake":
            assert isinstance(self.crm, FakeZohoCrm)
            self.crm.records[module][record_id]["Locked__s"] = True
            return
        self.emulator.control("locks", {"module": module, "ids": [record_id]})


@pytest.fixture(scope="session")
def emulator() -> Iterator[Any]:
    with EmulatorServer(accounts=0, contacts_per_account=0, addresses_per_account=0, seed=1) as emu:
        yield emu


@pytest.fixture(params=["fake", "emulator"])
async def backend(request: pytest.FixtureRequest) -> AsyncIterator[Backend]:
    if request.param == "fake":
        yield Backend("fake", FakeZohoCrm())
        return
    emu = request.getfixturevalue("emulator")
    emu.control("reset", {})
    client = connect(emu)
    try:
        yield Backend("emulator", client, emulator=emu)
    finally:
        await client.aclose()
