"""The live path, end to end: the emulator and ALIX (uvicorn, in-process job runner) each in
its own process, this driver in a third.

    .venv/bin/python bench/live.py [--accounts 10000] [--edits 200] [--burst 1000] [--idle 60]
                                   [--big-accounts 100000] [--only push [--rounds 3]]
                                   [--explain]

Prints, each figure with the machine's load average and a fixed CPU probe beside it (a busy
machine is visible, not hidden in the figure):
- the push of `--accounts` ALIX edits: write and read calls, records/s of the push jobs, and
  their time against the same calls sent straight to the emulator from here (the baseline,
  with ALIX quiet and the baseline's own notifications held back until after its last call);
- `--edits` sequential edits each way: p50, p95, max from the write to the other side showing it
  (goal p95 < 500 ms);
- a burst of `--burst` edits each way: time until all land, and record reads against
  ceil(burst / 100);
- an incremental sync finding 10 Accounts changed in Zoho whose notification the emulator
  dropped: its Zoho calls by route, the changes in ALIX, and the pull job's time split into the
  emulator answering and ALIX's own (median of 5, after a catch-up sync);
- `--idle` seconds with a live channel: Zoho calls by route (goal 0). The reconciliation
  (every 300 s) has its next run moved one period ahead before the incremental syncs and the
  idle window, as if it had just run, so no window holds one; the channel's renewal is days
  away;
- last on that ALIX, `--edits` sequential edits each way again, while bursts of `--burst` edits
  run the other way back to back for the whole measurement (goal p95 < 1 s); an edit not landed
  after 60 s prints what ALIX's jobs were doing and ends the phase;
- then, on a second emulator and ALIX holding `--big-accounts` Accounts (0 skips it), their
  seeding and initial import (minutes at 100k) and the incremental syncs again, and the ratio of
  ALIX's own times (goal < 1.2: the incremental cost does not grow with the data).

`--only push` measures the push alone, `--rounds` times on the same ALIX (each round edits
every pair again): the quick loop for work on the push's own cost. `--explain` adds where the
push jobs' time went: their thread's CPU, the time their event loop waited with nothing ready
(for Zoho), the time they waited for SQLite's write lock (held by the callbacks' threads), and
the rest (waiting for the GIL); it times every event-loop wait of the jobs, so its push is a
little slower.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import json
import math
import os
import re
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx

from _machine import answers, free_port, machine, pct, stop, wait_until

CLIENT_ID = "1000.ALIXBENCH"
CLIENT_SECRET = "alix-bench-secret"
SECRET_KEY = "bench-secret-key-" + "x" * 40
ADMIN = ("admin@bench.example", "correct horse battery")
SELLER = "5725767000000411002"  # a CRM user of the emulator's default org, not ALIX's
API = "/api/v1/integrations/zoho-crm"
ROOT = Path(__file__).resolve().parent.parent
BUSY_PATH = "/__bench__/busy"
CHANGED = 10  # Accounts changed in Zoho for each incremental sync
ROUNDS = 5  # incremental syncs per size; the median is compared


# --- the machine -------------------------------------------------------------------------


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
    if EXPLAIN in os.environ:
        explain_pushes(Path(os.environ[EXPLAIN]))
    uvicorn.run(create_app(container), host="127.0.0.1", port=port, log_level="warning",
                lifespan="on")


EXPLAIN = "LIVE_BENCH_EXPLAIN"  # the file ALIX appends one line per push job to (--explain)


def explain_pushes(out: Path) -> None:
    """In the ALIX process: each push job appends its thread's CPU, its wall time and the time
    its event loop waited for I/O with nothing ready, and the time it waited for the turn to
