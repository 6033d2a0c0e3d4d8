"""Telling a caller when a request has left: its body is on the wire and Zoho works on it.

The push sends a page and reads its next page while Zoho answers. Reading is synchronous
database work: asyncio ran it as soon as the send first yielded, which is before httpx had
written the request, so Zoho sat idle until the read was done and the push then waited for
its answer (bench/live.py: a page's PUT reached the emulator 8 ms after the call, more than
the emulator took to answer it; a tenth of the push's time was spent waiting). Within
`when_written`, the requests of the block call `callback` once their body is written
(httpcore's `trace` request extension, https://www.encode.io/httpcore/extensions/#trace).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

_CALLBACK: ContextVar[Callable[[], None] | None] = ContextVar("zoho_request_written",
                                                             default=None)


@contextmanager
def when_written(callback: Callable[[], None]) -> Iterator[None]:
    """Call `callback` once each request sent in this block (this task) is written; it may
    be called several times (several requests, a request sent again after a refresh)."""
    token = _CALLBACK.set(callback)
    try:
        yield
    finally:
        _CALLBACK.reset(token)


def written_extensions() -> dict[str, Any]:
    """The request extensions that report the write to the block's callback; none outside
    `when_written`."""
    callback = _CALLBACK.get()
    if callback is None:
        return {}

    async def trace(event: str, _info: Mapping[str, Any]) -> None:
        if event.endswith("send_request_body.complete"):
            callback()

    return {"trace": trace}


def announce_written() -> None:
    """Report a call as written where no HTTP request carries it (the fake Zoho, whose
    calls have left as soon as they start)."""
    callback = _CALLBACK.get()
    if callback is not None:
        callback()
