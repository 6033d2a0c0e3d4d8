"""Membership tests for a page of ids, written the way each database handles best."""

from __future__ import annotations

import json
from collections.abc import Collection
from typing import Any

from sqlalchemy import ARRAY, ColumnElement, String, any_, bindparam, func, literal_column, select
from sqlalchemy.orm import Session


def among(session: Session, column: ColumnElement[Any], values: Collection[Any]
          ) -> ColumnElement[bool]:
    """`column IN values` with the values as one expanding parameter (not coerced one by one
    into the statement); on PostgreSQL `column = ANY(array)`, one parameter: a page's 200 to
    400 ids otherwise make a statement too long for psycopg's cache of parsed queries, parsed
    again on every page. On SQLite, `column IN (SELECT value FROM json_each(?))`, one JSON
    parameter: an expanding one is rendered into the statement on every execution (a third of
    a millisecond for 200 ids), where this statement is compiled once and SQLite still looks
    each value up in the column's index."""
    if session.get_bind().dialect.name == "postgresql":
        return column == any_(bindparam(None, list(values), type_=ARRAY(column.type)))
    # json_each yields JSON numbers as integers, which a TEXT column never equals (an
    # expanding parameter took the column's affinity): ids for a text column go as text.
    items = [str(v) for v in values] if isinstance(column.type, String) else list(values)
    listed = bindparam(None, json.dumps(items), type_=String)
    return column.in_(select(literal_column("value")).select_from(func.json_each(listed)))