write (alix.db.engine.WriterTurn), as a JSON line to `out`."""
    import selectors

    from alix.db.engine import WriterTurn
    from alix.integrations.zoho_crm.sync.engine import push as push_module

    run_push = push_module.push
    select = selectors.DefaultSelector.select
    enter = WriterTurn.enter

    @functools.wraps(run_push)
    async def timed_push(*args: Any, **kwargs: Any) -> Any:
        job, blocked, locked = threading.get_ident(), [0.0], [0.0]

        def turn(self: Any, connection: Any) -> None:
            started = time.perf_counter()
            try:
                enter(self, connection)
            finally:
                if threading.get_ident() == job:
                    locked[0] += time.perf_counter() - started

        def timed(self: Any, timeout: float | None = None) -> Any:
            if threading.get_ident() != job or timeout == 0:
                return select(self, timeout)
            ready = select(self, 0)  # ready at once: no wait to count
            if ready:
                return ready
            started = time.perf_counter()
            try:
                return select(self, timeout)
            finally:
                blocked[0] += time.perf_counter() - started

        selectors.DefaultSelector.select = timed  # type: ignore[method-assign]
        WriterTurn.enter = turn  # type: ignore[method-assign]
        wall, cpu = time.perf_counter(), time.thread_time()
        try:
            return await run_push(*args, **kwargs)
        finally:
            selectors.DefaultSelector.select = select  # type: ignore[method-assign]
            WriterTurn.enter = enter  # type: ignore[method-assign]
            with out.open("a") as lines:
                lines.write(json.dumps({"wall": time.perf_counter() - wall,
                                        "cpu": time.thread_time() - cpu,
                                        "blocked": blocked[0], "locked": locked[0]}) + "\n")

    push_module.push = timed_push  # push_task calls it through the module


def explained(out: Path, since: int) -> str:
    """The push jobs' lines of `out` after line `since`, summed, as printed."""
    jobs = [json.loads(line) for line in out.read_text().splitlines()[since:]]
    wall, cpu, blocked, locked = (sum(j[key] for j in jobs)
                                  for key in ("wall", "cpu", "blocked", "locked"))
    return (f"  where the push jobs' {wall:.2f} s went: their thread's CPU {cpu:.2f} s, waiting "
            f"for Zoho with nothing else to do {blocked:.2f} s, for SQLite's write lock (the "
            f"callbacks' transactions) {locked:.2f} s, the rest (the GIL) "
            f"{wall - cpu - blocked - locked:.2f} s")


class BusyTime:
    """ASGI wrapper of the emulator: the seconds during which at least one CRM API call was
    being answered, read at BUSY_PATH. A pull's job time minus this is ALIX's own time: the
    emulator's cost (a list call filters every record) must not count against ALIX."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.in_flight = 0
        self.since = 0.0
        self.seconds = 0.0

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        path = scope.get("path", "") if scope["type"] == "http" else ""
        if path == BUSY_PATH:
            body = json.dumps({"seconds": self.seconds}).encode()
            await send({"type": "http.response.start", "status": 200,
                        "headers": [(b"content-type", b"application/json")]})
            await send({"type": "http.response.body", "body": body})
            return
        if not path.startswith("/crm/"):
            await self.app(scope, receive, send)
            return
        if self.in_flight == 0:
            self.since = time.perf_counter()
        self.in_flight += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.in_flight -= 1
            if self.in_flight == 0:
                self.seconds += time.perf_counter() - self.since


def serve_emulator(port: int, accounts: int, redirect: str) -> None:
    """The emulator process (`--serve-emulator`): `python -m zoho_emulator` with the bench's
    client registered and its API calls timed by BusyTime."""
    import uvicorn

    from zoho_emulator.app import create_app
    from zoho_emulator.seed import SeedSpec, seed_org
    from zoho_emulator.state import EmulatorState

    state = EmulatorState()
    state.tokens.register_client(CLIENT_ID, CLIENT_SECRET, redirect)
    seed_org(state.default_org, SeedSpec(accounts=accounts), state.now())
    uvicorn.run(BusyTime(create_app(state)), host="127.0.0.1", port=port, log_level="warning",
                lifespan="off")


@contextmanager
def process(args: list[str], url: str, timeout: float = 60
            ) -> Iterator[subprocess.Popen[bytes]]:
    proc = subprocess.Popen([sys.executable, *args], cwd=ROOT, stdout=subprocess.DEVNULL)
    try:
        wait_until(lambda: answers(url, 1), f"{args[:2]} to start", timeout=timeout,
                   every=0.1)
        yield proc
    finally:
        stop(proc)


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

    def busy(self) -> float:
        """Seconds spent answering CRM API calls so far (BusyTime)."""
        return float(httpx.get(self.base_url + BUSY_PATH, timeout=60).json()["seconds"])

    def dropped(self) -> int:
        return int(self.control("notifications/deliveries")["counts"].get("dropped", 0))

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


def by_route(before: dict[str, int], after: dict[str, int]) -> dict[str, int]:
    """Calls made between two stats, per route, without the bench's own stats reads."""
    return {k: after[k] - before.get(k, 0) for k in after
            if after[k] != before.get(k, 0) and "__emulator__" not in k}


READS = ("GET {module}",)  # ALIX reads records by ids on this route only
WRITES = ("PUT {module}", "POST {module}")


# --- ALIX, from outside ------------------------------------------------------------------

