"""The live path, end to end: the emulator and ALIX (uvicorn, in-process job runner) each in
its own process, this driver in a third.

    .venv/bin/python bench/live.py [--accounts 10000] [--edits 200] [--burst 1000] [--idle 60]

Prints, each figure with the machine's load average and a fixed CPU probe beside it (a busy
machine is visible, not hidden in the figure):
- the push of `--accounts` ALIX edits: write and read calls, records/s of the push jobs, and
  their time against the same calls sent straight to the emulator from here (the baseline);
- `--edits` sequential edits each way: p50, p95, max from the write to the other side showing it;
- a burst of `--burst` edits each way: time until all land, and record reads against
  ceil(burst / 100);
- `--idle` seconds with a live channel: Zoho calls made (the reconciliation period is 300 s).
Not measured here yet: the incremental sync at 10k and 100k Accounts (bench/sync_pull.py
measures the initial pull).
"""

from __future__ import annotations

import argparse
import asyncio
import math
import re
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx

from _machine import free_port, machine, pct

CLIENT_ID = "1000.ALIXBENCH"
CLIENT_SECRET = "alix-bench-secret"
SECRET_KEY = "bench-secret-key-" + "x" * 40
ADMIN = ("admin@bench.example", "correct horse battery")
SELLER = "5725767000000411002"  # a CRM user of the emulator's default org, not ALIX's
API = "/api/v1/integrations/zoho-crm"
ROOT = Path(__file__).resolve().parent.parent


# --- the machine -------------------------------------------------------------------------


def wait_until(probe: Callable[[], bool], what: str, timeout: float = 600.0,
               every: float = 0.01) -> float:
    """Seconds until probe() holds."""
    started = time.perf_counter()
    while not probe():
        if time.perf_counter() - started > timeout:
            raise RuntimeError(f"Timed out waiting for {what}.")
        time.sleep(every)
    return time.perf_counter() - started


# --- the processes -----------------------------------------------------------------------

def settings_of(db: Path, port: int, emulator: str, *, runner: bool) -> Any:
    from pydantic import SecretStr

    from alix.settings import Settings

    return Settings(environment="test", database_url=f"sqlite:///{db}",
                    secret_key=SecretStr(SECRET_KEY), public_url=f"http://127.0.0.1:{port}",
                    run_jobs_in_process=runner, zoho_client_id=CLIENT_ID,
                    zoho_client_secret=SecretStr(CLIENT_SECRET),
                    zoho_accounts_url=emulator, log_level="WARNING")


def serve_alix(db: Path, port: int, emulator: str) -> None:
    """The ALIX process (`--serve-alix`): the app and its in-process job runner."""
    import uvicorn

    from alix.bootstrap import build_container
    from alix.web.app import create_app

    container = build_container(settings_of(db, port, emulator, runner=True))
    uvicorn.run(create_app(container), host="127.0.0.1", port=port, log_level="warning",
                lifespan="on")


@contextmanager
def process(args: list[str], url: str) -> Iterator[subprocess.Popen[bytes]]:
    proc = subprocess.Popen([sys.executable, *args], cwd=ROOT, stdout=subprocess.DEVNULL)
    try:
        wait_until(lambda: _answers(url), f"{args[:2]} to start", timeout=60, every=0.1)
        yield proc
    finally:
        proc.terminate()
        proc.wait(10)


def _answers(url: str) -> bool:
    try:
        httpx.get(url, timeout=1)
    except httpx.TransportError:
        return False
    return True


