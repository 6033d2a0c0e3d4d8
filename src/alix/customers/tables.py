"""The tables of the customer master and its outbox (SQLAlchemy Core, on the shared metadata)."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    text,
)

from alix.db.base import Id, UtcDateTime, metadata


def _org() -> Column[int]:
    return Column(
        "organisation_id", Id, ForeignKey("organisations.id", ondelete="CASCADE"), nullable=False
    )


def _customer() -> Column[int]:
    return Column(
        "customer_id", Id, ForeignKey("customers.id", ondelete="CASCADE"), nullable=False,
        index=True,
    )


def _stamps() -> list[Column[object]]:
    return [
        Column("version", Integer, nullable=False),
        Column("created_at", UtcDateTime, nullable=False),
        Column("updated_at", UtcDateTime, nullable=False),
    ]


# sqlite_autoincrement on the customers, contact persons and addresses: the sync pairs records
# by id, so a deleted record's id must never name a new one. SQLite reuses the largest id + 1
# unless the table is AUTOINCREMENT (https://sqlite.org/autoinc.html); PostgreSQL's sequences
# never go back. Migration 0008 rebuilt the SQLite tables so; repository.insert_rows, which
# gives ids itself, takes them from the same sequence.
customers = Table(
    "customers",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    _org(),
    Column("name", String(200), nullable=False),
    # normalize_name(name): the sync links customers by name, the list sorts by it.
    Column("name_key", String(200), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("website", String(255)),
    Column("phone", String(50)),
    Column("email", String(254)),
    Column("notes", Text),
    Column("is_active", Boolean, nullable=False),
    *_stamps(),
    Index("ix_customers_org_name_key", "organisation_id", "name_key", "id"),
    sqlite_autoincrement=True,
)

contact_persons = Table(
    "contact_persons",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    _org(),
    _customer(),
    Column("first_name", String(100)),
    Column("last_name", String(100), nullable=False),
    Column("email", String(254)),
    Column("phone", String(50)),
    Column("mobile", String(50)),
    Column("title", String(100)),
    Column("is_primary", Boolean, nullable=False),
    *_stamps(),
    sqlite_autoincrement=True,
)

addresses = Table(
    "addresses",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    _org(),
    _customer(),
    Column("kind", String(10), nullable=False),
    Column("is_main", Boolean, nullable=False),
    Column("label", String(100)),
    Column("street", String(250)),
    Column("city", String(100)),
    Column("province", String(100)),
    Column("postal_code", String(30)),
    Column("country", String(100)),
    *_stamps(),
    CheckConstraint("kind IN ('billing', 'shipping')", name="kind"),
    # At most one main address of each kind per customer, whoever writes the row.
    Index(
        "uq_addresses_one_main_per_kind",
        "customer_id",
        "kind",
        unique=True,
        sqlite_where=text("is_main"),
        postgresql_where=text("is_main"),
    ),
    sqlite_autoincrement=True,
)

# No foreign key to the customer: the row of a deletion must outlive what it describes.
customer_outbox = Table(
    "customer_outbox",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    _org(),
    Column("entity", String(20), nullable=False),
    Column("entity_id", Id, nullable=False),
    Column("customer_id", Id, nullable=False),
    Column("operation", String(10), nullable=False),
    Column("changes", JSON, nullable=False),
    Column("version", Integer, nullable=False),
    Column("origin", String(20), nullable=False),
    Column("actor_id", Id, ForeignKey("users.id", ondelete="SET NULL")),
    Column("created_at", UtcDateTime, nullable=False),
    Column("status", String(10), nullable=False),
    Column("processed_at", UtcDateTime),
    # The push's failed attempts: how many, the last error, and when to try again.
    Column("attempts", Integer, nullable=False, server_default=text("0")),
    Column("last_error", Text),
    Column("retry_at", UtcDateTime),
    Index("ix_customer_outbox_pending", "organisation_id", "status", "id"),
    Index("ix_customer_outbox_entity", "entity", "entity_id"),
    # The push coalesces pending rows per record: only pending rows, grouped by record.
    Index(
        "ix_customer_outbox_pending_records",
        "organisation_id",
        "entity",
        "entity_id",
        "id",
        sqlite_where=text("status = 'pending'"),
        postgresql_where=text("status = 'pending'"),
    ),
)
