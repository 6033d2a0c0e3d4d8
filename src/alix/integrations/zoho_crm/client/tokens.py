"""Access tokens and the store every process of a connection shares them through."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

import anyio


@dataclass(frozen=True)
class AccessToken:
    """A Zoho access token, when it stops working, and the API domain it is valid on."""

    value: str
    expires_at: datetime
    api_domain: str

    def usable_at(self, now: datetime, margin: timedelta = timedelta(seconds=60)) -> bool:
        """True while the token has more than `margin` of life left at `now`."""
        return now + margin < self.expires_at


class Cipher(Protocol):
    """Encrypts tokens at rest; the integration supplies the real one."""

    def encrypt(self, plaintext: str) -> str: ...

    def decrypt(self, ciphertext: str) -> str: ...


class PlainText:
    """The identity cipher: stores tokens as they are (tests, development)."""

    def encrypt(self, plaintext: str) -> str:
        return plaintext

    def decrypt(self, ciphertext: str) -> str:
        return ciphertext


class TokenSlot(Protocol):
    """The store's row for one connection, held under its lock."""

    @property
    def current(self) -> AccessToken | None:
        """The token as re-read after the lock was taken."""
        ...

    async def replace(self, token: AccessToken) -> None:
        """Store a freshly minted token; visible to others once the lock is released."""
        ...


class TokenStore(Protocol):
    """Where the access token of each connection lives, shared by every process.

    `locked(connection_id)` serialises refreshes of one connection across every process that
    shares the store: the holder re-reads `current` and mints a new token only if that one is
    still the stale one, so parallel workers never evict each other's tokens (Zoho keeps 15 live
    tokens and mints 10 per 10 minutes per refresh token, zoho-crm-api.md 2.3).
    """

    async def load(self, connection_id: str) -> AccessToken | None: ...

    def locked(self, connection_id: str) -> AbstractAsyncContextManager[TokenSlot]: ...

    async def clear(self, connection_id: str) -> None: ...


class _MemorySlot:
    def __init__(self, store: InMemoryTokenStore, connection_id: str) -> None:
        self._store = store
        self._connection_id = connection_id

    @property
    def current(self) -> AccessToken | None:
        return self._store.tokens.get(self._connection_id)

    async def replace(self, token: AccessToken) -> None:
        self._store.tokens[self._connection_id] = token
        self._store.writes += 1


class InMemoryTokenStore:
    """A TokenStore for one process: the lock is an in-process lock per connection."""

    def __init__(self) -> None:
        self.tokens: dict[str, AccessToken] = {}
        self.writes = 0
        self._locks: dict[str, anyio.Lock] = {}

    async def load(self, connection_id: str) -> AccessToken | None:
        return self.tokens.get(connection_id)

    @asynccontextmanager
    async def locked(self, connection_id: str) -> AsyncIterator[TokenSlot]:
        lock = self._locks.setdefault(connection_id, anyio.Lock())
        async with lock:
            yield _MemorySlot(self, connection_id)

    async def clear(self, connection_id: str) -> None:
        self.tokens.pop(connection_id, None)
