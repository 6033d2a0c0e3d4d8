"""Run a person's Zoho CRM action from a request off the web's event loop.

The engine reads and writes the database with synchronous calls, and a person's action
holds SQLite's write lock for a page's transaction at a time. On the web's loop, a second
request's synchronous database call would then wait for a lock that only the blocked loop can
release. In a worker thread with an event loop of its own, the action waits like any other
database client instead.
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
