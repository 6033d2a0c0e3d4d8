"""Retries, backoff, credits and error translation of every call."""

from __future__ import annotations

import json

import anyio
import httpx
import pytest

from alix.integrations.zoho_crm.client import (
    EDITION_CONCURRENCY,
    AuthenticationFailed,
    LocalSlots,
    RateLimited,
    RequestRejected,
    RetryPolicy,
    SchemaMismatch,
    ScopeMissing,
    ServerError,
    TransportFailed,
    worker_share,
)

from .conftest import Harness, _error, _json

pytestmark = pytest.mark.anyio


async def test_a_429_storm_is_retried_with_bounded_backoff_then_reported(harness: Harness) -> None:
    harness.zoho.faults = [429] * 50
    harness.zoho.seed(1)
    async with harness.client(retry=RetryPolicy(max_attempts=6, base_delay=0.5, budget=30)) as c:
        with pytest.raises(RateLimited, match="Gave up after 6 attempts"):
            await c.count("Accounts")
    assert len(harness.sleeps) == 5
    # Exponential with jitter: each wait lies in [ceiling / 2, ceiling].
    for attempt, slept in enumerate(harness.sleeps, start=1):
        ceiling = min(20.0, 0.5 * 2 ** (attempt - 1))
        assert ceiling / 2 <= slept <= ceiling
    assert len(harness.zoho.faults) == 44


async def test_the_time_budget_bounds_retries_before_attempts_run_out(harness: Harness) -> None:
    harness.zoho.faults = [503] * 50
    async with harness.client(retry=RetryPolicy(max_attempts=50, base_delay=1, budget=10)) as c:
        with pytest.raises(ServerError):
            await c.count("Accounts")
    assert sum(harness.sleeps) <= 10


async def test_transient_errors_then_success(harness: Harness) -> None:
    harness.zoho.faults = [429, 500, 502]
    harness.zoho.seed(3)
    async with harness.client() as client:
        records = [r async for r in client.iter_records("Accounts", ["Account_Name"])]
    assert len(records) == 3 and len(harness.sleeps) == 3


async def test_an_insert_is_not_resent_after_a_5xx(harness: Harness) -> None:
    harness.zoho.faults = [500, 500]
    async with harness.client() as client:
        with pytest.raises(ServerError):
            await client.insert("Accounts", [{"Account_Name": "Acme"}])
    assert harness.zoho.faults == [500]


async def test_transport_errors_are_translated(harness: Harness) -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    harness.zoho.handler_override = refuse
    async with harness.client(retry=RetryPolicy(max_attempts=2, base_delay=0.1)) as client:
        with pytest.raises(TransportFailed, match="failed in transit"):
            await client.count("Accounts")


@pytest.mark.parametrize(
    ("response", "error"),
    [
        (_error(401, "OAUTH_SCOPE_MISMATCH"), ScopeMissing),
        (_error(403, "NO_PERMISSION"), ScopeMissing),
        (_error(400, "INVALID_MODULE", resource_path_index=0), SchemaMismatch),
        (_error(400, "INVALID_DATA", api_name="Gone_Field"), SchemaMismatch),
        (_error(400, "LIMIT_EXCEEDED"), RequestRejected),
        (_error(401, "AUTHENTICATION_FAILURE"), AuthenticationFailed),
    ],
)
async def test_zoho_errors_map_onto_the_tree(
    harness: Harness, response: httpx.Response, error: type[Exception]
) -> None:
    harness.zoho.handler_override = lambda request: response
    async with harness.client() as client:
        with pytest.raises(error) as raised:
            await client.count("Accounts")
    assert raised.value.code == json.loads(response.content)["code"]
    assert "count" in str(raised.value) or "actions/count" in str(raised.value)


