"""Reading and writing customer-master rows with SQLAlchemy Core, always within one organisation."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Integer,
    Row,
    Select,
    String,
    Table,
    and_,
    bindparam,
    column,
    delete,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session
from sqlalchemy.sql import table as table_clause

from alix.customers.domain import Address, ContactPerson, Customer, normalize_name
from alix.customers.fields import Entity, names_of
from alix.customers.tables import addresses, contact_persons, customers
from alix.db import driver
from alix.db.base import driver_timestamp
from alix.errors import Conflict, NotFound, ValidationFailed

TABLES: dict[Entity, Table] = {
    Entity.CUSTOMER: customers,
    Entity.CONTACT: contact_persons,
    Entity.ADDRESS: addresses,
}
_NOUNS = {Entity.CUSTOMER: "customer", Entity.CONTACT: "contact person", Entity.ADDRESS: "address"}


def _columns(table: Table) -> list[Any]:
    return [c for c in table.c if c.name != "name_key"]


def _customer(row: Row[Any]) -> Customer:
    return Customer(**row._asdict())


def _contact(row: Row[Any]) -> ContactPerson:
    return ContactPerson(**row._asdict())


def _address(row: Row[Any]) -> Address:
    return Address(**row._asdict())


_MODELS: dict[Entity, Callable[[Row[Any]], Any]] = {
    Entity.CUSTOMER: _customer,
    Entity.CONTACT: _contact,
    Entity.ADDRESS: _address,
}

# SQLite (WAL) refuses to let a transaction write once another one committed after it read:
# SQLITE_BUSY_SNAPSHOT (https://sqlite.org/rescode.html#busy_snapshot); SQLITE_BUSY is the same
# contention after the busy timeout. Both mean "someone else was writing at the same moment".
_SQLITE_BUSY = {5, 517}


@contextmanager
def _writing(entity: Entity) -> Iterator[None]:
    """Translate the database's refusals of a concurrent write into the ALIX error tree."""
    try:
        yield
    except OperationalError as exc:
        if getattr(exc.orig, "sqlite_errorcode", None) not in _SQLITE_BUSY:
            raise
        raise Conflict(
            f"Another change to this {_NOUNS[entity]} was being saved at the same moment; "
            "reload it and try again."
        ) from exc
    except IntegrityError as exc:
        if "uq_addresses_one_main_per_kind" not in str(exc.orig) and (
            "addresses.customer_id, addresses.kind" not in str(exc.orig)
        ):
            raise
        raise ValidationFailed({"is_main": (
            "Another main address of this type was saved at the same moment; "
            "reload and try again."
        )}) from exc


def _one(session: Session, entity: Entity, org_id: int, row_id: int, for_update: bool) -> Row[Any]:
    table = TABLES[entity]
    stmt = select(*_columns(table)).where(table.c.id == row_id, table.c.organisation_id == org_id)
    if for_update:
        stmt = stmt.with_for_update()
    row = session.execute(stmt).first()
    if row is None:
        raise NotFound(f"No {_NOUNS[entity]} {row_id} in this organisation.")
    return row


def get_customer(
    session: Session, org_id: int, customer_id: int, *, for_update: bool = False
) -> Customer:
    """The customer, or NotFound when it does not exist in this organisation."""
    return _customer(_one(session, Entity.CUSTOMER, org_id, customer_id, for_update))


def get_contact(
    session: Session, org_id: int, contact_id: int, *, for_update: bool = False
) -> ContactPerson:
    """The contact person, or NotFound when it does not exist in this organisation."""
    return _contact(_one(session, Entity.CONTACT, org_id, contact_id, for_update))


def get_address(
    session: Session, org_id: int, address_id: int, *, for_update: bool = False
) -> Address:
    """The address, or NotFound when it does not exist in this organisation."""
    return _address(_one(session, Entity.ADDRESS, org_id, address_id, for_update))


def child_of(session: Session, entity: Entity, org_id: int, customer_id: int, row_id: int
             ) -> Any:
    """The contact person or address row_id of the customer; NotFound when it is another's
    (URLs nest rows under their customer, and a row of another customer is not there)."""
    row = _MODELS[entity](_one(session, entity, org_id, row_id, False))
    if row.customer_id != customer_id:
        raise NotFound(f"Customer {customer_id} has no {_NOUNS[entity]} {row_id}.")
    return row


