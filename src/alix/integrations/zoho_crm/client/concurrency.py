"""The edition's cap on simultaneous calls, and how one connection's processes share it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Protocol

import anyio

# Simultaneous in-flight calls per org per app (zoho-crm-api.md 8.3). Exceeding it gives 429.
EDITION_CONCURRENCY: dict[str, int] = {
    "free": 5,
    "standard": 10,
    "professional": 15,
    "enterprise": 20,
    "ultimate": 25,
}
# Heavy calls share 10 slots in every edition (doc 8.3): list calls with `sort_by` (every page of
# iter_records), search, COQL and writes of more than 10 records. The sync makes little else.
SUB_CONCURRENCY = 10


class Slots(Protocol):
    """A semaphore over in-flight Zoho calls."""

    def slot(self) -> AbstractAsyncContextManager[None]: ...


class LocalSlots:
    """An in-process semaphore; every client of one process should share one instance."""

    def __init__(self, limit: int) -> None:
        if limit < 1:
            raise ValueError(f"A concurrency limit must be at least 1, not {limit}.")
        self.limit = limit
        self._limiter = anyio.CapacityLimiter(limit)
        self.peak = 0
        self._in_flight = 0

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        async with self._limiter:
            self._in_flight += 1
            self.peak = max(self.peak, self._in_flight)
            try:
                yield
            finally:
                self._in_flight -= 1


def worker_share(edition: str, workers: int) -> int:
    """The slots each of `workers` processes may use so that together they stay under the cap.

    Choice: divide the cap among the known number of worker processes rather than keep a
    semaphore in the database. A database semaphore needs a lease per call (a write per API
    call, plus expiry for crashed holders); a static share costs no coordination and can only
    under-use the cap. A 429 from an occasional overlap (e.g. the web process) is retried.
    The cap shared is the smaller of the edition's and the sub-concurrency of heavy calls,
    since nearly every call the sync makes is heavy.
    """
    cap = EDITION_CONCURRENCY.get(edition.lower())
    if cap is None:
        known = ", ".join(EDITION_CONCURRENCY)
        raise ValueError(f"Zoho edition {edition!r} is unknown; expected one of {known}.")
    return max(1, min(cap, SUB_CONCURRENCY) // max(1, workers))
