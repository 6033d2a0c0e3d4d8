"""Bench: read Accounts with 30 fields from the emulator through the client, against floors.

    .venv/bin/python bench/zoho_client.py [--accounts 100000] [--fields 30] [--latency-ms 0 100]

Floors from the same run: the records/s of walking the same pages with plain httpx and
`json.loads` (no client logic), and the call floor ceil(accounts / 200).
"""

from __future__ import annotations

import argparse
import json
import math
import time
from typing import Any

import anyio
import httpx

from alix.integrations.zoho_crm.client import InMemoryTokenStore, ZohoCrmClient
from zoho_emulator.testing import EmulatorServer


async def fields_for(emu: Any, client: ZohoCrmClient, count: int) -> list[str]:
    names = [f.api_name for f in await client.fields("Accounts") if f.api_name != "id"]
    for n in range(count - len(names)):
        emu.control("fields", {"module": "Accounts", "api_name": f"Bench_{n:02d}"})
    if len(names) < count:
        names = [f.api_name for f in await client.fields("Accounts", refresh=True)]
    return names[:count]


async def client_run(emu: Any, fields: list[str], creds: dict[str, Any]) -> tuple[int, float, int]:
    async with ZohoCrmClient.connect(
        client_id=creds["client_id"],
        client_secret=creds["client_secret"],
        refresh_token=creds["refresh_token"],
        connection_id="bench",
        store=InMemoryTokenStore(),
        override_url=emu.base_url,
    ) as client:
        started = time.perf_counter()
        count = 0
        async for _ in client.iter_records("Accounts", fields):
            count += 1
        elapsed = time.perf_counter() - started
        return count, elapsed, client.session.credits.calls


async def floor_run(emu: Any, fields: list[str]) -> tuple[int, float, int]:
    """The same pages, walked with plain httpx and decoded with json.loads only."""
    token = emu.access_token()
    headers = {"Authorization": f"Zoho-oauthtoken {token}"}
    base = {
        "fields": ",".join(fields),
        "per_page": "200",
        "sort_by": "Modified_Time",
        "sort_order": "asc",
    }
    count = calls = 0
    async with httpx.AsyncClient(base_url=emu.base_url, headers=headers, timeout=120) as http:
        started = time.perf_counter()
        page, next_token = 1, None
        while True:
            params = dict(base)
            if page <= 10:
                params["page"] = str(page)
            else:
                params["page_token"] = next_token or ""
            response = await http.get("/crm/v8/Accounts", params=params)
            calls += 1
            if response.status_code != 200:
                break
            body = json.loads(response.content)
            count += len(body["data"])
            info = body["info"]
            if not info.get("more_records"):
                break
            next_token = info.get("next_page_token")
            page += 1
        return count, time.perf_counter() - started, calls


async def bench(accounts: int, fields_wanted: int, latencies: list[int]) -> None:
    started = time.perf_counter()
    with EmulatorServer(accounts=accounts, seed=1) as emu:
        print(f"emulator seeded with {accounts} accounts in {time.perf_counter() - started:.1f} s")
        creds = emu.self_client()
        async with ZohoCrmClient.connect(
            client_id=creds["client_id"],
            client_secret=creds["client_secret"],
            refresh_token=creds["refresh_token"],
            connection_id="setup",
            store=InMemoryTokenStore(),
            override_url=emu.base_url,
        ) as setup:
            fields = await fields_for(emu, setup, fields_wanted)
        print(
            f"{len(fields)} fields; call floor ceil({accounts}/200) = {math.ceil(accounts / 200)}"
        )
        for latency in latencies:
            emu.control("faults", {"latency_ms": latency})
            f_count, f_secs, f_calls = await floor_run(emu, fields)
            c_count, c_secs, c_calls = await client_run(emu, fields, creds)
            print(
                f"latency {latency:>3} ms | floor (httpx + json.loads): {f_count} records, "
                f"{f_calls} calls, {f_secs:.1f} s, {f_count / f_secs:,.0f} rec/s | client: "
                f"{c_count} records, {c_calls} calls, {c_secs:.1f} s, {c_count / c_secs:,.0f} rec/s"
                f" ({c_secs / f_secs:.2f}x floor time)"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--fields", type=int, default=30)
    parser.add_argument("--latency-ms", type=int, nargs="+", default=[0, 100])
    args = parser.parse_args()
    anyio.run(bench, args.accounts, args.fields, args.latency_ms)


if __name__ == "__main__":
    main()