def contacts_of(session: Session, org_id: int, customer_id: int) -> list[ContactPerson]:
    """The customer's contact persons, primary first, then by name."""
    t = contact_persons
    rows = session.execute(
        select(*_columns(t))
        .where(t.c.organisation_id == org_id, t.c.customer_id == customer_id)
        .order_by(t.c.is_primary.desc(), t.c.last_name, t.c.first_name, t.c.id)
    )
    return [_contact(r) for r in rows]


def addresses_of(session: Session, org_id: int, customer_id: int) -> list[Address]:
    """The customer's addresses: billing then shipping, the main one of each kind first."""
    t = addresses
    rows = session.execute(
        select(*_columns(t))
        .where(t.c.organisation_id == org_id, t.c.customer_id == customer_id)
        .order_by(t.c.kind, t.c.is_main.desc(), t.c.id)
    )
    return [_address(r) for r in rows]


def insert_rows(session: Session, entity: Entity, rows: Sequence[Mapping[str, Any]]) -> list[int]:
    """Insert rows with one executemany; their new ids, in the order of rows.

    Ids are never reused: the sync pairs records by id, so a deleted record's id must never
    name a new one. PostgreSQL: insertmanyvalues with RETURNING sorted by parameter order
    (batched), ids from the table's sequence. SQLite cannot guarantee the order of a multi-row
    RETURNING, so SQLAlchemy would fall back to one INSERT per row; there the ids are given
    explicitly instead, after the table's AUTOINCREMENT sequence (sqlite_sequence: the largest
    id the table ever held, deleted rows included), as SQLite's own choice would be. SQLite
    moves the sequence up to the explicit ids itself, in the same transaction. This is safe
    inside the write transaction: alix.db.engine begins SQLite transactions IMMEDIATE, so no
    other writer can insert between the read and the insert (and a deferred transaction whose
    snapshot went stale would be refused the write, never given duplicate ids).
    """
    if not rows:
        return []
    table = TABLES[entity]
    with _writing(entity):
        if session.connection().dialect.name != "sqlite":
            stmt = insert(table).returning(table.c.id, sort_by_parameter_order=True)
            return list(session.scalars(stmt, list(rows)).all())
        last = session.execute(_sqlite_last_id(table)).scalar_one()
        ids = list(range(last + 1, last + 1 + len(rows)))
        session.execute(insert(table), [{**row, "id": i} for row, i in zip(rows, ids, strict=True)])
        return ids


def insert_tuples(
    session: Session, entity: Entity, columns: Sequence[str], rows: Sequence[Sequence[Any]]
) -> list[int]:
    """Insert rows given as tuples of `columns` with one DB-API executemany; their new ids.

    For pages written in bulk (the sync's import): no dict per row and no per-value type
    processing, so values must be what the driver takes as is: text, numbers, booleans, and
    timestamps as `db_timestamp` formats them. Ids are allocated first and given explicitly
    (SQLite: after the AUTOINCREMENT sequence, as insert_rows; PostgreSQL: from the table's
    sequence in one query), so they are never reused and come back in the order of rows.
    """
    if not rows:
        return []
    table = TABLES[entity]
    with _writing(entity):
        if driver.is_sqlite(session):
            [(last,)] = driver.rows(session, _SQLITE_LAST_ID[entity], (table.name,))
            ids = list(range(last + 1, last + 1 + len(rows)))
        else:
            sequence = func.pg_get_serial_sequence(table.name, "id")
            ids = list(session.scalars(select(func.nextval(sequence)).select_from(
                func.generate_series(1, len(rows)))))
        driver.execute_many(
            session, f"INSERT INTO {table.name} (id, {', '.join(columns)}) "
                     f"VALUES ({', '.join(['?'] * (len(columns) + 1))})",
            [(i, *row) for i, row in zip(ids, rows, strict=True)])
    return ids


def db_timestamp(session: Session, moment: datetime) -> Any:
    """An aware UTC datetime as insert_tuples writes it: the text SQLAlchemy stores on SQLite
    (UtcDateTime drops the offset there), the datetime itself for PostgreSQL's driver.
    Format it once per page, not once per row."""
    return driver_timestamp(moment, sqlite=session.connection().dialect.name == "sqlite")