@dataclass
class Alix:
    base_url: str
    db: Path
    http: httpx.Client
    port: int
    emulator: str
    pid: int = 0  # the ALIX process (its CPU time is read from /proc)

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

    def quiet(self) -> None:
        wait_until(self.nothing_pending, "a quiet outbox", every=0.1)
        wait_until(lambda: self.idle("zoho_crm.hints") and self.idle("zoho_crm.pull"),
                   "quiet hints and pulls", every=0.1)

    def websites(self, ids: Sequence[int], prefix: str) -> int:
        """How many of `ids` have a website starting with `prefix`."""
        if not ids:
            return 0
        listed = ",".join(str(int(i)) for i in ids)
        return int(self.sql(f"SELECT COUNT(*) FROM customers WHERE id IN ({listed}) "
                            "AND website LIKE ?", prefix + "%")[0][0])

    def job_seconds(self, job_id: int) -> float:
        started, finished = self.sql("SELECT started_at, finished_at FROM jobs WHERE id = ?",
                                     job_id)[0]
        return (datetime.fromisoformat(finished) - datetime.fromisoformat(started)
                ).total_seconds()


def hold_reconciliation(alix: Alix) -> str:
    """Move each reconciliation's next run one period ahead, as if it had just run, so the
    window measured next holds none; says the period. The sweep keeps a next run that is at
    most one period away, so it leaves this one alone. Before the sweep that follows the
    initial sync there is no schedule yet, and the one it creates first runs a period later."""
    periods = alix.sql("SELECT name, period_seconds FROM job_schedules "
                       "WHERE name LIKE 'zoho_crm.reconcile:%'")
    if not periods:
        return "not scheduled yet"
    for name, period in periods:
        # The format SQLAlchemy stores a DateTime in on SQLite (UTC, offset dropped).
        at = (datetime.now(UTC) + timedelta(seconds=int(period))).strftime(
            "%Y-%m-%d %H:%M:%S.%f")
        alix.sql("UPDATE job_schedules SET next_run_at = ? WHERE name = ?", at, name)
    return f"every {min(int(p) for _, p in periods)} s, the next a period after this"


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


@contextmanager
def live(accounts: int, tmp: Path) -> Iterator[tuple[Alix, Emulator]]:
    """An emulator holding `accounts` Accounts and an ALIX connected to it, Customers on."""
    alix_port, emu_port = free_port(), free_port()
    emu = Emulator(f"http://127.0.0.1:{emu_port}")
    alix_url = f"http://127.0.0.1:{alix_port}"
    redirect = f"{alix_url}/integrations/zoho-crm/oauth/callback"
    db = tmp / f"alix-{accounts}.db"
    with process([str(Path(__file__).resolve()), "--serve-emulator", str(emu_port),
                  str(accounts), redirect], emu.base_url + "/__emulator__/stats", timeout=900):
        emu.control("config", {"credits_per_day": 10**9, "concurrency": 50})
        prepare_database(db, alix_port, emu.base_url)
        with process([str(Path(__file__).resolve()), "--serve-alix", str(db), str(alix_port),
                      emu.base_url], alix_url + "/login") as served, \
                httpx.Client(base_url=alix_url, timeout=60) as http:
            alix = Alix(alix_url, db, http, alix_port, emu.base_url, served.pid)
            connect(alix, emu)
            yield alix, emu


# --- the figures -------------------------------------------------------------------------

def initial_sync(alix: Alix) -> tuple[int, float]:
    started = time.perf_counter()
    alix.api("POST", API + "/sync", {"initial": True})
    wait_until(lambda: alix.idle("zoho_crm.pull"), "the initial sync", timeout=3600, every=0.2)
    linked = alix.sql("SELECT COUNT(*) FROM zoho_links WHERE kind = 'customer'")[0][0]
    return int(linked), time.perf_counter() - started


def linked_pairs(alix: Alix) -> list[tuple[int, str]]:
    """The linked customers whose name no other has: the emulator's seed repeats a few names,
    and then refuses any update of those Accounts (DUPLICATE_DATA on the unchanged name)."""
    return [(int(a), str(z)) for a, z in alix.sql(
        "SELECT l.alix_id, l.zoho_id FROM zoho_links l JOIN customers c ON c.id = l.alix_id "
        "WHERE l.kind = 'customer' AND c.name IN (SELECT name FROM customers GROUP BY name "
        "HAVING COUNT(*) = 1) ORDER BY l.alix_id")]


def edit_in_alix(alix: Alix, ids: Sequence[int], tag: str) -> None:
    """Change the website of `ids` in one ALIX transaction (the push trigger queues the push)."""
    from sqlalchemy import select

    from alix.bootstrap import build_container
    from alix.customers.bulk import RecordUpdate, update_customers
    from alix.customers.domain import Actor, Origin
    from alix.db.session import unit_of_work
    from alix.identity.tables import User

    container = build_container(settings_of(alix.db, alix.port, alix.emulator, runner=False))
    with unit_of_work(container.session_factory) as session:
        admin = session.execute(select(User).where(User.email == ADMIN[0])).scalar_one()
        actor = Actor(admin.organisation_id, admin.id, Origin.USER)
        for start in range(0, len(ids), 500):
            update_customers(session, actor, [
                RecordUpdate(i, {"website": f"https://{tag}-{i}.example"})
                for i in ids[start:start + 500]])
    container.close()


