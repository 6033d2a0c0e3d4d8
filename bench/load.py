"""Many organisations on PostgreSQL, served by two `alix worker` processes: real-time edits of
the small ones while two big ones import.

    .venv/bin/python bench/load.py [--size 20000] [--small 18] [--small-size 500] [--edits 60]
        [--streams 6] [--concurrency 4]

Processes: the Zoho emulator with one org per ALIX organisation (its own process, `--serve-
emulator`), `alix serve` (the web app, jobs off: it receives the emulator's notifications and
defers their jobs) and two `alix worker` processes, all on one PostgreSQL schema of their own;
this driver connects every organisation through the OAuth pages, imports the small ones, then
measures in two phases:

- idle: `--edits` real-time edits of the small organisations' customers with no import running,
  half in ALIX (the customer service: the push job is deferred with the change) and half in Zoho
  (the emulator's API as another CRM user: its notification reaches `alix serve`, a hints job
  pulls the record), `--streams` at a time, each on organisations of its own;
- load: the same stream while the 2 big organisations import `--size` Accounts each.

Latency is the time from the edit to the other side showing it (polled every 50 ms). Prints the
p50 / p95 / max latency of each phase and their p95 ratio (goal: p95 under 2 s under load), the
records/s of the load phase (imported plus synced), each with the load average and a CPU probe
beside it. Exits 1 (WRONG COUNTS) when any organisation ends with a customer, link or Account
too many or too few, or an edit never lands.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx

from _machine import answers, free_port, machine, pct, stop, wait_until

ROOT = Path(__file__).resolve().parent.parent
ALIX = ROOT / ".venv" / "bin" / "alix"
POSTGRES = os.environ.get("ALIX_BENCH_POSTGRES_URL",
                          "postgresql+psycopg://postgres@127.0.0.1:5432/test")
CLIENT_ID = "1000.ALIXLOAD"
CLIENT_SECRET = "alix-load-secret"
SECRET_KEY = "bench-secret-key-" + "x" * 40
PASSWORD = "correct horse battery"
API = "/api/v1/integrations/zoho-crm"
# Each emulator org is a copy of the default org (multi-currency, CAD home) with its own id and
# record-id prefix; its users keep the default org's ids (tokens name the org).
FIRST_ORG = 60012345  # the emulator's default org stays the first
ADMIN_USER, SELLER_USER = "5725767000000411001", "5725767000000411002"
POLL = 0.05


# --- the machine -------------------------------------------------------------------------


# --- the emulator, in a process of its own -----------------------------------------------

def org_ids(count: int) -> list[str]:
    return [str(FIRST_ORG + n) for n in range(count)]


def serve_emulator(port: int, sizes: dict[str, int], redirect: str) -> None:
    """The emulator process (`--serve-emulator`): one org per ALIX organisation, seeded."""
    import uvicorn

    from zoho_emulator.app import create_app
    from zoho_emulator.ids import IdFactory
    from zoho_emulator.orgs import default_orgs
    from zoho_emulator.seed import SeedSpec, seed_org
    from zoho_emulator.state import EmulatorState

    def orgs(edition: str) -> dict[str, Any]:
        made = {}
        for n, org_id in enumerate(sizes):
            org = default_orgs(edition)[str(FIRST_ORG)]
            if n:  # its own id and record ids: no two orgs share a Zoho id
                org.id, org.company_name = org_id, f"Load Org {n}"
                org.ids = IdFactory(7000000 + n)
            made[org.id] = org
        return made

    state = EmulatorState(orgs=orgs)
    for org_id, accounts in sizes.items():
        org = state.orgs[org_id]
        org.credits_override, org.concurrency_override = 10**9, 50
        seed_org(org, SeedSpec(accounts, 0, 0, seed=int(org_id)), state.now())
    state.tokens.register_client(CLIENT_ID, CLIENT_SECRET, redirect)
    uvicorn.run(create_app(state), host="127.0.0.1", port=port, log_level="warning",
                lifespan="off", access_log=False)


@contextmanager
def process(args: list[str], url: str, env: dict[str, str] | None = None,
            log: Path | None = None) -> Iterator[subprocess.Popen[bytes]]:
    out = log.open("wb") if log else subprocess.DEVNULL
    proc = subprocess.Popen(args, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        if url:
            wait_until(lambda: proc.poll() is None and answers(url), f"{args[:3]} to start",
                       timeout=300, every=0.2)
        yield proc
    finally:
        stop(proc, 20)
        if log and not isinstance(out, int):
            out.close()


@dataclass
class Emulator:
    base_url: str

    def stats(self) -> dict[str, Any]:
        answer = httpx.get(f"{self.base_url}/__emulator__/stats", timeout=60)
        answer.raise_for_status()
        result: dict[str, Any] = answer.json()
        return result

    def accounts(self, org_id: str) -> int:
        return int(self.stats()["records"].get(org_id, {}).get("Accounts", 0))

    def crm(self, org_id: str, user_id: str) -> httpx.Client:
        creds = httpx.post(f"{self.base_url}/__emulator__/self-client",
                           json={"org_id": org_id, "user_id": user_id}, timeout=60).json()
        token = httpx.post(f"{self.base_url}/oauth/v2/token", data={
            "grant_type": "refresh_token", "client_id": creds["client_id"],
            "client_secret": creds["client_secret"],
            "refresh_token": creds["refresh_token"]}, timeout=60).json()["access_token"]
        return httpx.Client(base_url=f"{self.base_url}/crm/v8", timeout=60,
                            headers={"Authorization": f"Zoho-oauthtoken {token}"})


# --- ALIX: the database, the processes, the organisations --------------------------------

@contextmanager
def schema() -> Iterator[str]:
    """A PostgreSQL schema of this run's own, migrated, with procrastinate's tables."""
    from sqlalchemy import create_engine, text

    from alix.db import migrate
    from alix.db.engine import make_engine
    from alix.jobs.workers import ensure_schema

    name = f"load_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin = create_engine(POSTGRES)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{name}"'))
    url = f"{POSTGRES}?options=-csearch_path%3D{name}"
    try:
        migrate.upgrade(url)
        engine = make_engine(url)
        ensure_schema(engine)
        engine.dispose()
        yield url
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{name}" CASCADE'))
        admin.dispose()


def alix_env(url: str, port: int, emulator: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ALIX_")}
    env.update({
        "ALIX_ENVIRONMENT": "test", "ALIX_DATABASE_URL": url, "ALIX_SECRET_KEY": SECRET_KEY,
        "ALIX_PUBLIC_URL": f"http://127.0.0.1:{port}", "ALIX_RUN_JOBS_IN_PROCESS": "false",
        "ALIX_JOBS_ENGINE": "procrastinate", "ALIX_ZOHO_CLIENT_ID": CLIENT_ID,
        "ALIX_ZOHO_CLIENT_SECRET": CLIENT_SECRET, "ALIX_ZOHO_ACCOUNTS_URL": emulator,
        "ALIX_LOG_LEVEL": "WARNING"})
    return env


@dataclass
class Org:
    """One ALIX organisation, its admin's web session and its Zoho org."""

    name: str
    zoho_org: str
    accounts: int
    id: int = 0
    user_id: int = 0
    http: httpx.Client | None = None
    pairs: list[tuple[int, str]] = field(default_factory=list)  # (customer id, Zoho id)

    @property
    def email(self) -> str:
        return f"admin@{self.zoho_org}.example"


