"""Columns and filters other features add to the customer list, without the customer master
knowing them.

The customer master may not import the integrations (an import-linter contract), yet its list
shows, say, each customer's Zoho CRM sync state and filters by it. A feature registers a
`ListColumn` when the web app is built; the list page and the list API ask every registered
column for what it shows on one organisation's page of customers, and for the SQL condition
of a filter value, which the repository adds to the page's query so the filter combines with
search, the status filter and the page cursor.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy.orm import Session

ALL = "all"


@dataclass(frozen=True)
class Cell:
    """What one customer's row shows in a feature's column."""

    value: str  # machine-readable, e.g. "in_sync"
    label: str  # what people read, e.g. "In sync"
    tone: str  # the badge's look: "ok", "off", "warn" or "err"


class OrganisationColumn(Protocol):
    """A column bound to one organisation (its connection, say)."""

    def condition(self, choice: str) -> Any | None:
        """The SQL condition on `customers` keeping the rows of filter value `choice`; None
        keeps every row (the "all" value, or a value this column does not know)."""

    def cells(self, customer_ids: Sequence[int]) -> Mapping[int, Cell]:
        """The cells of a page of customers, read at once (not one query per customer)."""


@dataclass(frozen=True)
class ListColumn:
    """A feature's column: the query parameter that filters by it, its heading, its filter
    values (the first is "all"), and how to bind it to an organisation (None: the column does
    not apply there, e.g. the integration is not connected)."""

    key: str
    heading: str
    choices: tuple[tuple[str, str], ...]
    bind: Callable[[Session, int], OrganisationColumn | None]


@dataclass(frozen=True)
class BoundColumn:
    """A column as one request uses it: the chosen filter value and the bound column."""

    column: ListColumn
    choice: str
    bound: OrganisationColumn

    @property
    def condition(self) -> Any | None:
        return self.bound.condition(self.choice)


_COLUMNS: dict[str, ListColumn] = {}


def register_list_column(column: ListColumn) -> None:
    """Add (or replace, for a module loaded twice) the column known by its key."""
    _COLUMNS[column.key] = column


def bind_columns(session: Session, org_id: int, params: Mapping[str, str]
                 ) -> list[BoundColumn]:
    """The registered columns that apply to the organisation, each with the filter value
    `params` (the request's query parameters) chose; an unknown value means "all"."""
    found = []
    for column in _COLUMNS.values():
        bound = column.bind(session, org_id)
        if bound is None:
            continue
        choice = params.get(column.key, ALL)
        if choice not in {value for value, _label in column.choices}:
            choice = ALL
        found.append(BoundColumn(column, choice, bound))
    return found


def conditions(columns: Sequence[BoundColumn]) -> tuple[Any, ...]:
    """The SQL conditions the chosen filter values add to the list's query."""
    return tuple(c for c in (b.condition for b in columns) if c is not None)
