"""Emulator speed and size: one 200-record, 30-field Accounts page vs json.dumps; RSS at 1M;
an incremental listing (If-Modified-Since, 10 changed records) right after a write, answered
from the Modified_Time index and, as the baseline in the same run, by the full scan it replaced.

Run: .venv/bin/python bench/emulator.py [--accounts N] [--pages P] [--case pages|incremental]
         [--incremental-sizes 10000,100000]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from _machine import machine, pct
from zoho_emulator.app import create_app
from zoho_emulator.render import record_renderer
from zoho_emulator.seed import SeedSpec, seed_org
from zoho_emulator.state import EmulatorState
from zoho_emulator.store import ModuleStore

CHANGED = 10  # records modified since the watermark in the incremental case


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def _pages(state: EmulatorState, fields: str, pages: int, token: str) -> list[float]:
    transport = httpx.ASGITransport(app=create_app(state))
    timings: list[float] = []
    async with httpx.AsyncClient(transport=transport, base_url="http://emu") as client:
        headers = {"Authorization": f"Zoho-oauthtoken {token}"}
        for i in range(pages):
            params = {"fields": fields, "per_page": "200", "page": str(i % 10 + 1)}
            start = time.perf_counter()
            answer = await client.get("/crm/v8/Accounts", params=params, headers=headers)
            timings.append(time.perf_counter() - start)
            assert answer.status_code == 200, answer.text
    return timings


def _round_trip_ms(base_url: str, path: str, headers: dict[str, str], calls: int = 200) -> float:
    with httpx.Client(base_url=base_url, headers=headers) as client:
        client.get(path)
        start = time.perf_counter()
        for _ in range(calls):
            client.get(path)
        return (time.perf_counter() - start) / calls * 1000


def keepalive_round_trips() -> tuple[float, float]:
    """Keep-alive round trip over a real socket: emulator `GET /org` vs a bare app.

    Split response writes without TCP_NODELAY cost ~40 ms a request (Nagle plus delayed
    ACK); this is the figure that shows they don't.
    """
    import socket
    import threading

    import uvicorn
    from starlette.applications import Starlette
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    from zoho_emulator.testing import EmulatorServer

    async def hello(_request: object) -> JSONResponse:
        return JSONResponse({"hello": "world"})

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = uvicorn.Config(Starlette(routes=[Route("/", hello)]), host="127.0.0.1", port=port,
                            log_level="warning", lifespan="off", access_log=False)
    bare = uvicorn.Server(config)
    thread = threading.Thread(target=bare.run, daemon=True)
    thread.start()
    while not bare.started:
        time.sleep(0.01)
    try:
        baseline = _round_trip_ms(f"http://127.0.0.1:{port}", "/", {})
    finally:
        bare.should_exit = True
        thread.join(10)
    with EmulatorServer() as emu:
        headers = {"Authorization": f"Zoho-oauthtoken {emu.access_token()}"}
        ours = _round_trip_ms(emu.base_url, "/crm/v8/org", headers)
    return ours, baseline


def _scan_ordered(self: ModuleStore, sort_by: str, descending: bool,
                  since: int | None) -> tuple[list[Any], list[int]]:
    """`ModuleStore.ordered` before the Modified_Time index: filter every record, then sort."""
    cache_key = (self.version, sort_by, descending, since)
    if self._cache is not None and self._cache[0] == cache_key:
        return self._cache[1]
    items = self.records.items()
    ids = ([rid for rid, rec in items if rec["Modified_Time"] >= since]
           if since is not None else list(self.records))
    sign = -1 if descending else 1
    keys: list[Any]
    if sort_by == "id":
        if descending:
            ids.reverse()
        keys = [sign * rid for rid in ids]
    else:
        recs = self.records
        pairs = sorted((sign * recs[rid][sort_by], sign * rid) for rid in ids)
        keys = pairs
        ids = [sign * pair[1] for pair in pairs]
    result = (keys, ids)
    self._cache = (cache_key, result)
    return result


@contextmanager
def _ordering(ordered: Any) -> Iterator[None]:
    """Listings answered by `ordered` (the index's or the scan's) inside the block."""
    kept = ModuleStore.ordered
    ModuleStore.ordered = ordered  # type: ignore[method-assign]
    try:
        yield
    finally:
        ModuleStore.ordered = kept  # type: ignore[method-assign]


def _access_token(state: EmulatorState) -> str:
    org = state.default_org
    creds = state.tokens.self_client(org.id, org.admin.id, ("ZohoCRM.modules.ALL",))
    token = state.tokens.refresh({"client_id": creds["client_id"],
                                  "client_secret": creds["client_secret"],
                                  "refresh_token": creds["refresh_token"]}, "http://emu")
    return str(token["access_token"])


async def _incremental(state: EmulatorState, rounds: int) -> dict[str, list[float]]:
    """Seconds of (one edit, then the sync's incremental listing) by the index and by the scan.

    The two alternate round by round, over the same store, so load on the machine hits both.
    """
    since = datetime.fromtimestamp(state.now(), UTC).isoformat()
    transport = httpx.ASGITransport(app=create_app(state))
    headers = {"Authorization": f"Zoho-oauthtoken {_access_token(state)}"}
    timings: dict[str, list[float]] = {"index": [], "scan": []}
    params = {"fields": "Account_Name,Phone", "per_page": "200", "sort_by": "Modified_Time",
              "sort_order": "asc"}
    async with httpx.AsyncClient(transport=transport, base_url="http://emu",
                                 headers=headers) as client:
        # The records modified since the watermark: new ones, as the seed holds duplicates
        # that an update would refuse.
        made = await client.post("/crm/v8/Accounts", json={"data": [
            {"Account_Name": f"Changed {i}"} for i in range(CHANGED)]})
        changed = [d["details"]["id"] for d in made.json()["data"]]
        for i in range(rounds * 2):
            way = "index" if i % 2 else "scan"
            answered = ModuleStore.ordered if way == "index" else _scan_ordered
            await client.put(f"/crm/v8/Accounts/{changed[i % CHANGED]}",
                             json={"data": [{"Phone": str(i)}]})
            with _ordering(answered):
                start = time.perf_counter()
                answer = await client.get("/crm/v8/Accounts", params=params,
                                          headers={"If-Modified-Since": since})
                timings[way].append(time.perf_counter() - start)
            assert answer.status_code == 200 and answer.json()["info"]["count"] == CHANGED
    return timings


def _upkeep_us(state: EmulatorState, writes: int = 2_000) -> tuple[float, float]:
    """Microseconds per `put` (an edit moving Modified_Time to now) without and with the index."""
    store = state.default_org.store("Accounts")
    ids = list(store.records)[:writes]
    now = state.now()
    spent = []
    for _ in range(2):
        start = time.perf_counter()
        for rid in ids:
            store.put(rid, {**store.records[rid], "Modified_Time": now})
        spent.append((time.perf_counter() - start) / writes * 1e6)
        store.modified_index()  # the second pass keeps the index in step
    return spent[0], spent[1]


def incremental_rows(sizes: list[int], rounds: int = 100) -> list[tuple[str, str]]:
    rows = []
    for size in sizes:
        state = EmulatorState()
        state.default_org.credits_override = 10**12
        seed_org(state.default_org, SeedSpec(accounts=size), state.now())
        plain_us, indexed_us = _upkeep_us(state)
        state.clock.advance(2)  # the upkeep's edits are older than the watermark
        timings = asyncio.run(_incremental(state, rounds))
        index_ms, scan_ms = (pct(timings[way], 0.5) * 1000 for way in ("index", "scan"))
        rows += [
            (f"incremental list, {size:,} accounts ({CHANGED} changed), after a write",
             f"{index_ms:.2f} ms (full scan {scan_ms:.2f} ms, {scan_ms / index_ms:.0f}x)"),
            ("  index upkeep of one write (store.put)",
             f"{indexed_us - plain_us:+.1f} us ({plain_us:.1f} us without the index)"),
        ]
    return [*rows, ("machine", machine())]


def page_rows(accounts: int, pages: int) -> list[tuple[str, str]]:
    gc.collect()
    base_rss = rss_mb()
    state = EmulatorState()
    org = state.default_org
    org.credits_override = 10**12
    start = time.perf_counter()
    seed_org(org, SeedSpec(accounts=accounts), state.now())
    seed_seconds = time.perf_counter() - start
    gc.collect()
    seeded_rss = rss_mb()

    module = org.modules["Accounts"]
    names = [n for n in module.fields if n != "id"][:30]
    fields = ",".join(names)
    timings = asyncio.run(_pages(state, fields, pages, _access_token(state)))
    server = sorted(timings)[len(timings) // 2]

    store = org.store("Accounts")
    ids = list(store.records)[-200:]
    render = record_renderer(org, module, org.admin, names)
    page = {"data": [render(rid, store.records[rid]) for rid in ids], "info": {}}
    dumps = []
    renders = []
    for _ in range(pages):
        t0 = time.perf_counter()
        json.dumps(page, ensure_ascii=False, separators=(",", ":"))
        t1 = time.perf_counter()
        [render(rid, store.records[rid]) for rid in ids]
        t2 = time.perf_counter()
        dumps.append(t1 - t0)
        renders.append(t2 - t1)
    dump = sorted(dumps)[len(dumps) // 2]
    rend = sorted(renders)[len(renders) // 2]
    keepalive, bare = keepalive_round_trips()
    return [
        ("keep-alive GET /org round trip", f"{keepalive:.2f} ms"),
        ("  bare uvicorn app, same client", f"{bare:.2f} ms ({keepalive / bare:.1f}x)"),
        ("accounts seeded", f"{accounts:,}"),
        ("seeding time", f"{seed_seconds:.1f} s"),
        ("RSS after seeding", f"{seeded_rss:.0f} MB (+{seeded_rss - base_rss:.0f} MB)"),
        ("bytes per account", f"{(seeded_rss - base_rss) * 2**20 / max(accounts, 1):.0f}"),
        ("page: 200 records x 30 fields", f"{len(json.dumps(page)):,} bytes of JSON"),
        ("server time per page (ASGI, median)", f"{server * 1000:.2f} ms"),
        ("  of which record rendering", f"{rend * 1000:.2f} ms"),
        ("plain json.dumps of the page", f"{dump * 1000:.2f} ms"),
        ("ratio server / json.dumps", f"{server / dump:.1f}x"),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--accounts", type=int, default=1_000_000)
    parser.add_argument("--pages", type=int, default=200)
    parser.add_argument("--case", choices=("all", "pages", "incremental"), default="all")
    parser.add_argument("--incremental-sizes", default="10000,100000")
    args = parser.parse_args()
    rows: list[tuple[str, str]] = []
    if args.case in ("all", "pages"):
        rows += page_rows(args.accounts, args.pages)
    if args.case in ("all", "incremental"):
        rows += incremental_rows([int(n) for n in args.incremental_sizes.split(",")])
    width = max(len(k) for k, _ in rows)
    print(f"{'measure':<{width}}  value")
    for key, value in rows:
        print(f"{key:<{width}}  {value}")


if __name__ == "__main__":
    main()
