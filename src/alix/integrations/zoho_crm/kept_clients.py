"""One Zoho CRM client per connection per long-lived event loop, reused from job to job.

Every job used to open a client (two httpx pools) and close it when it ended: against the real
Zoho that is a TCP and TLS handshake with the API host, and with the accounts host on a token
refresh, for each notification and each push (issue 14). A client's pools belong to the event
loop that opened them, so clients are kept per loop, and only on loops that say they live long
and will release them (`keep` ... `release`: the in-process runner's loop, each worker slot's
loop). Elsewhere (a request, a command's `asyncio.run`) a client lives for one use, as before.

A kept client is replaced when its connection's refresh token or accounts server changed (a
reconnection), and closed when its loop releases its clients (the runner or worker stops).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass

from .client import ZohoCrmClient
from .tables import ZohoConnection

OpenClient = Callable[[ZohoConnection], ZohoCrmClient]


@dataclass
class _Kept:
    # What the client was opened with: a reconnection changes it.
    fingerprint: tuple[str | None, str | None]
    client: ZohoCrmClient


class KeptClients:
    """Opens clients with `open_client`; keeps them on loops that called `keep`."""

    def __init__(self, open_client: OpenClient) -> None:
        self._open = open_client
        self._loops: dict[asyncio.AbstractEventLoop, dict[int, _Kept]] = {}
        self._lock = threading.Lock()  # loops of several threads register here
        self.opened = 0  # clients opened in all (operators and tests read it)

    def keep(self) -> None:
        """Keep clients on the running loop until `release` is awaited on it."""
        loop = asyncio.get_running_loop()
        with self._lock:
            self._loops.setdefault(loop, {})

    async def release(self) -> None:
        """Close the running loop's kept clients and stop keeping them on it."""
        loop = asyncio.get_running_loop()
        with self._lock:
            kept = self._loops.pop(loop, {})
        for entry in kept.values():
            await entry.client.aclose()

    def kept(self) -> int:
        """Clients kept open on the running loop."""
        with self._lock:
            return len(self._loops.get(asyncio.get_running_loop(), {}))

    @asynccontextmanager
    async def use(self, connection: ZohoConnection) -> AsyncIterator[ZohoCrmClient]:
        """The connection's client for the duration of the block (the CrmFactory shape)."""
        loop = asyncio.get_running_loop()
        with self._lock:
            kept = self._loops.get(loop)
        if kept is None:
            client = self._new(connection)
            try:
                yield client
            finally:
                await client.aclose()
            return
        yield await self._kept_client(kept, connection)

    async def _kept_client(self, kept: dict[int, _Kept], connection: ZohoConnection
                           ) -> ZohoCrmClient:
        # Only this loop touches its own dict, so no lock is needed past the lookup.
        fingerprint = (connection.refresh_token, connection.accounts_url)
        entry = kept.get(connection.id)
        if entry is not None and entry.fingerprint == fingerprint:
            return entry.client
        if entry is not None:
            del kept[connection.id]
            await entry.client.aclose()
        entry = _Kept(fingerprint, self._new(connection))
        kept[connection.id] = entry
        return entry.client

    def _new(self, connection: ZohoConnection) -> ZohoCrmClient:
        client = self._open(connection)
        self.opened += 1
        return client
