"""One emulator per test module, reset before each test; helpers for tokens and clients."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import httpx
import pytest

from zoho_emulator.testing import EmulatorServer

CALLBACK = "http://127.0.0.1:9/callback"
OTHER_ORG = "60067890"
SECOND_USER = "5725767000000411002"

ClientFactory = Callable[..., httpx.Client]


@pytest.fixture(scope="module")
def emu() -> Iterator[EmulatorServer]:
    with EmulatorServer(register_clients=[("web-client", "web-secret", CALLBACK)]) as server:
        yield server


@pytest.fixture(autouse=True)
def _reset(emu: EmulatorServer) -> None:
    emu.control("reset")


@pytest.fixture
def client_for(emu: EmulatorServer) -> Iterator[ClientFactory]:
    """`client_for(org_id=None, user_id=None, scope=None)` -> an httpx client with a token."""
    made: list[httpx.Client] = []

    def make(org_id: str | None = None, user_id: str | None = None,
             scope: str | None = None) -> httpx.Client:
        token = emu.access_token(org_id, user_id, scope)
        c = httpx.Client(base_url=emu.base_url, timeout=30,
                         headers={"Authorization": f"Zoho-oauthtoken {token}"})
        made.append(c)
        return c

    yield make
    for c in made:
        c.close()


@pytest.fixture
def api(client_for: ClientFactory) -> httpx.Client:
    """The default org's admin with every scope."""
    return client_for()


@pytest.fixture
def raw(emu: EmulatorServer) -> Iterator[httpx.Client]:
    """No credentials: for the accounts server and error cases."""
    with httpx.Client(base_url=emu.base_url, timeout=30) as c:
        yield c
