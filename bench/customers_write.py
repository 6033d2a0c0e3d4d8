"""Bench: customers with contacts and addresses written through the service vs raw Core.

Run `.venv/bin/python bench/customers_write.py [--customers N]`. On SQLite (a temp file) and
PostgreSQL (a schema of its own, dropped after), it writes N customers with 2 contacts and 2
addresses each, in pages of 500 like the sync does, through `service.create_customers`
(validation, ISO codes, outbox rows), then the same rows with plain SQLAlchemy Core
executemany, and prints records/s and the ratio between the two.

Then it updates every one of those records (two fields each), in pages of 500 per table: with
plain Core executemany by id, and through the sync's bulk path `bulk.update_*` (one read of
the page, validation, diff, version check, outbox rows) acting as the sync's user.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import bindparam, create_engine, delete, func, insert, select, text, update

from alix.customers import bulk, service
from alix.customers.bulk import RecordUpdate
from alix.customers.domain import Actor, NewCustomer, Origin, normalize_name
from alix.customers.fields import Entity
from alix.customers.tables import addresses, contact_persons, customer_outbox, customers
from alix.db import migrate
from alix.db.engine import make_engine
from alix.db.session import make_session_factory, unit_of_work
from alix.identity.service import create_organisation, create_user
from alix.identity.tables import Role

POSTGRES = os.environ.get("ALIX_BENCH_POSTGRES_URL",
                          "postgresql+psycopg://postgres@127.0.0.1:5432/test")
PAGE = 500


def dataset(count: int) -> list[NewCustomer]:
    return [
        NewCustomer(
            {"name": f"Customer {i:06d} Ltd", "currency": "CAD", "email": f"c{i}@example.com",
             "phone": "+1 514 555 0100", "website": f"https://c{i}.example.com"},
            contacts=[
                {"first_name": "Ada", "last_name": f"Lovelace {i}", "email": f"ada{i}@x.com",
                 "is_primary": True},
                {"first_name": "Charles", "last_name": f"Babbage {i}", "phone": "514 555 0101"},
            ],
            addresses=[
                {"kind": "billing", "is_main": True, "street": f"{i} Rue Principale",
                 "city": "Montréal", "province": "QC", "postal_code": "H2X 1Y4",
                 "country": "CA"},
                {"kind": "shipping", "is_main": True, "street": f"{i} Main Street",
                 "city": "Toronto", "province": "ON", "postal_code": "M5V 2T6",
                 "country": "CA"},
            ],
        )
        for i in range(count)
    ]


def _pages(batch: list[NewCustomer]) -> Iterator[list[NewCustomer]]:
    for start in range(0, len(batch), PAGE):
        yield batch[start:start + PAGE]


def through_service(url: str, actor: Actor, batch: list[NewCustomer]) -> float:
    engine = make_engine(url)
    factory = make_session_factory(engine)
    started = time.perf_counter()
    for page in _pages(batch):
        with unit_of_work(factory) as session:
            service.create_customers(session, actor, page)
    elapsed = time.perf_counter() - started
    engine.dispose()
    return elapsed


def _stamp(values: dict[str, Any], now: datetime, **more: Any) -> dict[str, Any]:
    return {**values, **more, "version": 1, "created_at": now, "updated_at": now}


def through_core(url: str, org_id: int, batch: list[NewCustomer]) -> float:
    """The floor: the same rows, already clean, with three executemany per page, no outbox."""
    engine = make_engine(url)
    now = datetime.now(UTC)
    started = time.perf_counter()
    for page in _pages(batch):
        with engine.begin() as conn:
            rows = [_stamp({**dict(n.values), "notes": None, "is_active": True}, now,
                           organisation_id=org_id, name_key=normalize_name(str(n.values["name"])))
                    for n in page]
            if engine.dialect.name == "sqlite":
                # SQLite would RETURN one row at a time; explicit ids, as the repository does.
                last = conn.execute(select(func.max(customers.c.id))).scalar() or 0
                ids = list(range(last + 1, last + 1 + len(rows)))
                conn.execute(insert(customers),
                             [{**r, "id": i} for r, i in zip(rows, ids, strict=True)])
            else:
                ids = list(conn.execute(
                    insert(customers).returning(customers.c.id, sort_by_parameter_order=True),
                    rows,
                ).scalars().all())
            conn.execute(insert(contact_persons), [
                _stamp({"email": None, "phone": None, "mobile": None, "title": None,
                        "is_primary": False, **c}, now, organisation_id=org_id, customer_id=cid)
                for cid, n in zip(ids, page, strict=True) for c in n.contacts
            ])
            conn.execute(insert(addresses), [
                _stamp({"label": None, **a}, now, organisation_id=org_id, customer_id=cid)
                for cid, n in zip(ids, page, strict=True) for a in n.addresses
            ])
    elapsed = time.perf_counter() - started
    engine.dispose()
    return elapsed


# Two fields per record, with a value per round so that every round really changes every row.
_UPDATES = {
    Entity.CUSTOMER: (customers, lambda i, r: {"phone": f"+1 514 555 {r}{i % 1000:03d}",
                                               "notes": f"Round {r} for {i}"}),
    Entity.CONTACT: (contact_persons, lambda i, r: {"title": f"Buyer {r}",
                                                    "mobile": f"+1 438 555 {r}{i % 1000:03d}"}),
    Entity.ADDRESS: (addresses, lambda i, r: {"postal_code": f"H{r}X {i % 10}Y{i % 7}",
                                              "label": f"Site {r}-{i}"}),
}
_BULK = {Entity.CUSTOMER: bulk.update_customers, Entity.CONTACT: bulk.update_contacts,
         Entity.ADDRESS: bulk.update_addresses}


def _ids(url: str, org_id: int) -> dict[Entity, list[int]]:
    engine = make_engine(url)
    with engine.connect() as conn:
        found = {
            entity: list(conn.execute(
                select(table.c.id).where(table.c.organisation_id == org_id).order_by(table.c.id)
            ).scalars())
            for entity, (table, _values) in _UPDATES.items()
        }
    engine.dispose()
    return found


def _chunks(ids: list[int]) -> Iterator[list[int]]:
    for start in range(0, len(ids), PAGE):
        yield ids[start:start + PAGE]


def updates_through_core(url: str, ids: dict[Entity, list[int]], round_: int) -> float:
    """The floor: an executemany UPDATE ... WHERE id = ? per page, no read, no outbox."""
    engine = make_engine(url)
    started = time.perf_counter()
    for entity, (table, values) in _UPDATES.items():
        names = list(values(0, round_))
        stmt = (update(table).where(table.c.id == bindparam("row_id"))
                .values({n: bindparam(f"new_{n}") for n in names}))
        for page in _chunks(ids[entity]):
            with engine.begin() as conn:
                conn.execute(stmt, [
                    {"row_id": i, **{f"new_{k}": v for k, v in values(i, round_).items()}}
                    for i in page
                ])
    elapsed = time.perf_counter() - started
    engine.dispose()
    return elapsed


def updates_through_bulk(url: str, org_id: int, ids: dict[Entity, list[int]], round_: int
                         ) -> float:
    engine = make_engine(url)
    factory = make_session_factory(engine)
    with unit_of_work(factory) as session:
        actor = service.sync_actor(session, org_id)
    started = time.perf_counter()
    for entity, (_table, values) in _UPDATES.items():
        for page in _chunks(ids[entity]):
            with unit_of_work(factory) as session:
                results = _BULK[entity](session, actor,
                                        [RecordUpdate(i, values(i, round_)) for i in page])
            assert all(r.changed for r in results), "every record of the bench changes"
    elapsed = time.perf_counter() - started
    engine.dispose()
    return elapsed


def _wipe(url: str) -> None:
    engine = make_engine(url)
    with engine.begin() as conn:
        for table in (customer_outbox, addresses, contact_persons, customers):
            conn.execute(delete(table))
    engine.dispose()


def run(label: str, url: str, count: int) -> None:
    migrate.upgrade(url)
    engine = make_engine(url)
    with unit_of_work(make_session_factory(engine)) as session:
        org = create_organisation(session, "Bench Ltd", ["CAD", "USD"])
        user = create_user(session, org, f"bench-{uuid.uuid4().hex[:6]}@example.com",
                           "bench password", role=Role.ADMIN)
        actor = Actor(org.id, user.id, Origin.IMPORT)
    engine.dispose()
    batch = dataset(count)
    records = count * 5
    core = through_core(url, actor.organisation_id, batch)
    _wipe(url)
    served = through_service(url, actor, batch)
    for path, seconds in (("raw Core executemany", core), ("service.create_customers", served)):
        print(f"{label:<11} {path:<28} {records:>8} {seconds:>8.2f} "
              f"{records / seconds:>10,.0f} {seconds / core:>7.2f}x")
    ids = _ids(url, actor.organisation_id)
    core = updates_through_core(url, ids, 1)
    served = updates_through_bulk(url, actor.organisation_id, ids, 2)
    for path, seconds in (("raw Core UPDATE executemany", core), ("bulk.update_*", served)):
        print(f"{label:<11} {path:<28} {records:>8} {seconds:>8.2f} "
              f"{records / seconds:>10,.0f} {seconds / core:>7.2f}x")


@contextmanager
def postgres_schema() -> Iterator[str]:
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=10_000)
    count = parser.parse_args().customers
    print(f"{count} customers x (1 + 2 contacts + 2 addresses) = {count * 5} records, "
          f"created then updated, pages of {PAGE}; ratio = time / raw Core time")
    print(f"{'database':<11} {'path':<28} {'records':>8} {'seconds':>8} {'records/s':>10} "
          f"{'ratio':>8}")
    with tempfile.TemporaryDirectory() as tmp:
        run("SQLite", f"sqlite:///{Path(tmp) / 'bench.db'}", count)
    with postgres_schema() as url:
        run("PostgreSQL", url, count)


if __name__ == "__main__":
    main()
