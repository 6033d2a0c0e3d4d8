"""Initial import of N Accounts (2 Contacts, 1 custom-module address each) vs the machine floor.

    .venv/bin/python bench/initial_import.py [--size 10000] [--backends sqlite,postgres]
        [--repeat 3] [--profile FILE] [--airbyte] [--bulk-above N]

The emulator runs in a process of its own (`python -m zoho_emulator`), seeded with N Accounts,
2 Contacts each (plus one Account-less Contact in ten, which is not imported) and one
Shipping_Addresses record each. Each import runs in a fresh process, as `alix sync --initial`
would: imports, then `run_pull(initial=True)` into a freshly migrated database (SQLite file, or a
PostgreSQL schema of its own).

The floor, measured in the same run on the same records: the 200-record JSON pages (read from
the emulator beforehand, not timed) decoded with `json.loads`, their mapped columns inserted
with one plain DB-API `executemany` per page and table, one commit per page; no links, no
issues. Both are the median of `--repeat` runs.

Prints records/s, the ratio to the floor, record calls against ceil(records/200) per module, the
start-up import time and the peak RSS of the import process. Exits 1 when any count is wrong
(customers, contacts, addresses, links, open issues).

`--airbyte` then times Airbyte's source-zoho-crm full read of the same emulator (bench/_airbyte.py,
in a virtualenv of its own) against our import on SQLite (else the first backend), both from
process start, and prints the ratio; where Airbyte cannot run, against the client's raw read.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

STARTED = time.perf_counter()  # before any ALIX import: the child reports its start-up cost

import httpx  # noqa: E402

import _airbyte  # noqa: E402
from _machine import free_port  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
POSTGRES = os.environ.get("ALIX_BENCH_POSTGRES_URL",
                          "postgresql+psycopg://postgres@127.0.0.1:5432/test")
PAGE = 200
MODULES = {  # module -> the fields the pull asks for (and the floor reads)
    "Accounts": ["Account_Name", "Currency", "Website", "Phone", "Billing_Street",
                 "Billing_City", "Billing_State", "Billing_Code", "Billing_Country"],
    "Contacts": ["Email", "Last_Name", "First_Name", "Phone", "Account_Name"],
    "Shipping_Addresses": ["Street", "City", "Province", "Postal_Code", "Country", "Default",
                           "Name", "Account"],
}


# -- the configuration ALIX imports with -------------------------------------------------------

def configuration(connection_id: int, organisation_id: int) -> Any:
    """Customers and contacts, the Account's billing address as main billing address, and the
    Shipping_Addresses custom module (its main module off, so each record is an address)."""
    from alix.integrations.zoho_crm.config import (
        MappedField,
        MapperConfig,
        ModuleConfig,
        SyncConfiguration,
    )
    from alix.integrations.zoho_crm.mappers import MapperKind, ModuleKind
    from alix.integrations.zoho_crm.rules import ConflictPolicy, DeletePolicy, Direction

    def rows(*rows: tuple[str, str, str, str]) -> tuple[MappedField, ...]:
        return tuple(MappedField(a, c, Direction.BOTH, at, ct, None) for a, c, at, ct in rows)

    def address(prefix: str, state: str, code: str) -> tuple[MappedField, ...]:
        return rows(("street", f"{prefix}Street", "long_text", "textarea"),
                    ("city", f"{prefix}City", "text", "text"),
                    ("province", f"{prefix}{state}", "subdivision", "text"),
                    ("postal_code", f"{prefix}{code}", "text", "text"),
                    ("country", f"{prefix}Country", "country", "text"))

    customer = rows(("name", "Account_Name", "text", "text"),
                    ("currency", "Currency", "currency", "picklist"),
                    ("website", "Website", "url", "website"), ("phone", "Phone", "phone", "phone"))
    contact = rows(("email", "Email", "email", "email"),
                   ("last_name", "Last_Name", "text", "text"),
                   ("first_name", "First_Name", "text", "text"),
                   ("phone", "Phone", "phone", "phone"))
    custom = (*address("", "Province", "Postal_Code"),
              *rows(("is_main", "Default", "boolean", "boolean"),
                    ("label", "Name", "text", "text")))
    off = (ModuleKind.MAIN_SHIPPING, ModuleKind.BILLING)

    def module(kind: ModuleKind, crm: str, mappers: tuple[MapperConfig, ...],
               lookup: str | None = None) -> ModuleConfig:
        return ModuleConfig(kind, kind not in off, crm, lookup, mappers)

    return SyncConfiguration(
        connection_id=connection_id, organisation_id=organisation_id, version=1,
        zoho_org_id="60012345", multi_currency=True, home_currency="CAD",
        conflict_policy=ConflictPolicy.ASK, delete_crm_to_alix=DeletePolicy.MARK_INACTIVE,
        delete_alix_to_crm=DeletePolicy.IGNORE,
        modules=(
            module(ModuleKind.CUSTOMERS, "Accounts", (
                MapperConfig(MapperKind.CUSTOMER, "Accounts", customer),
                MapperConfig(MapperKind.CONTACT, "Contacts", contact))),
            module(ModuleKind.MAIN_BILLING, "Accounts", (
                MapperConfig(MapperKind.MAIN_BILLING, "Accounts",
                             address("Billing_", "State", "Code")),)),
            module(ModuleKind.MAIN_SHIPPING, "Accounts", (
                MapperConfig(MapperKind.MAIN_SHIPPING, "Accounts", ()),)),
            module(ModuleKind.BILLING, "Billing_Addresses", (
                MapperConfig(MapperKind.BILLING, "Billing_Addresses", ()),), "Account"),
            module(ModuleKind.SHIPPING, "Shipping_Addresses", (
                MapperConfig(MapperKind.SHIPPING, "Shipping_Addresses", custom),), "Account"),
        ),
    )


# -- the import, in a process of its own ------------------------------------------------------

def rss_peak_mb() -> float:
    """This process's peak RSS: VmHWM, not getrusage's ru_maxrss, which Linux carries over
    from the parent through fork and exec (the parent holds every raw page)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def children_cpu() -> float:
    """CPU seconds of this process's ended children (the import's page writer)."""
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    return used.ru_utime + used.ru_stime


