"""Waits Zoho asks for on a 429: Retry-After, X-RATELIMIT-RESET, and credits run dry."""

from __future__ import annotations

from datetime import timedelta
from email.utils import format_datetime

import httpx
import pytest

from alix.integrations.zoho_crm.client import RateLimited, RetryPolicy

from .conftest import START, Harness, _error, _json

pytestmark = pytest.mark.anyio


def _throttled(headers: dict[str, str]) -> httpx.Response:
    response = _error(429, "TOO_MANY_REQUESTS", "too many requests")
    response.headers.update(headers)
    return response


def _script(harness: Harness, *answers: httpx.Response) -> list[httpx.Request]:
    """Answer the count calls with `answers` in order, then with a count of 1."""
    pending = list(answers)
    calls: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response | None:
        if not request.url.path.endswith("/actions/count"):
            return None
        calls.append(request)
        return pending.pop(0) if pending else _json(200, {"count": 1})

    harness.zoho.handler_override = answer
    return calls


async def test_a_429_with_retry_after_waits_that_long(harness: Harness) -> None:
    calls = _script(harness, _throttled({"Retry-After": "3"}))
    async with harness.client() as client:
        assert await client.count("Accounts") == 1
    assert harness.sleeps == [3.0]
    assert len(calls) == 2


async def test_retry_after_as_an_http_date_is_honoured(harness: Harness) -> None:
    when = format_datetime(START + timedelta(seconds=5), usegmt=True)
    _script(harness, _throttled({"Retry-After": when}))
    async with harness.client() as client:
        assert await client.count("Accounts") == 1
    assert harness.sleeps == [5.0]


async def test_a_retry_after_past_the_budget_gives_up_at_once_saying_when(
    harness: Harness,
) -> None:
    calls = _script(harness, _throttled({"Retry-After": "90"}))
    async with harness.client(retry=RetryPolicy(max_attempts=5, budget=30)) as client:
        with pytest.raises(RateLimited) as raised:
            await client.count("Accounts")
    assert harness.sleeps == []
    assert len(calls) == 1
    assert raised.value.retry_at == START + timedelta(seconds=90)
    assert "Retry-After" in str(raised.value)
    assert "Retry after 2026-05-14T09:01:30+00:00." in str(raised.value)


@pytest.mark.parametrize(
    "reset",
    [
        str(int((START + timedelta(seconds=7)).timestamp())),  # epoch seconds
        str(int((START + timedelta(seconds=7)).timestamp() * 1000)),  # epoch milliseconds
        "7",  # seconds from now
    ],
    ids=["epoch-seconds", "epoch-milliseconds", "delta-seconds"],
)
async def test_the_rate_limit_reset_header_is_honoured(harness: Harness, reset: str) -> None:
    headers = {"X-RATELIMIT-LIMIT": "100", "X-RATELIMIT-REMAINING": "0", "X-RATELIMIT-RESET": reset}
    _script(harness, _throttled(headers))
    async with harness.client() as client:
        assert await client.count("Accounts") == 1
    assert harness.sleeps == [7.0]


async def test_a_reset_header_with_requests_left_does_not_stretch_the_wait(
    harness: Harness,
) -> None:
    # Requests left in the window: this 429 is the concurrency cap, which frees up in moments.
    headers = {"X-RATELIMIT-REMAINING": "40", "X-RATELIMIT-RESET": "50"}
    _script(harness, _throttled(headers))
    async with harness.client() as client:
        assert await client.count("Accounts") == 1
    assert len(harness.sleeps) == 1 and harness.sleeps[0] <= 0.5


async def test_an_unreadable_retry_after_falls_back_to_backoff(harness: Harness) -> None:
    _script(harness, _throttled({"Retry-After": "soon"}))
    async with harness.client() as client:
        assert await client.count("Accounts") == 1
    assert len(harness.sleeps) == 1 and harness.sleeps[0] <= 0.5


async def test_a_429_with_no_credits_left_is_not_retried(harness: Harness) -> None:
    calls = _script(harness, _throttled({"X-API-CREDITS-REMAINING": "0"}))
    async with harness.client() as client:
        with pytest.raises(RateLimited, match="no API credits left"):
            await client.count("Accounts")
    assert harness.sleeps == []
    assert len(calls) == 1