def create_orgs(container: Any, orgs: Sequence[Org]) -> None:
    from alix.db.session import unit_of_work
    from alix.identity.service import create_organisation, create_user
    from alix.identity.tables import Role

    with unit_of_work(container.session_factory) as session:
        for org in orgs:
            made = create_organisation(session, org.name, ["CAD", "USD", "EUR", "GBP"])
            user = create_user(session, made, org.email, PASSWORD, role=Role.ADMIN)
            session.flush()
            org.id, org.user_id = made.id, user.id


def _csrf(http: httpx.Client) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"',
                      http.get("/settings/integrations").text)
    assert found, "no CSRF token on the integrations page"
    return found.group(1)


def api(http: httpx.Client, method: str, path: str, body: Any = None) -> httpx.Response:
    answer = http.request(method, path, json=body, headers={
        "X-CSRF-Token": _csrf(http), "Accept": "application/json"})
    if answer.status_code >= 300:
        raise SystemExit(f"FAILED: {method} {path}: {answer.status_code} {answer.text[:500]}")
    return answer


def connect(org: Org, alix_url: str, emulator: str) -> None:
    """Log in, connect the org's Zoho org through OAuth, map currency and website, switch
    Customers on: what an admin does in the settings pages."""
    http = org.http = httpx.Client(base_url=alix_url, timeout=120)
    token = re.search(r'name="csrf_token" value="([^"]+)"', http.get("/login").text)
    assert token
    done = http.post("/login", data={"email": org.email, "password": PASSWORD,
                                     "csrf_token": token.group(1), "next": "/"})
    assert done.status_code == 303, done.text
    start = http.post("/settings/integrations/zoho-crm/connect",
                      data={"location": "us", "csrf_token": _csrf(http)})
    form = dict(parse_qsl(urlsplit(start.headers["location"]).query))
    form.update(decision="accept", principal=f"{org.zoho_org}:{ADMIN_USER}")
    answer = httpx.post(emulator + "/oauth/v2/auth", data=form, timeout=60)
    http.get(answer.headers["location"].removeprefix(alix_url))
    http.post("/settings/integrations/zoho-crm/confirm", data={"csrf_token": _csrf(http)})
    for alix_field, crm_field in (("currency", "Currency"), ("website", "Website")):
        row = api(http, "POST", API + "/mappers/customer/rows").json()
        api(http, "PATCH", f"{API}/mappers/customer/rows/{row['id']}",
            {"alix_field": alix_field, "crm_field": crm_field})
    api(http, "PATCH", API + "/modules/customers", {"active": True})


