"""Emulator speed and size: one 200-record, 30-field Accounts page vs json.dumps; RSS at 1M.

Run: .venv/bin/python bench/emulator.py [--accounts N] [--pages P]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import time
from pathlib import Path

import httpx

from zoho_emulator.app import create_app
from zoho_emulator.render import record_renderer
from zoho_emulator.seed import SeedSpec, seed_org
from zoho_emulator.state import EmulatorState


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--accounts", type=int, default=1_000_000)
    parser.add_argument("--pages", type=int, default=200)
    args = parser.parse_args()
    gc.collect()
    base_rss = rss_mb()
    state = EmulatorState()
    org = state.default_org
    org.credits_override = 10**12
    start = time.perf_counter()
    seed_org(org, SeedSpec(accounts=args.accounts), state.now())
    seed_seconds = time.perf_counter() - start
    gc.collect()
    seeded_rss = rss_mb()

    module = org.modules["Accounts"]
    names = [n for n in module.fields if n != "id"][:30]
    fields = ",".join(names)
    creds = state.tokens.self_client(org.id, org.admin.id, ("ZohoCRM.modules.ALL",))
    token = state.tokens.refresh({"client_id": creds["client_id"],
                                  "client_secret": creds["client_secret"],
                                  "refresh_token": creds["refresh_token"]}, "http://emu")
    timings = asyncio.run(_pages(state, fields, args.pages, token["access_token"]))
    server = sorted(timings)[len(timings) // 2]

    store = org.store("Accounts")
    ids = list(store.records)[-200:]
    render = record_renderer(org, module, org.admin, names)
    page = {"data": [render(rid, store.records[rid]) for rid in ids], "info": {}}
    dumps = []
    renders = []
    for _ in range(args.pages):
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
    rows = [
        ("keep-alive GET /org round trip", f"{keepalive:.2f} ms"),
        ("  bare uvicorn app, same client", f"{bare:.2f} ms ({keepalive / bare:.1f}x)"),
        ("accounts seeded", f"{args.accounts:,}"),
        ("seeding time", f"{seed_seconds:.1f} s"),
        ("RSS after seeding", f"{seeded_rss:.0f} MB (+{seeded_rss - base_rss:.0f} MB)"),
        ("bytes per account", f"{(seeded_rss - base_rss) * 2**20 / max(args.accounts, 1):.0f}"),
        ("page: 200 records x 30 fields", f"{len(json.dumps(page)):,} bytes of JSON"),
        ("server time per page (ASGI, median)", f"{server * 1000:.2f} ms"),
        ("  of which record rendering", f"{rend * 1000:.2f} ms"),
        ("plain json.dumps of the page", f"{dump * 1000:.2f} ms"),
        ("ratio server / json.dumps", f"{server / dump:.1f}x"),
    ]
    width = max(len(k) for k, _ in rows)
    print(f"{'measure':<{width}}  value")
    for key, value in rows:
        print(f"{key:<{width}}  {value}")


if __name__ == "__main__":
    main()
