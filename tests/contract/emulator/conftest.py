"""One emulator per test module, reset before each test; helpers for tokens and clients."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.emulator_clients import ClientFactory, api, client_for
from zoho_emulator.testing import EmulatorServer

CALLBACK = "http://127.0.0.1:9/callback"
OTHER_ORG = "60067890"
SECOND_USER = "5725767000000411002"



@pytest.fixture(scope="module")
def emu() -> Iterator[EmulatorServer]:
    with EmulatorServer(register_clients=[("web-client", "web-secret", CALLBACK)]) as server:
        yield server


@pytest.fixture(autouse=True)
def _reset(emu: EmulatorServer) -> None:
    emu.control("reset")


@pytest.fixture
def raw(emu: EmulatorServer) -> Iterator[httpx.Client]:
    """No credentials: for the accounts server and error cases."""
    with httpx.Client(base_url=emu.base_url, timeout=30) as c:
        yield c

__all__ = ["ClientFactory", "api", "client_for"]