def prepare(url: str, emulator: str) -> tuple[int, int]:
    """A migrated database with one organisation and its connection: (organisation, connection)."""
    from alix import models as _models  # noqa: F401 - every table on metadata
    from alix.db import migrate
    from alix.db.engine import make_engine
    from alix.db.session import make_session_factory
    from alix.identity.service import create_organisation
    from alix.integrations.zoho_crm.tables import ZohoConnection

    migrate.upgrade(url)
    engine = make_engine(url)
    with make_session_factory(engine).begin() as session:
        org = create_organisation(session, "Bench Ltd", ["CAD", "USD", "EUR", "GBP"])
        connection = ZohoConnection(
            organisation_id=org.id, status="connected", location="us",
            accounts_url=emulator, api_domain=emulator, zoho_org_id="60012345",
            zoho_org_name="Maple", edition="Enterprise", zoho_user_id="1",
            zoho_user_name="Admin", zoho_user_email="admin@example.com",
            zoho_user_time_zone="UTC", scopes="ZohoCRM.modules.ALL", config_version=1,
            conflict_policy="ask", delete_crm_to_alix="mark_inactive",
            delete_alix_to_crm="ignore", crm_schema={}, created_at=datetime.now(UTC))
        session.add(connection)
        session.flush()
        ids = (org.id, connection.id)
    engine.dispose()
    return ids


def profiled(pull: Any, path: str) -> Any:
    """Run the pull under cProfile: the event loop's thread into `path`, the pages' writes
    (committed in worker threads: a profiled import keeps them in its process) into
    `path.pages`."""
    import asyncio
    import cProfile
    import functools

    from alix.integrations.zoho_crm.sync.engine import page_writer

    writes = cProfile.Profile()
    write = page_writer.write_page

    @functools.wraps(write)
    def measured(*args: Any, **kwargs: Any) -> Any:
        return writes.runcall(write, *args, **kwargs)

    page_writer.write_page = measured
    loop = cProfile.Profile()
    try:
        report = loop.runcall(asyncio.run, pull(in_process=True))
    finally:
        page_writer.write_page = write
    loop.dump_stats(path)
    writes.dump_stats(f"{path}.pages")
    return report


