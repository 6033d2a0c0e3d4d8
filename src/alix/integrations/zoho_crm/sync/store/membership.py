"""Membership tests for a page of ids, written the way each database handles best."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from sqlalchemy import ARRAY, ColumnElement, any_, bindparam
from sqlalchemy.orm import Session


def among(session: Session, column: ColumnElement[Any], values: Collection[Any]
          ) -> ColumnElement[bool]:
    """`column IN values` with the values as one expanding parameter (not coerced one by one
    into the statement); on PostgreSQL `column = ANY(array)`, one parameter: a page's 200 to
    400 ids otherwise make a statement too long for psycopg's cache of parsed queries, parsed
    again on every page."""
    if session.get_bind().dialect.name == "postgresql":
        return column == any_(bindparam(None, list(values), type_=ARRAY(column.type)))
    return column.in_(bindparam(None, list(values), expanding=True))
