"""Reading and writing customer-master rows with SQLAlchemy Core, always within one organisation."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Row, Table, and_, delete, func, insert, or_, select, update
from sqlalchemy.orm import Session

from alix.customers.fields import Entity
from alix.customers.model import Address, ContactPerson, Customer, normalize_name
from alix.customers.tables import addresses, contact_persons, customers
from alix.errors import NotFound, ValidationFailed

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
    return _contact(_one(session, Entity.CONTACT, org_id, contact_id, for_update))


def get_address(
    session: Session, org_id: int, address_id: int, *, for_update: bool = False
) -> Address:
    return _address(_one(session, Entity.ADDRESS, org_id, address_id, for_update))


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
    """Insert rows with one executemany; their new ids, in the order of rows."""
    if not rows:
        return []
    table = TABLES[entity]
    stmt = insert(table).returning(table.c.id, sort_by_parameter_order=True)
    return list(session.scalars(stmt, list(rows)).all())


def update_row(
    session: Session, entity: Entity, org_id: int, row_id: int, version: int,
    values: Mapping[str, Any],
) -> bool:
    """Write values if the row is still at version; False when someone changed it first."""
    table = TABLES[entity]
    result = session.execute(
        update(table)
        .where(table.c.id == row_id, table.c.organisation_id == org_id, table.c.version == version)
        .values(**values)
    )
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]


def delete_row(session: Session, entity: Entity, org_id: int, row_id: int) -> None:
    table = TABLES[entity]
    session.execute(delete(table).where(table.c.id == row_id, table.c.organisation_id == org_id))


def customers_by_ids(session: Session, org_id: int, ids: Sequence[int]) -> list[Customer]:
    rows = session.execute(
        select(*_columns(customers))
        .where(customers.c.organisation_id == org_id, customers.c.id.in_(list(ids)))
        .order_by(customers.c.id)
    )
    return [_customer(r) for r in rows]


def ids_by_name(session: Session, org_id: int, names: Sequence[str]) -> dict[str, list[int]]:
    """Customer ids per normalized name, for the names given, in one query (the sync links)."""
    keys = sorted({normalize_name(n) for n in names})
    found: dict[str, list[int]] = {k: [] for k in keys}
    rows = session.execute(
        select(customers.c.name_key, customers.c.id)
        .where(customers.c.organisation_id == org_id, customers.c.name_key.in_(keys))
        .order_by(customers.c.id)
    )
    for key, row_id in rows:
        found[key].append(row_id)
    return found


@dataclass(frozen=True, slots=True)
class CustomerQuery:
    """A page of the customer list: search text, active filter, where the last page ended."""

    search: str = ""
    active: bool | None = None
    after: str | None = None
    limit: int = 50


@dataclass(frozen=True, slots=True)
class CustomerPage:
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