def cpu_seconds(pid: int) -> float:
    """The CPU time a process used so far (user + system); 0 where /proc is missing. Less
    disturbed by a busy machine than a wall-clock figure: the push's own cost beside it."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def push_jobs_seconds(alix: Alix, since: str) -> tuple[float, int]:
    """The push jobs' summed time since `since`, and how many ran (a push hands over to
    waiting hints jobs between pages, so one push is several jobs)."""
    total, jobs = 0.0, 0
    for started, finished in alix.sql(
            "SELECT started_at, finished_at FROM jobs WHERE task = 'zoho_crm.push' AND "
            "status = 'done' AND started_at >= ?", since):
        total += (datetime.fromisoformat(finished) - datetime.fromisoformat(started)
                  ).total_seconds()
        jobs += 1
    return total, jobs


def push_figures(alix: Alix, emu: Emulator, pairs: list[tuple[int, str]], tag: str = "push"
                 ) -> None:
    wait_until(alix.nothing_pending, "a quiet outbox", every=0.2)
    explain = Path(os.environ[EXPLAIN]) if EXPLAIN in os.environ else None
    lines = len(explain.read_text().splitlines()) if explain and explain.exists() else 0
    since = alix.sql("SELECT datetime('now')")[0][0]
    before = emu.calls()
    edit_in_alix(alix, [a for a, _ in pairs], tag)
    cpu = cpu_seconds(alix.pid)  # after the edits: they are the driver's, not ALIX's
    wall = wait_until(alix.nothing_pending, "the push", every=0.1)
    cpu = cpu_seconds(alix.pid) - cpu
    after = emu.calls()
    seconds, jobs = push_jobs_seconds(alix, since)
    seconds = seconds or wall
    beside = {task: f"{count} in {total:.2f} s" for task, count, total in alix.sql(
        "SELECT task, COUNT(*), SUM(julianday(finished_at) - julianday(started_at)) * 86400 "
        "FROM jobs WHERE started_at >= ? AND task != 'zoho_crm.push' AND finished_at "
        "IS NOT NULL GROUP BY task", since)}
    writes, reads = delta(before, after, *WRITES), delta(before, after, *READS)
    n = len(pairs)
    direct, alongside = direct_calls(alix, emu, [z for _, z in pairs])
    print(f"push of {n} edits: {writes} write + {reads} read calls, push jobs {seconds:.2f} s "
          f"in {jobs} jobs ({n / seconds:,.0f} records/s; wall {wall:.1f} s incl. the "
          f"runner's 2 s poll); "
          f"same calls straight to the emulator {direct:.2f} s: ratio {seconds / direct:.2f}x "
          f"(goal <= 2x, >= 2,000 records/s); ALIX's CPU meanwhile {cpu:.2f} s "
          f"({cpu / n * 1e6:.0f} us per record), other jobs meanwhile {beside or 'none'}  "
          f"[{machine()}]")
    if explain is not None:
        print(explained(explain, lines))
    if alongside:
        print(f"  ALIX called the emulator during the baseline: {alongside} (the baseline is "
              f"the emulator's time for the calls alone; this one shared it)")
    # The baseline's writes come back as notifications: what follows starts once they are
    # pulled, so it measures its own work, not their hints beside it.
    ids = [a for a, _ in pairs]
    landed = wait_until(lambda: alix.websites(ids, "https://direct-") == len(ids),
                        "the baseline's writes in ALIX", every=0.5)
    alix.quiet()
    print(f"  the baseline's writes were in ALIX {landed:.0f} s later (held back "
          f"{BASELINE_HOLD_MS / 1000:.0f} s)")


BASELINE_HOLD_MS = 8_000  # the baseline's callbacks wait this long: past its last call


def direct_calls(alix: Alix, emu: Emulator, zoho_ids: Sequence[str]
                 ) -> tuple[float, dict[str, int]]:
    """The push's calls sent straight to the emulator (a read and a write per 100 ids): their
    seconds, and the calls ALIX made meanwhile (none, unless the hold was too short).

    Measured with ALIX quiet, the push's echoes handled, and the baseline's own notifications
    held back until after its last call: else ALIX's reads of them (about 20 record reads
    of 100) shared the emulator with the baseline and made it look slower than it is.
    """
    alix.quiet()
    emu.control("notifications/faults", {"delay_ms": BASELINE_HOLD_MS})
    before = emu.calls()
    try:
        with emu.crm() as crm:
            started = time.perf_counter()
            for first in range(0, len(zoho_ids), 100):
                chunk = zoho_ids[first:first + 100]
                crm.get("/Accounts", params={"ids": ",".join(chunk),
                                             "fields": "Account_Name,Currency,Website"})
                crm.put("/Accounts", json={"data": [
                    {"id": z, "Website": f"https://direct-{z}.example"} for z in chunk]})
            seconds = time.perf_counter() - started
    finally:
        emu.control("notifications/faults", {"delay_ms": 0})
    calls = math.ceil(len(zoho_ids) / 100)
    own = {"GET {module}": calls, "PUT {module}": calls, "POST oauth/v2/token": 1}
    made = by_route(before, emu.calls())
    alongside = {k: v - own.get(k, 0) for k, v in made.items() if v != own.get(k, 0)}
    return seconds, alongside


def to_crm_latencies(alix: Alix, emu: Emulator, count: int, pair: tuple[int, str]
                     ) -> list[float]:
    """Seconds from each ALIX API edit to Zoho showing it, one edit after the other."""
    alix_id, zoho_id = pair
    seconds: list[float] = []
    with emu.crm(SELLER) as seller:
        for k in range(count):
            site = f"https://alix-{k}.example"
            started = time.perf_counter()
            alix.api("PATCH", f"/api/v1/customers/{alix_id}", {"website": site})

            def in_zoho(site: str = site) -> bool:
                row = seller.get(f"/Accounts/{zoho_id}").json()["data"][0]
                return bool(row.get("Website") == site)

            if not landed(in_zoho, alix, alix_id, f"ALIX -> CRM edit {k + 1} of {count}"):
                break
            seconds.append(time.perf_counter() - started)
    return seconds


def to_alix_latencies(alix: Alix, emu: Emulator, count: int, pair: tuple[int, str]
                      ) -> list[float]:
    """Seconds from each Zoho edit (another CRM user) to ALIX showing it."""
    alix_id, zoho_id = pair
    seconds: list[float] = []
    with emu.crm(SELLER) as seller:
        for k in range(count):
            site = f"https://crm-{k}.example"
            started = time.perf_counter()
            seller.put(f"/Accounts/{zoho_id}", json={"data": [{"Website": site}]})

            def in_alix(site: str = site) -> bool:
                found = alix.sql("SELECT website FROM customers WHERE id = ?", alix_id)
                return bool(found[0][0] == site)

            if not landed(in_alix, alix, alix_id, f"CRM -> ALIX edit {k + 1} of {count}"):
                break
            seconds.append(time.perf_counter() - started)
    return seconds


LOST_AFTER = 60.0


def landed(probe: Callable[[], bool], alix: Alix, alix_id: int, what: str) -> bool:
    """Wait for an edit to show on the other side; when it has not after LOST_AFTER seconds,
    print what ALIX was doing (the measurement of that direction stops there)."""
    try:
        wait_until(probe, what, timeout=LOST_AFTER)
    except RuntimeError:
        print(f"{what} NOT LANDED after {LOST_AFTER:.0f} s: {doing(alix, alix_id)}")
        return False
    return True


def doing(alix: Alix, alix_id: int) -> str:
    """ALIX's queued and running jobs, unprocessed hints and the customer's outbox rows."""
    jobs = alix.sql("SELECT task, status, COUNT(*), MIN(created_at), MIN(started_at) FROM jobs "
                    "WHERE status IN ('queued', 'running') GROUP BY task, status")
    hints = alix.sql("SELECT COUNT(*) FROM zoho_inbox WHERE processed_at IS NULL")[0][0]
    outbox = alix.sql("SELECT status, attempts, created_at FROM customer_outbox "
                      "WHERE customer_id = ? ORDER BY id DESC LIMIT 3", alix_id)
    return (f"jobs (task, status, count, first created, first started) {jobs}; "
            f"{hints} unprocessed hints; customer {alix_id}'s last outbox rows {outbox}")


def print_latencies(what: str, values: Sequence[float], count: int, goal: str) -> None:
    lost = "" if len(values) == count else f"; ONLY {len(values)} of {count} landed"
    if not values:
        print(f"{what}: none landed ({goal})  [{machine()}]")
        return
    print(f"{what}: p50 {pct(values, .5) * 1000:.0f} ms, p95 {pct(values, .95) * 1000:.0f} ms, "
          f"max {max(values) * 1000:.0f} ms{lost} ({goal})  [{machine()}]")


def latency_figures(alix: Alix, emu: Emulator, count: int,
                    pairs: list[tuple[int, str]]) -> None:
    to_crm = to_crm_latencies(alix, emu, count, pairs[0])
    wait_until(alix.nothing_pending, "the push", every=0.05)
    to_alix = to_alix_latencies(alix, emu, count, pairs[0])
    for name, values in (("ALIX -> CRM", to_crm), ("CRM -> ALIX", to_alix)):
        print_latencies(f"{count} sequential edits {name}", values, count,
                        "goal p95 < 500 ms")


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


def send_crm_burst(seller: httpx.Client, chosen: Sequence[tuple[int, str]], tag: str) -> None:
    """Set each chosen Account's website in Zoho, 100 per call (as another CRM user)."""
    for first in range(0, len(chosen), 100):
        seller.put("/Accounts", json={"data": [
            {"id": z, "Website": f"https://{tag}-{a}.example"}
            for a, z in chosen[first:first + 100]]}).raise_for_status()