def sql(engine: Any, query: str, **params: Any) -> list[Any]:
    from sqlalchemy import text

    with engine.connect() as conn:
        return list(conn.execute(text(query), params))


def busy(engine: Any, orgs: Sequence[Org], *tasks: str) -> bool:
    """A job of these tasks queued or running for one of these organisations."""
    return bool(sql(engine, "SELECT 1 FROM jobs WHERE task = ANY(:tasks) AND organisation_id ="
                    " ANY(:orgs) AND status IN ('queued', 'running') LIMIT 1",
                    tasks=list(tasks), orgs=[o.id for o in orgs]))


def start_imports(engine: Any, orgs: Sequence[Org]) -> None:
    for org in orgs:
        assert org.http is not None
        api(org.http, "POST", API + "/sync", {"initial": True})
    wait_until(lambda: len(sql(engine, "SELECT 1 FROM jobs WHERE task = 'zoho_crm.pull' AND "
                               "organisation_id = ANY(:orgs)", orgs=[o.id for o in orgs]))
               == len(orgs), "the imports to be queued", timeout=60, every=POLL)


def editable(engine: Any, org: Org) -> list[tuple[int, str]]:
    """Linked customers whose name no other has: the seed repeats a few names, and Zoho then
    refuses any update of those Accounts (DUPLICATE_DATA on the unchanged name)."""
    return [(int(a), str(z)) for a, z in sql(
        engine, "SELECT l.alix_id, l.zoho_id FROM zoho_links l JOIN customers c ON c.id ="
        " l.alix_id WHERE l.kind = 'customer' AND c.organisation_id = :org AND c.name IN"
        " (SELECT name FROM customers WHERE organisation_id = :org GROUP BY name"
        "  HAVING COUNT(*) = 1) ORDER BY l.alix_id", org=org.id)]


# --- the real-time edits -----------------------------------------------------------------

@dataclass
class Stream:
    """Edits of its own organisations, one at a time, alternating sides and customers."""

    orgs: list[Org]
    container: Any
    emulator: Emulator
    seed: int
    latencies: list[float] = field(default_factory=list)
    made: int = 0
    crm: dict[str, httpx.Client] = field(default_factory=dict)

    def edit_in_alix(self, org: Org, customer: int, zoho_id: str, site: str) -> float:
        from alix.customers.domain import Actor, Origin
        from alix.customers.service import update_customer
        from alix.db.session import unit_of_work

        seller = self.crm[org.zoho_org]
        started = time.perf_counter()
        with unit_of_work(self.container.session_factory) as session:
            update_customer(session, Actor(org.id, org.user_id, Origin.USER), customer,
                            {"website": site})

        def in_zoho() -> bool:
            row = seller.get(f"/Accounts/{zoho_id}").json()["data"][0]
            return bool(row.get("Website") == site)

        wait_until(in_zoho, f"{site} in Zoho", timeout=120, every=POLL)
        return started

    def edit_in_zoho(self, org: Org, customer: int, zoho_id: str, site: str) -> float:
        seller = self.crm[org.zoho_org]
        started = time.perf_counter()
        answer = seller.put(f"/Accounts/{zoho_id}", json={"data": [{"Website": site}]})
        assert answer.status_code < 300, answer.text

        def in_alix() -> bool:
            found = sql(self.container.engine, "SELECT website FROM customers WHERE id = :id",
                        id=customer)
            return bool(found[0][0] == site)

        wait_until(in_alix, f"{site} in ALIX", timeout=120, every=POLL)
        return started

    def run(self, count: int | None, stop: threading.Event, tag: str) -> None:
        """`count` edits, or edits until `stop` is set."""
        rng = random.Random(self.seed)
        for org in self.orgs:
            self.crm.setdefault(org.zoho_org, self.emulator.crm(org.zoho_org, SELLER_USER))
        n = 0
        while (n < count) if count is not None else not stop.is_set():
            org = self.orgs[n % len(self.orgs)]
            customer, zoho_id = rng.choice(org.pairs)
            site = f"https://{tag}-{n}-{customer}.example"
            side = self.edit_in_alix if n % 2 == 0 else self.edit_in_zoho
            started = side(org, customer, zoho_id, site)
            self.latencies.append(time.perf_counter() - started)
            n += 1
            self.made += 1
            time.sleep(rng.uniform(0.1, 0.3))  # a person's pace, not a loop's