@dataclass
class Emulator:
    base_url: str

    def control(self, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        answer = httpx.post(f"{self.base_url}/__emulator__/{path}", json=body or {}, timeout=60)
        answer.raise_for_status()
        result: dict[str, Any] = answer.json()
        return result

    def calls(self) -> dict[str, int]:
        return {k: int(v) for k, v in self.control("stats")["calls"].items()}

    def crm(self, user_id: str | None = None) -> httpx.Client:
        creds = self.control("self-client", {"user_id": user_id} if user_id else {})
        token = httpx.post(f"{self.base_url}/oauth/v2/token", data={
            "grant_type": "refresh_token", "client_id": creds["client_id"],
            "client_secret": creds["client_secret"],
            "refresh_token": creds["refresh_token"]}).json()["access_token"]
        return httpx.Client(base_url=f"{self.base_url}/crm/v8", timeout=60,
                            headers={"Authorization": f"Zoho-oauthtoken {token}"})


def delta(before: dict[str, int], after: dict[str, int], *labels: str) -> int:
    return sum(after.get(k, 0) - before.get(k, 0) for k in labels)


READS = ("GET {module}",)  # ALIX reads records by ids on this route only
WRITES = ("PUT {module}", "POST {module}")


# --- ALIX, from outside ------------------------------------------------------------------

@dataclass
class Alix:
    base_url: str
    db: Path
    http: httpx.Client

    def csrf(self) -> str:
        page = self.http.get("/settings/integrations").text
        found = re.search(r'name="csrf_token" value="([^"]+)"', page)
        assert found, "no CSRF token on the integrations page"
        return found.group(1)

    def api(self, method: str, path: str, body: Any = None) -> httpx.Response:
        answer = self.http.request(method, path, json=body, headers={
            "X-CSRF-Token": self.csrf(), "Accept": "application/json"})
        assert answer.status_code < 300, answer.text
        return answer

    def sql(self, query: str, *params: Any) -> list[tuple[Any, ...]]:
        with sqlite3.connect(self.db, timeout=30) as conn:
            return list(conn.execute(query, params))

    def idle(self, task: str) -> bool:
        return not self.sql("SELECT 1 FROM jobs WHERE task = ? AND status IN "
                            "('queued', 'running') LIMIT 1", task)

    def nothing_pending(self) -> bool:
        """No outbox row waiting for a first push (a refused record waits for its retry)."""
        return not self.sql("SELECT 1 FROM customer_outbox WHERE status = 'pending' "
                            "AND attempts = 0 LIMIT 1") and self.idle("zoho_crm.push")


def prepare_database(db: Path, port: int, emulator: str) -> None:
    from alix.bootstrap import build_container
    from alix.db import migrate
    from alix.db.session import unit_of_work
    from alix.identity.service import create_organisation, create_user
    from alix.identity.tables import Role

    migrate.upgrade(f"sqlite:///{db}")
    container = build_container(settings_of(db, port, emulator, runner=False))
    with unit_of_work(container.session_factory) as session:
        org = create_organisation(session, "Bench Ltd", ["CAD", "USD", "EUR", "GBP"])
        create_user(session, org, ADMIN[0], ADMIN[1], role=Role.ADMIN)
    container.close()


def connect(alix: Alix, emu: Emulator) -> None:
    """Log in, connect Zoho CRM through OAuth, map currency and website, switch Customers on."""
    page = alix.http.get("/login").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert token
    done = alix.http.post("/login", data={"email": ADMIN[0], "password": ADMIN[1],
                                          "csrf_token": token.group(1), "next": "/"})
    assert done.status_code == 303, done.text
    start = alix.http.post("/settings/integrations/zoho-crm/connect",
                           data={"location": "us", "csrf_token": alix.csrf()})
    form = dict(parse_qsl(urlsplit(start.headers["location"]).query))
    form.update(decision="accept", principal="60012345:5725767000000411001")
    answer = httpx.post(emu.base_url + "/oauth/v2/auth", data=form)
    alix.http.get(answer.headers["location"].removeprefix(alix.base_url))
    alix.http.post("/settings/integrations/zoho-crm/confirm", data={"csrf_token": alix.csrf()})
    for alix_field, crm_field in (("currency", "Currency"), ("website", "Website")):
        row = alix.api("POST", API + "/mappers/customer/rows").json()
        alix.api("PATCH", f"{API}/mappers/customer/rows/{row['id']}",
                 {"alix_field": alix_field, "crm_field": crm_field})
    alix.api("PATCH", API + "/modules/customers", {"active": True})
    wait_until(lambda: bool(alix.sql("SELECT 1 FROM zoho_channels WHERE expires_at IS NOT NULL")),
               "the notification channel", timeout=60, every=0.1)


# --- the figures -------------------------------------------------------------------------

def initial_sync(alix: Alix) -> tuple[int, float]:
    started = time.perf_counter()
    alix.api("POST", API + "/sync", {"initial": True})
    wait_until(lambda: alix.idle("zoho_crm.pull"), "the initial sync", every=0.2)
    linked = alix.sql("SELECT COUNT(*) FROM zoho_links WHERE kind = 'customer'")[0][0]
    return int(linked), time.perf_counter() - started


def linked_pairs(alix: Alix) -> list[tuple[int, str]]:
    """The linked customers whose name no other has: the emulator's seed repeats a few names,
    and then refuses any update of those Accounts (DUPLICATE_DATA on the unchanged name)."""
    return [(int(a), str(z)) for a, z in alix.sql(
        "SELECT l.alix_id, l.zoho_id FROM zoho_links l JOIN customers c ON c.id = l.alix_id "
        "WHERE l.kind = 'customer' AND c.name IN (SELECT name FROM customers GROUP BY name "
        "HAVING COUNT(*) = 1) ORDER BY l.alix_id")]


def edit_in_alix(db: Path, port: int, emulator: str, ids: Sequence[int], tag: str) -> None:
    """Change the website of `ids` in one ALIX transaction (the push trigger queues the push)."""
    from sqlalchemy import select

    from alix.bootstrap import build_container
    from alix.customers.bulk import RecordUpdate, update_customers
    from alix.customers.domain import Actor, Origin
    from alix.db.session import unit_of_work
    from alix.identity.tables import User

    container = build_container(settings_of(db, port, emulator, runner=False))
    with unit_of_work(container.session_factory) as session:
        admin = session.execute(select(User).where(User.email == ADMIN[0])).scalar_one()
        actor = Actor(admin.organisation_id, admin.id, Origin.USER)
        for start in range(0, len(ids), 500):
            update_customers(session, actor, [
                RecordUpdate(i, {"website": f"https://{tag}-{i}.example"})
                for i in ids[start:start + 500]])
    container.close()


def push_jobs_seconds(alix: Alix, since: str) -> float:
    total = 0.0
    for started, finished in alix.sql(
            "SELECT started_at, finished_at FROM jobs WHERE task = 'zoho_crm.push' AND "
            "status = 'done' AND started_at >= ?", since):
        total += (datetime.fromisoformat(finished) - datetime.fromisoformat(started)
                  ).total_seconds()
    return total


def push_figures(alix: Alix, emu: Emulator, args: argparse.Namespace,
                 pairs: list[tuple[int, str]]) -> None:
    wait_until(alix.nothing_pending, "a quiet outbox", every=0.2)
    since = alix.sql("SELECT datetime('now')")[0][0]
    before = emu.calls()
    edit_in_alix(alix.db, args.alix_port, emu.base_url, [a for a, _ in pairs], "push")
    wall = wait_until(alix.nothing_pending, "the push", every=0.1)
    after = emu.calls()
    seconds = push_jobs_seconds(alix, since) or wall
    writes, reads = delta(before, after, *WRITES), delta(before, after, *READS)
    n = len(pairs)
    with emu.crm() as crm:
        ids = [z for _, z in pairs]
        started = time.perf_counter()
        for first in range(0, n, 100):
            chunk = ids[first:first + 100]
            crm.get("/Accounts", params={"ids": ",".join(chunk),
                                         "fields": "Account_Name,Currency,Website"})
            crm.put("/Accounts", json={"data": [
                {"id": z, "Website": f"https://direct-{z}.example"} for z in chunk]})
        direct = time.perf_counter() - started
    print(f"push of {n} edits: {writes} write + {reads} read calls, push jobs {seconds:.2f} s "
          f"({n / seconds:,.0f} records/s; wall {wall:.1f} s incl. the runner's 2 s poll); "
          f"same calls straight to the emulator {direct:.2f} s: ratio {seconds / direct:.2f}x "
          f"(goal <= 2x, >= 2,000 records/s)  [{machine()}]")


def latency_figures(alix: Alix, emu: Emulator, count: int,
                    pairs: list[tuple[int, str]]) -> None:
    alix_id, zoho_id = pairs[0]
    to_crm: list[float] = []
    to_alix: list[float] = []
    with emu.crm(SELLER) as seller:
        for k in range(count):
            site = f"https://alix-{k}.example"
            started = time.perf_counter()
            alix.api("PATCH", f"/api/v1/customers/{alix_id}", {"website": site})

            def in_zoho(site: str = site) -> bool:
                row = seller.get(f"/Accounts/{zoho_id}").json()["data"][0]
                return bool(row.get("Website") == site)

            wait_until(in_zoho, "the edit in Zoho", timeout=60)
            to_crm.append(time.perf_counter() - started)
        wait_until(alix.nothing_pending, "the push", every=0.05)
        for k in range(count):
            site = f"https://crm-{k}.example"
            started = time.perf_counter()
            seller.put(f"/Accounts/{zoho_id}", json={"data": [{"Website": site}]})

            def in_alix(site: str = site) -> bool:
                found = alix.sql("SELECT website FROM customers WHERE id = ?", alix_id)
                return bool(found[0][0] == site)

            wait_until(in_alix, "the edit in ALIX", timeout=60)
            to_alix.append(time.perf_counter() - started)
    for name, values in (("ALIX -> CRM", to_crm), ("CRM -> ALIX", to_alix)):
        print(f"{count} sequential edits {name}: p50 {pct(values, .5) * 1000:.0f} ms, "
              f"p95 {pct(values, .95) * 1000:.0f} ms, max {max(values) * 1000:.0f} ms "
              f"(goal p95 < 500 ms)  [{machine()}]")


async def _patch_all(alix: Alix, ids: Sequence[int], tag: str) -> None:
    csrf = alix.csrf()
    limit = asyncio.Semaphore(8)
    async with httpx.AsyncClient(base_url=alix.base_url, cookies=alix.http.cookies,
                                 timeout=60) as http:
        async def one(i: int) -> None:
            async with limit:
                answer = await http.patch(f"/api/v1/customers/{i}",
                                          json={"website": f"https://{tag}-{i}.example"},
                                          headers={"X-CSRF-Token": csrf,
                                                   "Accept": "application/json"})
                assert answer.status_code == 200, answer.text
        await asyncio.gather(*(one(i) for i in ids))


def burst_figures(alix: Alix, emu: Emulator, size: int, pairs: list[tuple[int, str]]) -> None:
    chosen = pairs[:size]
    wanted = {z: f"https://crmburst-{a}.example" for a, z in chosen}
    before = emu.calls()
    started = time.perf_counter()
    with emu.crm(SELLER) as seller:
        zoho_ids = list(wanted)
        for first in range(0, len(zoho_ids), 100):
            seller.put("/Accounts", json={"data": [
                {"id": z, "Website": wanted[z]} for z in zoho_ids[first:first + 100]]})
    sent = time.perf_counter() - started
    ids = ",".join(str(a) for a, _ in chosen)
    landed = wait_until(lambda: alix.sql(
        f"SELECT COUNT(*) FROM customers WHERE id IN ({ids}) "  # ints only
        "AND website LIKE 'https://crmburst-%'")[0][0] == len(chosen),
        "the CRM burst in ALIX", every=0.05)
    reads = delta(before, emu.calls(), *READS)
    print(f"burst of {len(chosen)} CRM edits ({math.ceil(len(chosen) / 100)} writes, sent in "
          f"{sent:.2f} s): all in ALIX after {sent + landed:.2f} s, {reads} record reads vs "
          f"ceil = {math.ceil(len(chosen) / 100)}  [{machine()}]")
    wait_until(alix.nothing_pending, "a quiet outbox", every=0.1)
    before = emu.calls()
    started = time.perf_counter()
    asyncio.run(_patch_all(alix, [a for a, _ in chosen], "alixburst"))
    sent = time.perf_counter() - started
    own = 0
    with emu.crm() as crm:
        def all_in_zoho() -> bool:
            nonlocal own
            for first in range(0, len(chosen), 100):
                own += 1
                rows = crm.get("/Accounts", params={
                    "ids": ",".join(z for _, z in chosen[first:first + 100]),
                    "fields": "Website"}).json()["data"]
                if any(not str(r.get("Website", "")).startswith("https://alixburst-")
                       for r in rows):
                    return False
            return True

        landed = wait_until(all_in_zoho, "the ALIX burst in Zoho", every=0.1)
    reads = delta(before, emu.calls(), *READS) - own
    print(f"burst of {len(chosen)} ALIX edits (API, 8 at a time, sent in {sent:.2f} s): all in "
          f"Zoho after {sent + landed:.2f} s, {reads} record reads vs ceil = "
          f"{math.ceil(len(chosen) / 100)}  [{machine()}]")


def idle_figures(alix: Alix, emu: Emulator, seconds: float) -> None:
    wait_until(alix.nothing_pending, "a quiet outbox", every=0.1)
    wait_until(lambda: alix.idle("zoho_crm.hints"), "quiet hints", every=0.1)
    before = emu.calls()
    time.sleep(seconds)
    after = emu.calls()
    made = {k: after[k] - before.get(k, 0) for k in after
            if after[k] != before.get(k, 0) and not k.endswith("__emulator__/stats")}
    print(f"idle {seconds:.0f} s with a live channel: {sum(made.values())} Zoho calls "
          f"{made or ''} (goal 0)  [{machine()}]")


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--accounts", type=int, default=10_000)
    parser.add_argument("--edits", type=int, default=200)
    parser.add_argument("--burst", type=int, default=1000)
    parser.add_argument("--idle", type=float, default=60)
    parser.add_argument("--serve-alix", nargs=3, metavar=("DB", "PORT", "EMULATOR"))
    parser.add_argument("--alix-port", type=int, default=0)
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))  # stop the children too
    if args.serve_alix:
        db, port, emulator = args.serve_alix
        serve_alix(Path(db), int(port), emulator)
        return
    print(f"machine before: {machine()}")
    args.alix_port = free_port()
    emu_port = free_port()
    emu = Emulator(f"http://127.0.0.1:{emu_port}")
    alix_url = f"http://127.0.0.1:{args.alix_port}"
    redirect = f"{alix_url}/integrations/zoho-crm/oauth/callback"
    with tempfile.TemporaryDirectory() as tmp, process(
            ["-m", "zoho_emulator", "--port", str(emu_port), "--accounts", str(args.accounts),
             "--register-client", f"{CLIENT_ID}:{CLIENT_SECRET}:{redirect}"],
            emu.base_url + "/__emulator__/stats"):
        emu.control("config", {"credits_per_day": 10**9, "concurrency": 50})
        db = Path(tmp) / "alix.db"
        prepare_database(db, args.alix_port, emu.base_url)
        with process([str(Path(__file__).resolve()), "--serve-alix", str(db),
                      str(args.alix_port), emu.base_url], alix_url + "/login"), \
                httpx.Client(base_url=alix_url, timeout=60) as http:
            alix = Alix(alix_url, db, http)
            connect(alix, emu)
            linked, seconds = initial_sync(alix)
            print(f"emulator {args.accounts} Accounts; initial sync linked {linked} customers "
                  f"in {seconds:.1f} s  [{machine()}]")
            pairs = linked_pairs(alix)
            print(f"{len(pairs)} of them with a unique name are edited below")
            push_figures(alix, emu, args, pairs)
            latency_figures(alix, emu, args.edits, pairs)
            burst_figures(alix, emu, min(args.burst, len(pairs)), pairs)
            idle_figures(alix, emu, args.idle)


if __name__ == "__main__":
    main()