# SQLite's own table of AUTOINCREMENT counters, one row per table (https://sqlite.org/autoinc.html).
_SQLITE_SEQUENCE = table_clause("sqlite_sequence", column("name", String), column("seq", Integer))


def _sqlite_last_id(target: Table) -> Select[int]:
    """The largest id target ever held: its sequence, or the largest id present, whichever is
    larger (the sequence has no row before the first insert, and a hand-lowered one must not
    hand out ids of rows still there)."""
    seq = _SQLITE_SEQUENCE.c
    sequence = select(seq.seq).where(seq.name == target.name).scalar_subquery()
    present = select(func.max(target.c.id)).scalar_subquery()
    return select(func.max(func.coalesce(sequence, 0), func.coalesce(present, 0)))


# _sqlite_last_id as the driver's text (insert_tuples runs it for every page of the import).
_SQLITE_LAST_ID = {
    entity: "SELECT max(coalesce((SELECT seq FROM sqlite_sequence WHERE name = ?), 0), "
            f"coalesce((SELECT max(id) FROM {table.name}), 0))"
    for entity, table in TABLES.items()
}


def update_row(
    session: Session, entity: Entity, org_id: int, row_id: int, version: int,
    values: Mapping[str, Any],
) -> bool:
    """Write values if the row is still at version; False when someone changed it first."""
    table = TABLES[entity]
    with _writing(entity):
        result = session.execute(
            update(table)
            .where(table.c.id == row_id, table.c.organisation_id == org_id,
                   table.c.version == version)
            .values(**values)
        )
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]


def update_rows(
    session: Session, entity: Entity, org_id: int, rows: Sequence[Mapping[str, Any]]
) -> None:
    """Write many rows with one executemany, in the order given, each only if still at version.

    Every row carries `id`, `expected_version` and the same other columns. Conflict when any
    row was changed meanwhile: the caller's transaction must then roll back as a whole.
    """
    if not rows:
        return
    table = TABLES[entity]
    columns = [name for name in rows[0] if name not in ("id", "expected_version")]
    stmt = (
        update(table)
        .where(table.c.id == bindparam("row_id"), table.c.organisation_id == org_id,
               table.c.version == bindparam("expected_version"))
        .values({name: bindparam(f"new_{name}") for name in columns})
    )
    params = [
        {"row_id": row["id"], "expected_version": row["expected_version"],
         **{f"new_{name}": row[name] for name in columns}}
        for row in rows
    ]
    with _writing(entity):
        written = session.execute(stmt, params).rowcount  # type: ignore[attr-defined]
    if written != len(rows):
        raise Conflict(
            f"{len(rows) - written} of {len(rows)} {_NOUNS[entity]} rows were changed by "
            "someone else meanwhile; nothing of this page was saved."
        )


def delete_row(session: Session, entity: Entity, org_id: int, row_id: int) -> None:
    """Delete the row (its children cascade); nothing happens when it is already gone."""
    table = TABLES[entity]
    with _writing(entity):
        session.execute(
            delete(table).where(table.c.id == row_id, table.c.organisation_id == org_id)
        )


def by_ids(
    session: Session, entity: Entity, org_id: int, ids: Sequence[int], *,
    for_update: bool = False,
) -> list[Any]:
    """The rows of entity with the ids given, by id, in one query; unknown ids are left out."""
    table = TABLES[entity]
    # The organisation is checked here, not in the WHERE (as existing_ids): with
    # `organisation_id = ?` there, SQLite walks the (organisation_id, name_key, id) index, every
    # row of the organisation, and sorts them, instead of a key lookup per id.
    stmt = select(*_columns(table)).where(table.c.id.in_(sorted(set(ids)))).order_by(table.c.id)
    if for_update:
        stmt = stmt.with_for_update()
    return [_MODELS[entity](r) for r in session.execute(stmt) if r.organisation_id == org_id]


@dataclass(frozen=True, slots=True)
class StoredValues:
    """A row's catalog values with what a sync reads beside them: its customer (a customer's
    own id) and version. Lighter than the model: no timestamps, no model built per row."""

    id: int
    customer_id: int
    version: int
    values: dict[str, Any]