def stream_edits(streams: Sequence[Stream], count: int | None, stop: threading.Event,
                 tag: str) -> list[float]:
    """Run every stream (each `count` edits, or until `stop`); every latency, in seconds."""
    errors: list[BaseException] = []
    before = [len(s.latencies) for s in streams]

    def run(stream: Stream) -> None:
        try:
            stream.run(count, stop, tag)
        except BaseException as error:  # re-raised in the driver's thread
            errors.append(error)
            stop.set()

    threads = [threading.Thread(target=run, args=(s,), daemon=True) for s in streams]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return [x for s, b in zip(streams, before, strict=True) for x in s.latencies[b:]]


# --- the checks --------------------------------------------------------------------------

def check_counts(engine: Any, emulator: Emulator, orgs: Sequence[Org]) -> None:
    """Each organisation holds its Zoho org's Accounts once each, each linked once, and Zoho
    holds no Account ALIX made (the edits change Accounts, never add them)."""
    records = emulator.stats()["records"]
    wrong = []
    for org in orgs:
        customers = sql(engine, "SELECT count(*) FROM customers WHERE organisation_id = :org",
                        org=org.id)[0][0]
        links = sql(engine, "SELECT count(*), count(DISTINCT zoho_id) FROM zoho_links l JOIN"
                    " customers c ON c.id = l.alix_id WHERE l.kind = 'customer' AND"
                    " c.organisation_id = :org AND l.tombstoned_at IS NULL", org=org.id)[0]
        in_zoho = int(records.get(org.zoho_org, {}).get("Accounts", 0))
        found = (customers, links[0], links[1], in_zoho)
        if found != (org.accounts,) * 4:
            wrong.append(f"{org.name}: customers, links, linked Accounts, Zoho Accounts "
                         f"{found}, expected {org.accounts} each")
    issues = sql(engine, "SELECT count(*) FROM zoho_sync_issues WHERE status = 'open'")[0][0]
    if issues:
        wrong.append(f"{issues} open sync issues")
    if wrong:
        raise SystemExit("WRONG COUNTS\n" + "\n".join(wrong))


# --- the run -----------------------------------------------------------------------------

def latency_line(name: str, values: Sequence[float]) -> str:
    return (f"{name:<26}{len(values):>6} edits  p50 {pct(values, .5) * 1000:>6.0f} ms  "
            f"p95 {pct(values, .95) * 1000:>6.0f} ms  max {max(values) * 1000:>6.0f} ms")