def burst_figures(alix: Alix, emu: Emulator, size: int, pairs: list[tuple[int, str]]) -> None:
    chosen = pairs[:size]
    before = emu.calls()
    started = time.perf_counter()
    with emu.crm(SELLER) as seller:
        send_crm_burst(seller, chosen, "crmburst")
    sent = time.perf_counter() - started
    ids = [a for a, _ in chosen]
    landed = wait_until(lambda: alix.websites(ids, "https://crmburst-") == len(chosen),
                        "the CRM burst in ALIX", every=0.05)
    reads = delta(before, emu.calls(), *READS)
    print(f"burst of {len(chosen)} CRM edits ({math.ceil(len(chosen) / 100)} writes, sent in "
          f"{sent:.2f} s): all in ALIX after {sent + landed:.2f} s, {reads} record reads vs "
          f"ceil = {math.ceil(len(chosen) / 100)}  [{machine()}]")
    wait_until(alix.nothing_pending, "a quiet outbox", every=0.1)
    before = emu.calls()
    started = time.perf_counter()
    asyncio.run(_patch_all(alix, ids, "alixburst"))
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


def while_bursting(burst: Callable[[int], None], measure: Callable[[], list[float]]
                   ) -> tuple[list[float], list[float], str]:
    """Run `measure` while another thread runs burst(0), burst(1), ... back to back until it
    returns; gives its values, the seconds of each burst that landed, and how the bursts
    failed ("" when none did)."""
    stop = threading.Event()
    rounds: list[float] = []
    failure: list[str] = []

    def loop() -> None:
        k = 0
        try:
            while not stop.is_set():
                started = time.perf_counter()
                burst(k)
                rounds.append(time.perf_counter() - started)
                k += 1
        except Exception as exc:  # reported by the main thread
            failure.append(str(exc))

    thread = threading.Thread(target=loop, name="burst", daemon=True)
    thread.start()
    try:
        values = measure()
    finally:
        stop.set()
        thread.join(600)
    return values, rounds, "; ".join(failure)


