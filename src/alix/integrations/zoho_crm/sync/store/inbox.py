"""Notification hints in `zoho_inbox`: stored by the endpoint, drained by the worker.

Hints are not data: the worker fetches the records they name. Zoho may call back twice with the
same notification, and a record edited several times leaves several hints; the worker sees one
hint per record (pending_hints groups them) and marks all its rows processed together.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from operator import attrgetter
from typing import Any

from sqlalchemy import CompoundSelect, bindparam, delete, select, union_all, update
from sqlalchemy.orm import Session

from alix.db import driver
from alix.db.backlog import first_records

from .scope import SyncScope
from .tables import zoho_inbox

DELETE = "delete"


@dataclass(frozen=True)
class Hint:
    """The pending notifications of one record, oldest first."""

    module: str
    zoho_id: str
    operations: tuple[str, ...]
    # Per notification: the affected fields' values (return_affected_field_values), or None.
    affected: tuple[Mapping[str, Any] | None, ...]
    inbox_ids: tuple[int, ...]
    first_received_at: datetime

    @property
    def last_operation(self) -> str:
        return self.operations[-1]

    @property
    def deleted(self) -> bool:
        """The record's last notification says it was deleted."""
        return self.last_operation == DELETE


_PENDING_OF = ("SELECT zoho_id, affected FROM zoho_inbox WHERE connection_id = ? AND module = ? "
               "AND operation = ? AND processed_at IS NULL AND zoho_id {among}")
_STORE = ("INSERT INTO zoho_inbox (organisation_id, connection_id, module, zoho_id, operation, "
          "affected, received_at, processed_at) VALUES (?, ?, ?, ?, ?, ?, ?, NULL)")


def add_hints(
    session: Session,
    scope: SyncScope,
    module: str,
    operation: str,
    hints: Sequence[tuple[str, Mapping[str, Any] | None]],
    now: datetime,
) -> int:
    """Store one callback's hints: (Zoho id, affected values or None) for one operation.

    Idempotent for a duplicated callback: a hint equal (same id, operation and affected values)
    to one still pending is not stored again. Returns how many rows were stored; one query to
    look, one executemany to insert.
    """
    if not hints:
        return 0
    # Every callback comes here, in the web process, while the push may be writing pages:
    # the driver's text (alix.db.driver), not a Core statement compiled for its 100 ids and a
    # JSON and timestamp conversion per row.
    among, listed = driver.among(session, sorted({zoho_id for zoho_id, _ in hints}),
                                 text=True)
    pending = driver.rows(session, _PENDING_OF.format(among=among),
                          (scope.connection_id, module, operation, listed))
    # The affected values seen per record: a callback of 100 ids compares each hint with its
    # own record's, not with every hint of the callback.
    seen: dict[str, list[Any]] = {}
    for zoho_id, affected in pending:
        seen.setdefault(zoho_id, []).append(driver.json_value(affected))
    received = driver.timestamps(session)(now)
    rows: list[tuple[Any, ...]] = []
    for zoho_id, affected in hints:
        value = dict(affected) if affected is not None else None
        known = seen.setdefault(zoho_id, [])
        if value in known:
            continue
        known.append(value)
        rows.append((scope.organisation_id, scope.connection_id, module, zoho_id, operation,
                     driver.json_text(value), received))
    driver.execute_many(session, _STORE, rows)
    return len(rows)


# Pending rows of a connection in id order, after a row id: walks ix_zoho_inbox_pending_order,
# which holds pending rows only, so the 7 days of processed rows kept are never read.
_PENDING_AFTER = (
    select(zoho_inbox.c.id, zoho_inbox.c.module, zoho_inbox.c.zoho_id)
    .where(zoho_inbox.c.connection_id == bindparam("connection"),
           zoho_inbox.c.processed_at.is_(None), zoho_inbox.c.id > bindparam("after"))
    .order_by(zoho_inbox.c.id)
    .limit(bindparam("step"))
)


def pending_hints(session: Session, scope: SyncScope, limit: int = 100) -> list[Hint]:
    """Up to `limit` records with pending hints, in the order their first hint arrived, each
    with all its pending rows in id order.

    Reads about as many rows as the round needs, whatever the backlog behind it: two queries,
    one choosing the records, one reading their rows.
    """
    heads = _first_pending_records(session, scope.connection_id, limit)
    if not heads:
        return []
    by_module: dict[str, list[str]] = {}
    for module, zoho_id in heads:
        by_module.setdefault(module, []).append(zoho_id)
    params: dict[str, Any] = {"connection": scope.connection_id}
    for i, (module, ids) in enumerate(by_module.items()):
        params[f"module_{i}"] = module
        params[f"ids_{i}"] = ids
    rows = sorted(session.execute(_pending_rows_of(len(by_module)), params).all(),
                  key=attrgetter("id"))
    grouped: dict[tuple[str, str], list[Any]] = {key: [] for key in heads}
    for row in rows:
        grouped[(row.module, row.zoho_id)].append(row)
    return [
        Hint(
            module=module,
            zoho_id=zoho_id,
            operations=tuple(r.operation for r in group),
            affected=tuple(r.affected for r in group),
            inbox_ids=tuple(r.id for r in group),
            first_received_at=group[0].received_at,
        )
        for (module, zoho_id), group in grouped.items()
        if group  # closed by another worker between the two reads
    ]


def _first_pending_records(session: Session, connection_id: int, limit: int
                           ) -> list[tuple[str, str]]:
    """The first `limit` records with pending rows, in the order of their oldest pending row,
    walking pending rows by id (ix_zoho_inbox_pending_order, see alix.db.backlog): a push of
    10,000 records leaves 10,000 echo hints, drained 100 a round."""
    def read(after: int, step: int) -> Sequence[Sequence[Any]]:
        return session.execute(_PENDING_AFTER, {"connection": connection_id, "after": after,
                                                "step": step}).all()

    return first_records(read, limit)


@cache
def _pending_rows_of(modules: int) -> CompoundSelect[Any]:
    """The pending rows of a round's records: module `module_<i>`, Zoho ids `ids_<i>`.

    One module per SELECT, with the partial index's own condition, and no ORDER BY (the caller
    sorts), so SQLite looks each record up in ix_zoho_inbox_pending instead of walking the
    connection's pending rows.
    """
    t = zoho_inbox
    return union_all(*(
        select(t.c.id, t.c.module, t.c.zoho_id, t.c.operation, t.c.affected, t.c.received_at)
        .where(t.c.connection_id == bindparam("connection"), t.c.processed_at.is_(None),
               t.c.module == bindparam(f"module_{i}"),
               t.c.zoho_id.in_(bindparam(f"ids_{i}", expanding=True)))
        for i in range(modules)))


def mark_processed(
    session: Session, scope: SyncScope, inbox_ids: Collection[int], now: datetime
) -> None:
    """Close hint rows (Hint.inbox_ids) once their records were fetched or found to be echoes."""
    if not inbox_ids:
        return
    session.execute(
        update(zoho_inbox)
        .where(zoho_inbox.c.connection_id == scope.connection_id,
               zoho_inbox.c.id.in_(sorted(inbox_ids)),
               zoho_inbox.c.processed_at.is_(None))
        .values(processed_at=now)
    )


def purge_processed(session: Session, scope: SyncScope, before: datetime) -> int:
    """Delete hint rows processed before a moment; returns how many."""
    result = session.execute(
        delete(zoho_inbox).where(zoho_inbox.c.connection_id == scope.connection_id,
                                 zoho_inbox.c.processed_at < before)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]
