"""The declarative base every ALIX table hangs off, with stable constraint names."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, DateTime, Integer, MetaData, TypeDecorator
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase

from alix.clock import as_utc

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING_CONVENTION)

# 64-bit ids on PostgreSQL; SQLite only autoincrements a column declared INTEGER.
Id = BigInteger().with_variant(Integer(), "sqlite")
# The largest id either database stores (signed 64-bit); the web refuses larger ones with 422.
MAX_ID = 2**63 - 1


class UtcDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on every backend (SQLite drops the offset)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"Naive datetime {value!r} refused: store aware UTC (alix.clock).")
        return as_utc(value)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else as_utc(value)


def driver_timestamp(moment: datetime | None, *, sqlite: bool) -> Any:
    """An aware datetime as UtcDateTime hands it to the driver, for writes that pass tuples to
    the driver themselves (executemany of a page): on SQLite the text SQLAlchemy stores there
    ("%Y-%m-%d %H:%M:%S.%f", offset dropped; isoformat is 3x cheaper than strftime), the
    datetime itself for PostgreSQL's driver."""
    if moment is None or not sqlite:
        return moment
    return as_utc(moment).replace(tzinfo=None).isoformat(" ", "microseconds")


class Base(DeclarativeBase):
    """Declarative base of ALIX's ORM models."""

    metadata = metadata