def print_loaded(count: int, name: str, size: int, other: str,
                 measured: tuple[list[float], list[float], str]) -> bool:
    """Print one direction's latencies under bursts; False when an edit or a burst was lost
    (the sync's lane is stuck, and the next figures on this ALIX would be too)."""
    values, rounds, failure = measured
    landed = f"mean {statistics.mean(rounds):.1f} s each" if rounds else "none landed"
    print_latencies(f"{count} sequential edits {name} while {size}-edit {other} bursts run "
                    f"back to back ({len(rounds)} landed, {landed})", values, count,
                    "goal p95 < 1 s")
    if failure:
        print(f"  the {other} burst beside it failed: {failure}")
    return len(values) == count and not failure


def loaded_latency_figures(alix: Alix, emu: Emulator, count: int, size: int,
                           pairs: list[tuple[int, str]]) -> None:
    """Sequential edits one way on pairs[0] while bursts of `size` edits of other customers
    run the other way, one after the other, each waited for until it has landed. The last
    figures on the main ALIX: a lost edit leaves its lane stuck."""
    chosen = pairs[1:size + 1]
    ids = [a for a, _ in chosen]
    alix.quiet()
    with emu.crm(SELLER) as seller:
        def crm_burst(k: int) -> None:
            send_crm_burst(seller, chosen, f"crmload{k}")
            wait_until(lambda: alix.websites(ids, f"https://crmload{k}-") == len(chosen),
                       "the CRM burst in ALIX", timeout=2 * LOST_AFTER, every=0.1)

        measured = while_bursting(crm_burst,
                                  lambda: to_crm_latencies(alix, emu, count, pairs[0]))
    if not print_loaded(count, "ALIX -> CRM", size, "CRM", measured):
        print(f"{count} sequential edits CRM -> ALIX while ALIX bursts run: skipped, the lane "
              "is stuck")
        return
    alix.quiet()
    with httpx.Client(base_url=alix.base_url, cookies=alix.http.cookies, timeout=60) as http:
        beside = Alix(alix.base_url, alix.db, http, alix.port, alix.emulator)

        def alix_burst(k: int) -> None:
            asyncio.run(_patch_all(beside, ids, f"alixload{k}"))
            wait_until(beside.nothing_pending, "the ALIX burst in Zoho", timeout=2 * LOST_AFTER,
                       every=0.1)

        measured = while_bursting(alix_burst,
                                  lambda: to_alix_latencies(alix, emu, count, pairs[0]))
    print_loaded(count, "CRM -> ALIX", size, "ALIX", measured)