def run(args: argparse.Namespace) -> None:
    from alix.bootstrap import build_container
    from alix.settings import Settings

    big = [Org(f"Import Org {n}", zoho, args.size)
           for n, zoho in enumerate(org_ids(2))]
    small = [Org(f"Edit Org {n}", zoho, args.small_size)
             for n, zoho in enumerate(org_ids(2 + args.small)[2:])]
    everyone = big + small
    print(f"machine before: {machine()}; {len(big)} organisations importing {args.size} "
          f"Accounts, {len(small)} of {args.small_size} Accounts edited; 2 workers x "
          f"concurrency {args.concurrency}")
    emu_port, alix_port = free_port(), free_port()
    emulator = Emulator(f"http://127.0.0.1:{emu_port}")
    alix_url = f"http://127.0.0.1:{alix_port}"
    sizes = {o.zoho_org: o.accounts for o in everyone}
    logs = Path(args.logs) if args.logs else None
    if logs:
        logs.mkdir(parents=True, exist_ok=True)
    with ExitStack() as stack:
        url = stack.enter_context(schema())
        env = alix_env(url, alix_port, emulator.base_url)
        stack.enter_context(process(
            [sys.executable, str(Path(__file__).resolve()), "--serve-emulator", str(emu_port),
             json.dumps(sizes), f"{alix_url}/integrations/zoho-crm/oauth/callback"],
            emulator.base_url + "/__emulator__/stats"))
        container = build_container(Settings(**{
            k.removeprefix("ALIX_").lower(): v for k, v in env.items()
            if k.startswith("ALIX_")}), with_runner=False)
        stack.callback(container.close)
        create_orgs(container, everyone)
        stack.enter_context(process([str(ALIX), "serve", "--port", str(alix_port)],
                                    alix_url + "/login", env, logs and logs / "serve.log"))
        for n in (1, 2):
            stack.enter_context(process(
                [str(ALIX), "worker", "--name", f"w{n}", "--concurrency",
                 str(args.concurrency)], "", env, logs and logs / f"w{n}.log"))
        started = time.perf_counter()
        for org in everyone:
            connect(org, alix_url, emulator.base_url)
        stack.callback(lambda: [o.http.close() for o in everyone if o.http])
        engine = container.engine
        wait_until(lambda: sql(engine, "SELECT count(*) FROM zoho_channels WHERE expires_at IS"
                               " NOT NULL")[0][0] == len(everyone),
                   "every notification channel", timeout=300, every=0.2)
        print(f"{len(everyone)} organisations connected, channels live in "
              f"{time.perf_counter() - started:.1f} s  [{machine()}]")
        started = time.perf_counter()
        start_imports(engine, small)
        wait_until(lambda: not busy(engine, small, "zoho_crm.pull"), "the small imports",
                   timeout=1800, every=0.5)
        seconds = time.perf_counter() - started
        check_counts(engine, emulator, small)
        print(f"small organisations imported: {len(small) * args.small_size} Accounts in "
              f"{seconds:.1f} s ({len(small) * args.small_size / seconds:,.0f} records/s)"
              f"  [{machine()}]")
        for org in small:
            org.pairs = editable(engine, org)
        per = max(1, len(small) // args.streams)
        streams = [Stream(small[i * per:(i + 1) * per] if i < args.streams - 1
                          else small[i * per:], container, emulator, seed=i)
                   for i in range(min(args.streams, len(small)))]

        idle = stream_edits(streams, max(1, args.edits // len(streams)), threading.Event(),
                            "idle")
        print(latency_line("idle: no import", idle) + f"  [{machine()}]")

        stop = threading.Event()
        started = time.perf_counter()
        start_imports(engine, big)

        def imports_done() -> None:
            try:
                wait_until(lambda: not busy(engine, big, "zoho_crm.pull"), "the big imports",
                           timeout=3600, every=0.5)
            finally:
                stop.set()

        watcher = threading.Thread(target=imports_done, daemon=True)
        watcher.start()
        loaded = stream_edits(streams, None, stop, "load")
        watcher.join()
        seconds = time.perf_counter() - started
        load_machine = machine()
        print(latency_line("load: 2 imports running", loaded) + f"  [{load_machine}]")
        ratio = pct(loaded, .95) / pct(idle, .95)
        print(f"p95 under load / idle: {ratio:.2f}x (goal: p95 under load < 2 s: "
              f"{'met' if pct(loaded, .95) < 2 else 'NOT met'})")
        imported = sum(o.accounts for o in big)
        print(f"load phase: {imported} Accounts imported + {len(loaded)} edits synced in "
              f"{seconds:.1f} s = {(imported + len(loaded)) / seconds:,.0f} records/s"
              f"  [{load_machine}]")
        wait_until(lambda: not busy(engine, everyone, "zoho_crm.push", "zoho_crm.hints"),
                   "a quiet queue", timeout=300, every=0.2)
        check_counts(engine, emulator, everyone)
        print(f"counts checked: {len(everyone)} organisations, each Account once, each "
              "linked once")


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--size", type=int, default=20_000,
                        help="Accounts each of the 2 big organisations imports")
    parser.add_argument("--small", type=int, default=18)
    parser.add_argument("--small-size", type=int, default=500)
    parser.add_argument("--edits", type=int, default=60, help="edits of the idle phase")
    parser.add_argument("--streams", type=int, default=6, help="edits in flight at once")
    parser.add_argument("--concurrency", type=int, default=4, help="jobs per worker")
    parser.add_argument("--logs", help="keep the serve and worker logs in this directory")
    parser.add_argument("--serve-emulator", nargs=3, metavar=("PORT", "SIZES", "REDIRECT"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))  # stop the children too
    if args.serve_emulator:
        port, sizes, redirect = args.serve_emulator
        serve_emulator(int(port), json.loads(sizes), redirect)
        return
    run(args)


if __name__ == "__main__":
    main()