def values_by_ids(session: Session, entity: Entity, org_id: int, ids: Sequence[int]
                  ) -> list[StoredValues]:
    """The catalog values of entity's rows with the ids given, in one query, unknown ids left
    out; the push reads a page's rows this way (the models' timestamps and construction were
    a tenth of its time, and the Core statement over the driver's text half of what is left:
    1.9 -> 0.6 ms for 100 customers)."""
    if not ids:
        return []
    names = names_of(entity)
    sql, converters = _values_sql(entity, session.get_bind().dialect)
    among, listed = driver.among(session, sorted(set(ids)))
    found = []
    # Found by key, the organisation checked here: see by_ids.
    for row in driver.rows(session, sql.format(among=among), (listed,)):
        if row[1] != org_id:
            continue
        values = dict(zip(names, row[4:], strict=True))
        for name, convert in converters:
            values[name] = convert(values[name])
        found.append(StoredValues(row[0], row[2], row[3], values))
    return found


_ValuesSql = tuple[str, tuple[tuple[str, Callable[[Any], Any]], ...]]
_VALUES_SQL: dict[tuple[Entity, str], _ValuesSql] = {}


def _values_sql(entity: Entity, dialect: Dialect) -> _ValuesSql:
    """values_by_ids' statement, and the columns whose driver values need the conversion
    their type does for a Core query (SQLite's 0/1 for a boolean); once per database kind."""
    key = (entity, dialect.name)
    if key not in _VALUES_SQL:
        _VALUES_SQL[key] = _new_values_sql(entity, dialect)
    return _VALUES_SQL[key]


def _new_values_sql(entity: Entity, dialect: Dialect) -> _ValuesSql:
    table = TABLES[entity]
    names = names_of(entity)
    owner = "id" if entity is Entity.CUSTOMER else "customer_id"
    converters = []
    for name in names:
        column_type = table.c[name].type.dialect_impl(dialect)
        convert = column_type.result_processor(dialect, None)
        if convert is not None:
            converters.append((name, convert))
    sql = (f"SELECT id, organisation_id, {owner}, version, {', '.join(names)} "
           f"FROM {table.name} WHERE id {{among}}")
    return sql, tuple(converters)


def existing_ids(session: Session, entity: Entity, org_id: int, ids: Sequence[int]) -> set[int]:
    """Which of the ids name a row of the organisation; one query reading ids only."""
    table = TABLES[entity]
    listed, parameter = driver.among(session, sorted(set(ids)))
    # The organisation is checked here, not in the WHERE: with `organisation_id = ?` there,
    # SQLite answers `SELECT id` from the covering (organisation_id, name_key, id) index,
    # walking every customer of the organisation for each call (a page of the initial import
    # then costs as much as the customers imported so far) instead of a key lookup per id.
    rows = driver.rows(session, f"SELECT id, organisation_id FROM {table.name} "
                                   f"WHERE id {listed}", (parameter,))
    return {row_id for row_id, org in rows if org == org_id}


def customers_by_ids(session: Session, org_id: int, ids: Sequence[int]) -> list[Customer]:
    """The customers with these ids, by id, in one query; unknown ids are left out."""
    return by_ids(session, Entity.CUSTOMER, org_id, ids)


def contacts_by_ids(session: Session, org_id: int, ids: Sequence[int]) -> list[ContactPerson]:
    """The contact persons with these ids, by id, in one query; unknown ids are left out."""
    return by_ids(session, Entity.CONTACT, org_id, ids)


def addresses_by_ids(session: Session, org_id: int, ids: Sequence[int]) -> list[Address]:
    """The addresses with these ids, by id, in one query; unknown ids are left out."""
    return by_ids(session, Entity.ADDRESS, org_id, ids)


def customers_by_names(
    session: Session, org_id: int, names: Sequence[str]
) -> dict[str, list[Customer]]:
    """Customers per normalized name, for every name given, in one query (by id within a name).

    The sync links an unlinked record to the one customer of the same name, and reports
    several as ambiguous; a name nobody has maps to an empty list.
    """
    keys = sorted({normalize_name(n) for n in names})
    found: dict[str, list[Customer]] = {k: [] for k in keys}
    if not keys:
        return found
    c = customers
    rows = session.execute(
        select(c.c.name_key, *_columns(c))
        .where(c.c.organisation_id == org_id, c.c.name_key.in_(keys))
        .order_by(c.c.name_key, c.c.id)
    )
    for row in rows:
        values = row._asdict()
        found[values.pop("name_key")].append(Customer(**values))
    return found