def incremental_sync(alix: Alix, emu: Emulator, chosen: Sequence[tuple[int, str]], k: int
                     ) -> tuple[dict[str, int], int, float, float]:
    """Change `chosen` in Zoho with their notification dropped, then run one incremental sync
    as a person starts it; gives its Zoho calls by route, the changes found in ALIX, the pull
    job's seconds and the seconds the emulator spent answering during it."""
    alix.quiet()
    hold_reconciliation(alix)
    ids = [a for a, _ in chosen]
    prefix = f"https://quiet{k}-"
    if chosen:
        dropped = emu.dropped()
        emu.control("notifications/faults", {"drop_next": 1})  # one write call, one callback
        with emu.crm(SELLER) as seller:
            send_crm_burst(seller, chosen, f"quiet{k}")
        wait_until(lambda: emu.dropped() == dropped + 1, "the dropped notification", timeout=10)
    # A run reads up to the last whole second SETTLE before it starts: the sync started sooner
    # would leave the latest changes to a follow-up run (which would land them, unmeasured).
    written = time.time()
    wait_until(lambda: time.time() >= math.floor(written) + settle_seconds() + 0.1,
               "the settle window", every=0.05)
    assert alix.websites(ids, prefix) == 0, "a change reached ALIX without the sync"
    before, busy = emu.calls(), emu.busy()
    job = int(alix.api("POST", API + "/sync", {"initial": False}).json()["job_id"])
    wait_until(lambda: alix.sql("SELECT status FROM jobs WHERE id = ?", job)[0][0]
               in ("done", "failed"), "the incremental sync", every=0.05)
    made, zoho = by_route(before, emu.calls()), emu.busy() - busy
    status = alix.sql("SELECT status, error FROM jobs WHERE id = ?", job)[0]
    assert status[0] == "done", f"the incremental sync failed: {status[1]}"
    after = alix.sql("SELECT COUNT(*) FROM jobs WHERE task = 'zoho_crm.pull' AND id > ?", job)
    assert after[0][0] == 0, "the incremental sync left changes to a follow-up pull"
    return made, alix.websites(ids, prefix), alix.job_seconds(job), zoho


def settle_seconds() -> float:
    from alix.integrations.zoho_crm.sync.watermark import SETTLE

    return SETTLE.total_seconds()


def incremental_figures(alix: Alix, emu: Emulator, accounts: int,
                        pairs: list[tuple[int, str]]) -> float:
    """ROUNDS incremental syncs, each finding CHANGED other Accounts changed; prints them and
    gives the median of ALIX's own time (job time minus the emulator answering)."""
    made, _, job, zoho = incremental_sync(alix, emu, [], -1)
    print(f"catch-up incremental sync at {accounts} Accounts (what the phases before changed "
          f"since the last pull, ALIX's own writes included): {sum(made.values())} Zoho calls "
          f"{made}; pull job {job * 1000:.0f} ms  [{machine()}]")
    own: list[float] = []
    for k in range(ROUNDS):
        chosen = pairs[len(pairs) - CHANGED * (k + 1):len(pairs) - CHANGED * k]
        made, found, job, zoho = incremental_sync(alix, emu, chosen, k)
        own.append(job - zoho)
        print(f"incremental sync at {accounts} Accounts, {CHANGED} changed in Zoho with their "
              f"notification dropped (run {k + 1}/{ROUNDS}): {sum(made.values())} Zoho calls "
              f"{made}; {found}/{CHANGED} changes in ALIX; pull job {job * 1000:.0f} ms = "
              f"emulator answering {zoho * 1000:.0f} ms + ALIX's own {(job - zoho) * 1000:.0f} ms"
              f"  [{machine()}]")
    return statistics.median(own)


