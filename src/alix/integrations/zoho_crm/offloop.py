"""Run a person's Zoho CRM action from a request off the web's event loop.

A token refresh holds SQLite's write lock across its HTTP call (one token minted however many
processes refresh at once), and the engine reads and writes the database with synchronous
calls. On the web's loop, a second request's synchronous database call would then wait for a
lock that only the blocked loop can release. In a worker thread with an event loop of its own,
the action waits like any other database client instead.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

import anyio

T = TypeVar("T")


async def off_loop(work: Callable[[], Awaitable[T]]) -> T:
    """`await work()` in a worker thread with its own event loop; its result or its error."""
    async def run() -> T:
        return await work()

    return await anyio.to_thread.run_sync(lambda: asyncio.run(run()))