def import_once(url: str, emulator: str, organisation_id: int, connection_id: int,
                profile: str | None) -> dict[str, Any]:
    """The child: what `alix sync --initial` does once its settings are read."""
    import asyncio

    from alix.clock import utc_now
    from alix.customers.service import sync_actor
    from alix.db.engine import make_engine
    from alix.db.session import make_session_factory
    from alix.integrations.zoho_crm.client import InMemoryTokenStore, ZohoCrmClient
    from alix.integrations.zoho_crm.sync.engine.context import SyncContext
    from alix.integrations.zoho_crm.sync.engine.pull import _fields, run_pull, steps_of
    from alix.integrations.zoho_crm.sync.store.scope import SyncScope
    from alix.settings import Settings

    imported = time.perf_counter() - STARTED
    engine = make_engine(url)
    sessions = make_session_factory(engine)
    scope = SyncScope(organisation_id, connection_id)
    with sessions.begin() as session:
        actor = sync_actor(session, organisation_id)
    config = configuration(connection_id, organisation_id)
    creds = httpx.post(f"{emulator}/__emulator__/self-client", json={}).json()

    async def pull(*, in_process: bool = False) -> Any:
        async with ZohoCrmClient.connect(
                client_id=creds["client_id"], client_secret=creds["client_secret"],
                refresh_token=creds["refresh_token"], connection_id="bench",
                store=InMemoryTokenStore(), override_url=emulator) as crm:
            ctx = SyncContext(scope, config, crm, actor, sessions, utc_now)
            bulk = os.environ.get("ALIX_BENCH_BULK_ABOVE")
            # As `alix sync --initial` does: the settings' threshold for a writer process.
            settings = Settings()
            above = settings.zoho_import_process_above or None
            return await run_pull(ctx, initial=True, bulk_above=int(bulk) if bulk else None,
                                  process_above=None if in_process else above,
                                  head_start=settings.zoho_import_head_start)

    async def read_only() -> None:
        async with ZohoCrmClient.connect(
                client_id=creds["client_id"], client_secret=creds["client_secret"],
                refresh_token=creds["refresh_token"], connection_id="bench",
                store=InMemoryTokenStore(), override_url=emulator) as crm:
            for step in steps_of(config):
                async for _record in crm.iter_records(step.module, _fields(config, step)):
                    pass

    before, exports = record_calls(emulator), bulk_jobs(emulator)
    started, cpu, children = time.perf_counter(), time.process_time(), children_cpu()
    report = profiled(pull, profile) if profile else asyncio.run(pull())
    seconds = time.perf_counter() - started
    # Every thread's, and the page writer's process (page_writer.py) once it has ended: less
    # moved by a busy machine than the wall.
    cpu = time.process_time() - cpu + children_cpu() - children
    # The writer's peak comes from getrusage, which counts what its process inherited at fork:
    # the sum is an upper bound.
    rss = rss_peak_mb() + resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    calls = record_calls(emulator) - before
    exports = bulk_jobs(emulator) - exports
    started = time.perf_counter()
    asyncio.run(read_only())
    read_seconds = time.perf_counter() - started
    engine.dispose()
    return {"seconds": seconds, "cpu": cpu, "imports": imported, "rss_mb": rss,
            "read_only": read_seconds, "calls": calls, "bulk_jobs": exports,
            "read": dict(report.read), "counts": dict(report.counts)}


# -- the parent: emulator, floor, checks ------------------------------------------------------

