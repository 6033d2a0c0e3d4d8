"""A connection's Zoho client is opened once per long-lived event loop and reused by the jobs
that run on it; elsewhere it lives for one use. Reconnecting replaces it; releasing closes it."""

from __future__ import annotations

import asyncio
from typing import Any, cast

from alix.integrations.zoho_crm.client import ZohoCrmClient
from alix.integrations.zoho_crm.kept_clients import KeptClients
from alix.integrations.zoho_crm.tables import ZohoConnection


class Opened:
    """Stands for an opened client: what it was opened for, and whether it was closed."""

    def __init__(self, connection: ZohoConnection) -> None:
        self.refresh_token = connection.refresh_token
        self.closed = False

    async def aclose(self) -> None:
        self.closed = True


class Opener:
    def __init__(self) -> None:
        self.clients: list[Opened] = []

    def __call__(self, connection: ZohoConnection) -> ZohoCrmClient:
        self.clients.append(Opened(connection))
        return cast(ZohoCrmClient, self.clients[-1])


def _connection(cid: int, refresh: str = "1000.refresh") -> ZohoConnection:
    return ZohoConnection(id=cid, organisation_id=1, refresh_token=refresh,
                          accounts_url="https://accounts.zoho.eu")


async def _use(clients: KeptClients, connection: ZohoConnection) -> Any:
    async with clients.use(connection) as client:
        return client


def test_jobs_on_a_kept_loop_share_a_connections_client_until_it_is_released() -> None:
    opener = Opener()
    clients = KeptClients(opener)

    async def loop_life() -> None:
        clients.keep()
        first = await _use(clients, _connection(1))
        again = await _use(clients, _connection(1))
        other = await _use(clients, _connection(2))
        assert again is first and other is not first
        assert not first.closed, "kept open between jobs"
        assert clients.kept() == 2
        await clients.release()
        assert clients.kept() == 0

    asyncio.run(loop_life())
    assert len(opener.clients) == 2
    assert all(c.closed for c in opener.clients)


def test_a_reconnected_connection_gets_a_new_client_and_the_old_one_is_closed() -> None:
    opener = Opener()
    clients = KeptClients(opener)

    async def loop_life() -> None:
        clients.keep()
        old = await _use(clients, _connection(1, "1000.old"))
        new = await _use(clients, _connection(1, "1000.new"))
        assert new is not old and old.closed and not new.closed
        assert new.refresh_token == "1000.new"
        await clients.release()

    asyncio.run(loop_life())


def test_elsewhere_a_client_lives_for_one_use() -> None:
    opener = Opener()
    clients = KeptClients(opener)

    async def request() -> None:
        await _use(clients, _connection(1))
        await _use(clients, _connection(1))

    asyncio.run(request())
    assert len(opener.clients) == 2 and all(c.closed for c in opener.clients)


def test_a_loop_keeps_only_its_own_clients() -> None:
    """Clients belong to the loop that opened them (httpx pools are loop-bound): a second
    loop kept at the same time opens its own."""
    opener = Opener()
    clients = KeptClients(opener)

    async def loop_life() -> Any:
        clients.keep()
        client = await _use(clients, _connection(1))
        await clients.release()
        return client

    assert asyncio.run(loop_life()) is not asyncio.run(loop_life())
    assert len(opener.clients) == 2