def idle_figures(alix: Alix, emu: Emulator, seconds: float) -> None:
    alix.quiet()
    period = hold_reconciliation(alix)
    since = alix.sql("SELECT strftime('%Y-%m-%d %H:%M:%f', 'now')")[0][0]
    before = emu.calls()
    time.sleep(seconds)
    made = by_route(before, emu.calls())
    ran = dict(alix.sql("SELECT task, COUNT(*) FROM jobs WHERE created_at >= ? GROUP BY task",
                        since))
    renewal = alix.sql("SELECT MIN(expires_at) FROM zoho_channels")[0][0]
    print(f"idle {seconds:.0f} s with a live channel: {sum(made.values())} Zoho calls "
          f"{made or ''} (goal 0); jobs queued meanwhile {ran or 'none'}; reconciliation "
          f"{period}; channel expires {renewal} UTC  [{machine()}]")


def synced_pairs(alix: Alix, accounts: int) -> list[tuple[int, str]]:
    """The initial sync, printed; then the (ALIX id, Zoho id) pairs the figures edit."""
    linked, seconds = initial_sync(alix)
    print(f"emulator {accounts} Accounts; initial sync linked {linked} customers "
          f"in {seconds:.1f} s  [{machine()}]")
    return linked_pairs(alix)


def main_figures(args: argparse.Namespace, tmp: Path) -> float:
    """The figures on the `--accounts` pair; gives the incremental sync's median own time."""
    with live(args.accounts, tmp) as (alix, emu):
        pairs = synced_pairs(alix, args.accounts)
        print(f"{len(pairs)} of them with a unique name are edited below")
        push_figures(alix, emu, pairs)
        latency_figures(alix, emu, args.edits, pairs)
        size = min(args.burst, len(pairs) - 1)
        burst_figures(alix, emu, size, pairs)
        own = incremental_figures(alix, emu, args.accounts, pairs)
        idle_figures(alix, emu, args.idle)
        loaded_latency_figures(alix, emu, args.edits, size, pairs)
    return own


def push_only_figures(args: argparse.Namespace, tmp: Path) -> None:
    """`--only push`: the push figure `--rounds` times on one ALIX, nothing else."""
    with live(args.accounts, tmp) as (alix, emu):
        pairs = synced_pairs(alix, args.accounts)
        for k in range(args.rounds):
            push_figures(alix, emu, pairs, f"push{k}")


def big_figures(accounts: int, tmp: Path) -> float:
    """The incremental sync on a second pair holding `accounts` Accounts."""
    started = time.perf_counter()
    with live(accounts, tmp) as (alix, emu):
        ready = time.perf_counter() - started
        linked, seconds = initial_sync(alix)
        print(f"emulator {accounts} Accounts (seeded and connected in {ready:.0f} s); initial "
              f"sync linked {linked} customers in {seconds:.1f} s  [{machine()}]")
        return incremental_figures(alix, emu, accounts, linked_pairs(alix))


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--accounts", type=int, default=10_000)
    parser.add_argument("--edits", type=int, default=200)
    parser.add_argument("--burst", type=int, default=1000)
    parser.add_argument("--idle", type=float, default=60)
    parser.add_argument("--big-accounts", type=int, default=100_000,
                        help="Accounts of the second incremental sync (0: skip it)")
    parser.add_argument("--only", choices=("push",),
                        help="measure this figure alone (the quick loop)")
    parser.add_argument("--rounds", type=int, default=3,
                        help="with --only push: pushes measured one after the other")
    parser.add_argument("--explain", action="store_true",
                        help="print where the push jobs' time went (see above)")
    parser.add_argument("--serve-alix", nargs=3, metavar=("DB", "PORT", "EMULATOR"))
    parser.add_argument("--serve-emulator", nargs=3, metavar=("PORT", "ACCOUNTS", "REDIRECT"))
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))  # stop the children too
    if args.serve_alix:
        db, port, emulator = args.serve_alix
        serve_alix(Path(db), int(port), emulator)
        return
    if args.serve_emulator:
        port, accounts, redirect = args.serve_emulator
        serve_emulator(int(port), int(accounts), redirect)
        return
    print(f"machine before: {machine()}")
    with tempfile.TemporaryDirectory() as tmp:
        if args.explain:  # read by the ALIX process this starts (serve_alix)
            os.environ[EXPLAIN] = str(Path(tmp) / "explained.jsonl")
        if args.only == "push":
            push_only_figures(args, Path(tmp))
            return
        own = main_figures(args, Path(tmp))
        if args.big_accounts:
            big = big_figures(args.big_accounts, Path(tmp))
            print(f"incremental sync, ALIX's own time (median of {ROUNDS}) at "
                  f"{args.big_accounts} vs {args.accounts} Accounts: {big * 1000:.0f} ms vs "
                  f"{own * 1000:.0f} ms, ratio {big / own:.2f} (goal < 1.2)  [{machine()}]")


if __name__ == "__main__":
    main()
