"""Fixtures shared by the emulator contract suites: httpx clients holding emulator tokens."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import httpx
import pytest

from zoho_emulator.testing import EmulatorServer

ClientFactory = Callable[..., httpx.Client]


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