@contextmanager
def emulator_process(size: int) -> Iterator[str]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    proc = subprocess.Popen(
        [sys.executable, "-m", "zoho_emulator", "--port", str(port), "--accounts", str(size),
         "--contacts-per-account", "2", "--addresses-per-account", "1"],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 600
        while True:
            try:
                httpx.get(f"{url}/__emulator__/stats", timeout=1)
                break
            except httpx.TransportError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("The emulator did not start.") from None
                time.sleep(0.2)
        httpx.post(f"{url}/__emulator__/config",
                   json={"credits_per_day": 10**9, "concurrency": 50}, timeout=60)
        yield url
    finally:
        proc.terminate()
        proc.wait(10)


def bulk_jobs(emulator: str) -> int:
    calls = httpx.get(f"{emulator}/__emulator__/stats", timeout=60).json()["calls"]
    return int(calls.get("POST bulk/read", 0))


def record_calls(emulator: str) -> int:
    calls = httpx.get(f"{emulator}/__emulator__/stats", timeout=60).json()["calls"]
    return sum(int(n) for route, n in calls.items() if route == "GET {module}")


def raw_pages(emulator: str) -> dict[str, list[bytes]]:
    """Every record of the walked modules as the 200-record JSON pages Zoho serves.

    Past Zoho's 100,000-record page-token cap a new query starts at the last Modified_Time
    seen (inclusive), as the client's pager does; the records it repeats are left out and
    such a page is stored re-encoded, so every record is in exactly one page.
    """
    creds = httpx.post(f"{emulator}/__emulator__/self-client", json={}).json()
    token = httpx.post(f"{emulator}/oauth/v2/token", data={
        "grant_type": "refresh_token", "client_id": creds["client_id"],
        "client_secret": creds["client_secret"],
        "refresh_token": creds["refresh_token"]}).json()["access_token"]
    pages: dict[str, list[bytes]] = {}
    with httpx.Client(base_url=f"{emulator}/crm/v8", timeout=120,
                      headers={"Authorization": f"Zoho-oauthtoken {token}"}) as http:
        for module, fields in MODULES.items():
            pages[module] = []
            seen: set[str] = set()
            last: str | None = None  # the newest Modified_Time read
            since: str | None = None  # the current query's start (If-Modified-Since)
            page, next_token = 1, None
            while True:
                params = {"fields": ",".join([*fields, "Modified_Time"]), "per_page": str(PAGE),
                          "sort_by": "Modified_Time", "sort_order": "asc"}
                params.update({"page_token": next_token} if next_token else {"page": str(page)})
                headers = {"If-Modified-Since": since} if since else {}
                answer = http.get(f"/{module}", params=params, headers=headers)
                if answer.status_code in (204, 304):
                    break
                if answer.status_code == 400 and "PAGINATION_LIMIT" in answer.text:
                    page, next_token, since = 1, None, last  # a new query from there
                    continue
                answer.raise_for_status()
                body = answer.json()
                rows = [r for r in body["data"] if r["id"] not in seen]
                seen.update(r["id"] for r in rows)
                last = body["data"][-1]["Modified_Time"]
                if rows:
                    pages[module].append(answer.content if len(rows) == len(body["data"])
                                         else json.dumps({"data": rows}).encode())
                if not body["info"].get("more_records"):
                    break
                page += 1
                next_token = body["info"].get("next_page_token") if page > 10 else None
    return pages


@dataclass(frozen=True)
class Expected:
    """What a correct import holds, counted from the raw pages."""

    records: dict[str, int]
    customers: int
    contacts: int
    addresses: int

    @property
    def links(self) -> int:
        return self.customers * 2 + self.contacts + (self.addresses - self.customers)


def expected(pages: dict[str, list[bytes]]) -> Expected:
    rows = {m: [r for p in ps for r in json.loads(p)["data"]] for m, ps in pages.items()}
    accounts = {r["id"] for r in rows["Accounts"]}
    contacts = sum(1 for r in rows["Contacts"]
                   if (r.get("Account_Name") or {}).get("id") in accounts)
    shipping = sum(1 for r in rows["Shipping_Addresses"]
                   if (r.get("Account") or {}).get("id") in accounts)
    return Expected({m: len(r) for m, r in rows.items()}, len(accounts), contacts,
                    len(accounts) + shipping)


def _stamp(dialect: str) -> Any:
    now = datetime.now(UTC)
    # SQLite stores what SQLAlchemy's DATETIME writes; psycopg adapts the datetime itself.
    return now.strftime("%Y-%m-%d %H:%M:%S.%f") if dialect == "sqlite" else now


def floor_once(url: str, organisation_id: int, pages: dict[str, list[bytes]]) -> float:
    """Decode the pages and insert their mapped columns, one executemany per page and table,
    one commit per page; seconds."""
    from sqlalchemy import create_engine

    engine = create_engine(url)
    dialect = engine.dialect.name
    mark = "?" if dialect == "sqlite" else "%s"
    raw = engine.raw_connection()
    cursor = raw.cursor()
    org = organisation_id

    def sql(table: str, columns: str) -> str:
        count = len(columns.split(","))
        return f"INSERT INTO {table} ({columns}) VALUES ({', '.join([mark] * count)})"

    customer_sql = sql("customers", "id, organisation_id, name, name_key, currency, website, "
                       "phone, is_active, version, created_at, updated_at")
    contact_sql = sql("contact_persons", "organisation_id, customer_id, first_name, last_name, "
                      "email, phone, is_primary, version, created_at, updated_at")
    address_sql = sql("addresses", "organisation_id, customer_id, kind, is_main, label, street, "
                      "city, province, postal_code, country, version, created_at, updated_at")
    customer_ids: dict[str, int] = {}
    started = time.perf_counter()
    for page in pages["Accounts"]:
        now = _stamp(dialect)
        customers, mains = [], []
        for r in json.loads(page)["data"]:
            cid = customer_ids[r["id"]] = len(customer_ids) + 1
            name = r["Account_Name"]
            customers.append((cid, org, name, " ".join(name.lower().split()), r["Currency"],
                              r.get("Website"), r.get("Phone"), True, 1, now, now))
            mains.append((org, cid, "billing", True, None, r.get("Billing_Street"),
                          r.get("Billing_City"), r.get("Billing_State"), r.get("Billing_Code"),
                          r.get("Billing_Country"), 1, now, now))
        cursor.executemany(customer_sql, customers)
        cursor.executemany(address_sql, mains)
        raw.commit()
    for page in pages["Contacts"]:
        now = _stamp(dialect)
        contacts = []
        for r in json.loads(page)["data"]:
            cid = customer_ids.get((r.get("Account_Name") or {}).get("id"))
            if cid is not None:
                contacts.append((org, cid, r.get("First_Name"), r["Last_Name"], r.get("Email"),
                                 r.get("Phone"), False, 1, now, now))
        cursor.executemany(contact_sql, contacts)
        raw.commit()
    for page in pages["Shipping_Addresses"]:
        now = _stamp(dialect)
        places = []
        for r in json.loads(page)["data"]:
            cid = customer_ids.get((r.get("Account") or {}).get("id"))
            if cid is not None:
                places.append((org, cid, "shipping", bool(r.get("Default")), r.get("Name"),
                               r.get("Street"), r.get("City"), r.get("Province"),
                               r.get("Postal_Code"), r.get("Country"), 1, now, now))
        cursor.executemany(address_sql, places)
        raw.commit()
    seconds = time.perf_counter() - started
    raw.close()
    engine.dispose()
    return seconds


def counts_of(url: str, organisation_id: int) -> dict[str, int]:
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.connect() as conn:
        found = {table: int(conn.execute(text(
            f"SELECT count(*) FROM {table} WHERE organisation_id = :org"),
            {"org": organisation_id}).scalar_one())
            for table in ("customers", "contact_persons", "addresses", "zoho_links")}
        found["open issues"] = int(conn.execute(text(
            "SELECT count(*) FROM zoho_sync_issues WHERE status = 'open'")).scalar_one())
    engine.dispose()
    return found


@contextmanager
def database(backend: str, tmp: Path) -> Iterator[str]:
    if backend == "sqlite":
        yield f"sqlite:///{tmp / f'{uuid.uuid4().hex[:8]}.db'}"
        return
    from sqlalchemy import create_engine, text

    schema = f"bench_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin = create_engine(POSTGRES)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield f"{POSTGRES}?options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def run_child(url: str, emulator: str, ids: tuple[int, int], profile: str | None
              ) -> dict[str, Any]:
    args = [sys.executable, str(Path(__file__).resolve()), "--child", url, emulator,
            str(ids[0]), str(ids[1])]
    if profile:
        args += ["--profile", profile]
    done = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"The import failed:\n{done.stderr[-4000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def bench_backend(backend: str, emulator: str, pages: dict[str, list[bytes]], want: Expected,
                  repeat: int, profile: str | None, tmp: Path) -> tuple[list[str], float, float]:
    """Floor and import, `repeat` times each; the table lines, then the medians of our import and
    of the client's read alone, each from process start (start-up imports included), in seconds;
    counts checked."""
    floors, runs, calls = [], [], []
    for n in range(repeat):
        with database(backend, tmp) as url:
            ids = prepare(url, emulator)
            floors.append(floor_once(url, ids[0], pages))
        with database(backend, tmp) as url:
            ids = prepare(url, emulator)
            profiling = f"{profile}.{backend}" if profile and n == 0 else None
            result = run_child(url, emulator, ids, profiling)
            calls.append(result["calls"])
            runs.append(result)
            found = counts_of(url, ids[0])
        wanted = {"customers": want.customers, "contact_persons": want.contacts,
                  "addresses": want.addresses, "zoho_links": want.links, "open issues": 0}
        if found != wanted:
            raise SystemExit(f"WRONG COUNTS on {backend}: found {found}, expected {wanted}")
        if result["read"] != want.records:
            raise SystemExit(f"WRONG READS on {backend}: {result['read']} != {want.records}")
    records = sum(want.records.values())
    floor = statistics.median(floors)
    ours = statistics.median(r["seconds"] for r in runs)
    pages_needed = sum(math.ceil(n / PAGE) for n in want.records.values())
    worst = max(runs, key=lambda r: r["rss_mb"])
    read = statistics.median(r["read_only"] for r in runs)
    ours_started = statistics.median(r["imports"] + r["seconds"] for r in runs)
    read_started = statistics.median(r["imports"] + r["read_only"] for r in runs)
    return [
        f"{backend:<11}{'floor (json.loads + executemany)':<36}{records:>9}{floor:>9.2f}"
        f"{records / floor:>11,.0f}{'1/1':>9}",
        f"{backend:<11}{'initial import (run_pull)':<36}{records:>9}{ours:>9.2f}"
        f"{records / ours:>11,.0f}{'1/' + format(ours / floor, '.1f'):>9}",
        f"{'':<11}{'  the client read alone, no writes':<36}{records:>9}{read:>9.2f}"
        f"{records / read:>11,.0f}{'1/' + format(read / floor, '.1f'):>9}",
        f"{'':<11}record calls {max(calls)} for ceil(records/200) = {pages_needed}"
        f"{' (bulk read jobs ' + str(runs[0]['bulk_jobs']) + ')' if runs[0]['bulk_jobs'] else ''}; "
        f"start-up imports {statistics.median(r['imports'] for r in runs):.2f} s; "
        f"import CPU {statistics.median(r['cpu'] for r in runs):.2f} s; "
        f"peak RSS {worst['rss_mb']:.0f} MB; outcomes {runs[0]['counts']}",
    ], ours_started, read_started


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--size", type=int, default=10_000, help="Accounts (10000 or 100000)")
    parser.add_argument("--backends", default="sqlite,postgres")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--profile", help="cProfile the first import into this file (.prof)")
    parser.add_argument("--bulk-above", type=int, default=None,
                        help="read modules of more records than this through bulk read (the "
                             "setting ALIX_ZOHO_BULK_READ_ABOVE, 10000 in `alix sync`); "
                             "default: pages only")
    parser.add_argument("--airbyte", action="store_true",
                        help="compare with Airbyte's source-zoho-crm read (bench/_airbyte.py)")
    parser.add_argument("--child", nargs=4, metavar=("URL", "EMULATOR", "ORG", "CONNECTION"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.bulk_above is not None:
        os.environ["ALIX_BENCH_BULK_ABOVE"] = str(args.bulk_above)  # the children read it
    if args.child:
        url, emulator, org, connection = args.child
        print(json.dumps(import_once(url, emulator, int(org), int(connection), args.profile)))
        return
    started = time.perf_counter()
    with emulator_process(args.size) as emulator, tempfile.TemporaryDirectory() as tmp:
        pages = raw_pages(emulator)
        want = expected(pages)
        print(f"emulator: {args.size} Accounts seeded and read in "
              f"{time.perf_counter() - started:.0f} s; records {want.records}; "
              f"median of {args.repeat}")
        print(f"{'database':<11}{'path':<36}{'records':>9}{'seconds':>9}{'records/s':>11}"
              f"{'of floor':>9}")
        timed: dict[str, tuple[float, float]] = {}
        for backend in args.backends.split(","):
            lines, ours, read = bench_backend(backend, emulator, pages, want, args.repeat,
                                              args.profile, Path(tmp))
            timed[backend] = (ours, read)
            for line in lines:
                print(line, flush=True)
        if args.airbyte:
            backend = "sqlite" if "sqlite" in timed else next(iter(timed))
            for line in _airbyte.compare(emulator, Path(tmp), backend, *timed[backend],
                                         want.records, args.repeat):
                print(line, flush=True)


if __name__ == "__main__":
    main()