def flagged_of(
    session: Session, entity: Entity, org_id: int, customer_ids: Sequence[int]
) -> list[Any]:
    """The primary contacts or main addresses of the customers given, in one query."""
    table = TABLES[entity]
    flag = table.c.is_primary if entity is Entity.CONTACT else table.c.is_main
    rows = session.execute(
        select(*_columns(table))
        .where(table.c.organisation_id == org_id, flag.is_(True),
               table.c.customer_id.in_(sorted(set(customer_ids))))
        .order_by(table.c.id)
    )
    return [_MODELS[entity](r) for r in rows]


def flag_holders(
    session: Session, entity: Entity, org_id: int, customer_ids: Sequence[int]
) -> list[tuple[int, int, str]]:
    """(id, customer id, kind) of the primary contacts or main addresses of the customers
    given, in one query: what the flag rule groups holders by, without their rows (a page of
    new addresses otherwise built two stored rows per customer only to read three values).
    Through the driver (alix.db.driver): every page of new contacts or addresses asks."""
    table = TABLES[entity]
    flag = "is_primary" if entity is Entity.CONTACT else "is_main"
    kind = "kind" if entity is Entity.ADDRESS else "''"
    listed, parameter = driver.among(session, sorted(set(customer_ids)))
    rows = driver.rows(
        session, f"SELECT id, customer_id, {kind} FROM {table.name} WHERE organisation_id = ? "
                 f"AND {flag} AND customer_id {listed} ORDER BY id",
        (org_id, parameter))
    return [(row_id, customer_id, str(kind or "")) for row_id, customer_id, kind in rows]


@dataclass(frozen=True, slots=True)
class CustomerQuery:
    """A page of the customer list: search text, active filter, where the last page ended."""

    search: str = ""
    active: bool | None = None
    after: str | None = None
    limit: int = 50
    # SQL conditions on `customers` other features' list filters add (customers.list_columns).
    where: tuple[Any, ...] = ()


@dataclass(frozen=True, slots=True)
class CustomerPage:
    """One page of the customer list; next_cursor is None on the last page."""

    items: list[Customer]
    next_cursor: str | None


def _encode_cursor(customer: Customer) -> str:
    raw = json.dumps([normalize_name(customer.name), customer.id]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[str, int]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        key, row_id = json.loads(base64.urlsafe_b64decode(padded))
        if isinstance(key, str) and isinstance(row_id, int):
            return key, row_id
    except (ValueError, TypeError, binascii.Error):
        pass
    raise ValidationFailed({"cursor": "This cursor is not one ALIX gave out; start again."})


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def list_customers(session: Session, org_id: int, query: CustomerQuery) -> CustomerPage:
    """Customers by name then id; the cursor is the last (name, id) seen, so pages are stable
    while rows are added or removed elsewhere in the list."""
    c = customers
    stmt = select(*_columns(c)).where(c.c.organisation_id == org_id)
    if query.active is not None:
        stmt = stmt.where(c.c.is_active.is_(query.active))
    stmt = stmt.where(*query.where)
    text = query.search.strip()
    if text:
        pattern = f"%{_escape_like(normalize_name(text))}%"
        stmt = stmt.where(
            or_(
                c.c.name_key.like(pattern, escape="\\"),
                func.lower(c.c.email).like(f"%{_escape_like(text.lower())}%", escape="\\"),
            )
        )
    if query.after:
        key, row_id = _decode_cursor(query.after)
        stmt = stmt.where(or_(c.c.name_key > key, and_(c.c.name_key == key, c.c.id > row_id)))
    limit = max(1, min(query.limit, 200))
    rows = session.execute(stmt.order_by(c.c.name_key, c.c.id).limit(limit + 1)).all()
    items = [_customer(r) for r in rows[:limit]]
    next_cursor = _encode_cursor(items[-1]) if len(rows) > limit else None
    return CustomerPage(items, next_cursor)


def counts_of(session: Session, org_id: int, customer_ids: Sequence[int]) -> dict[int, int]:
    """Contact persons per customer, for the customers given."""
    t = contact_persons
    rows = session.execute(
        select(t.c.customer_id, func.count())
        .where(t.c.organisation_id == org_id, t.c.customer_id.in_(list(customer_ids)))
        .group_by(t.c.customer_id)
    )
    return {row_id: int(count) for row_id, count in rows}