async def test_credits_are_counted_per_call_and_zoho_remaining_passed_through(
    harness: Harness,
) -> None:
    def answer(request: httpx.Request) -> httpx.Response | None:
        if request.url.path.endswith("/actions/count"):
            return _json(200, {"count": 3}, {"X-API-CREDITS-REMAINING": "4321"})
        if request.method == "POST":
            data = [
                {"status": "success", "code": "SUCCESS", "details": {"id": str(n)}}
                for n in range(100)
            ]
            return _json(201, {"data": data})
        return None

    harness.zoho.handler_override = answer
    async with harness.client() as client:
        assert await client.count("Accounts") == 3
        await client.insert("Accounts", [{"Account_Name": f"A{n}"} for n in range(150)])
        meter = client.session.credits
    assert meter.remaining == 4321
    assert meter.calls == 3
    assert meter.by_operation["insert"] == 10 + 5  # one credit per ten records
    assert meter.spent == 16


async def test_a_schema_error_drops_the_cached_fields(harness: Harness) -> None:
    calls: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response | None:
        if request.url.path.endswith("/settings/fields"):
            calls.append("fields")
            return _json(200, {"fields": [{"api_name": "Gone_Field", "data_type": "text"}]})
        if request.url.path.endswith("/actions/count"):
            return _error(400, "INVALID_DATA", api_name="Gone_Field")
        return None

    harness.zoho.handler_override = answer
    async with harness.client() as client:
        await client.fields("Accounts")
        await client.fields("Accounts")
        with pytest.raises(SchemaMismatch):
            await client.count("Accounts", "(Gone_Field:equals:x)")
        await client.fields("Accounts")
    assert calls == ["fields", "fields"]


async def test_local_slots_cap_calls_in_flight() -> None:
    slots = LocalSlots(3)

    async def call() -> None:
        async with slots.slot():
            await anyio.sleep(0.01)

    async with anyio.create_task_group() as group:
        for _ in range(10):
            group.start_soon(call)
    assert slots.peak == 3


def test_the_edition_cap_is_divided_among_worker_processes() -> None:
    assert worker_share("Enterprise", 3) == 3  # heavy calls: 10 slots whatever the edition
    assert worker_share("free", 2) == 2
    assert worker_share("free", 8) == 1
    with pytest.raises(ValueError, match="'gold' is unknown"):
        worker_share("gold", 1)
    assert EDITION_CONCURRENCY["ultimate"] == 25


async def test_a_success_whose_body_is_not_json_is_an_error_not_an_empty_answer(
    harness: Harness,
) -> None:
    def answer(request: httpx.Request) -> httpx.Response | None:
        if request.url.path.endswith("/actions/count"):
            return httpx.Response(200, text="<html>maintenance</html>")
        if request.url.path.endswith("/org/currencies"):
            return _json(200, {"currencies": [{"iso_code": "EUR", "exchange_rate": "n/a"}]})
        return None

    harness.zoho.handler_override = answer
    async with harness.client() as client:
        with pytest.raises(ServerError, match="not JSON"):
            await client.count("Accounts")
        with pytest.raises(RequestRejected, match="currency EUR with an unreadable exchange"):
            await client.currencies()


async def test_reads_go_to_the_token_s_domain_and_follow_a_token_of_another(
    harness: Harness,
) -> None:
    harness.zoho.seed(150)
    ids = [r["id"] for r in harness.zoho.records]
    seen: list[tuple[str, str, str]] = []  # as sent: a retry re-signs the same request

    def record(request: httpx.Request) -> None:
        seen.append((request.url.host, request.headers["Host"], str(request.url)))

    harness.zoho.handler_override = record
    async with harness.client() as client:
        assert len(await client.get_records("Accounts", ids, ["Account_Name"])) == 150
        harness.zoho.api_domain = "https://www.zohoapis.com"
        harness.zoho.valid_tokens.clear()  # revoked: the next call refreshes it
        assert len(await client.get_records("Accounts", ids[:10], ["Account_Name"])) == 10
        assert len(await client.get_records("Accounts", ids[10:20], ["Account_Name"])) == 10
    # The refused call went to the old domain, its retry and the next call to the new one.
    assert [host for host, _, _ in seen] == ["www.zohoapis.eu"] * 3 + ["www.zohoapis.com"] * 2
    assert all(host == header for host, header, _ in seen)
    first = httpx.URL(seen[0][2])
    assert first.params["ids"].split(",") == ids[:100]
    assert first.params["fields"] == "Modified_Time,Account_Name"
    assert b"%2C" not in first.query  # a list of ids as Zoho documents it, a third as long
