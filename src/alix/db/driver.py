"""Statements a page of the sync sends every time, written as the driver's own SQL text.

Building a Core statement, its cache key and its execution context costs about 0.4 ms per
call on this project's 2-core machine, more than SQLite takes to answer a lookup of 200 ids;
the initial import runs some 15 such statements per page of 200 records. Here the text is
written once, with `?` marks turned into `%s` for psycopg, and sent through
`Connection.exec_driver_sql`: still on the session's connection and transaction, and still
seen by SQLAlchemy's events (the tests that count statements or read query plans see them).

Values go to the driver as they are: what a column type would convert (JSON, timestamps)
is the caller's, with `json_value` and `stored_timestamp` for reading them back.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Sequence
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

import orjson
from sqlalchemy.orm import Session

from alix.db.base import driver_timestamp


def is_sqlite(session: Session) -> bool:
    """Whether the session's connection is SQLite's (the only other database is PostgreSQL)."""
    return session.get_bind().dialect.name == "sqlite"


@lru_cache(maxsize=256)
def _for_psycopg(text: str) -> str:
    # No statement of ours has a `?` or a `%` in a literal: every `?` is a parameter.
    return text.replace("?", "%s")


def _sent(session: Session, text: str, parameters: Any) -> Any:
    connection = session.connection()
    sql = text if connection.dialect.name == "sqlite" else _for_psycopg(text)
    return connection.exec_driver_sql(sql, parameters)


def rows(session: Session, text: str, parameters: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
    """The rows `text` (parameters marked `?`) selects, as tuples."""
    return [tuple(row) for row in _sent(session, text, tuple(parameters))]


def execute(session: Session, text: str, parameters: Sequence[Any] = ()) -> int:
    """Run `text` (parameters marked `?`) with one tuple of parameters; the rows it changed."""
    return int(_sent(session, text, tuple(parameters)).rowcount)


def execute_many(session: Session, text: str, rows: Sequence[Sequence[Any]]) -> int:
    """Run `text` (parameters marked `?`) once per row, as one DB-API executemany; the rows
    it changed."""
    if not rows:
        return 0
    return int(_sent(session, text, list(rows)).rowcount)


def among(session: Session, values: Collection[Any], *, text: bool = False) -> tuple[str, Any]:
    """The SQL after a column for `column IN values`, and its one parameter.

    On SQLite `IN (SELECT value FROM json_each(?))`: one JSON text, so the statement is the
    same whatever the number of values (an expanding IN is written out again on every call),
    and SQLite still looks each value up in the column's index. json_each yields JSON numbers
    as integers, which a TEXT column never equals: with `text`, the values go as strings. On
    PostgreSQL `= ANY(?)` with one array, for the same reason (psycopg's cache of prepared
    statements keys on the text).
    """
    if is_sqlite(session):
        items = [str(v) for v in values] if text else list(values)
        return "IN (SELECT value FROM json_each(?))", json.dumps(items)
    return "= ANY(?)", [str(v) for v in values] if text else list(values)


def json_value(stored: Any) -> Any:
    """A JSON column's value as read through the driver: SQLite hands the text, psycopg the
    decoded value."""
    return orjson.loads(stored) if isinstance(stored, str | bytes) else stored


def json_text(value: Any) -> str:
    """A value for a JSON column, written through the driver (both take the text).

    orjson writes a callback's 100 small dicts of affected values in a tenth of json's time.
    What it refuses (an integer beyond 64 bits, a key that is not a string) goes to json, as
    the ORM's JSON type would write it."""
    try:
        return orjson.dumps(value).decode()
    except TypeError:  # orjson.JSONEncodeError is one
        return json.dumps(value)


def timestamps(session: Session) -> Callable[[datetime | None], Any]:
    """base.driver_timestamp for this session's database, each distinct moment formatted once:
    a page's records share a few Modified_Times, and its rows one `now`."""
    sqlite = is_sqlite(session)
    formatted: dict[datetime | None, Any] = {}

    def stamp(moment: datetime | None) -> Any:
        found = formatted.get(moment, formatted)
        if found is formatted:
            found = formatted[moment] = driver_timestamp(moment, sqlite=sqlite)
        return found

    return stamp


def stored_timestamp(stored: Any) -> datetime | None:
    """A UtcDateTime column as read through the driver: SQLite hands the text SQLAlchemy wrote
    (UTC, offset dropped; base.driver_timestamp), psycopg an aware datetime."""
    if stored is None:
        return None
    moment = datetime.fromisoformat(stored) if isinstance(stored, str) else stored
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
