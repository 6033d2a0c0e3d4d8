"""Notification hints in `zoho_inbox`: stored by the endpoint, drained by the worker.

Hints are not data: the worker fetches the records they name. Zoho may call back twice with the
same notification, and a record edited several times leaves several hints; the worker sees one
hint per record (pending_hints groups them) and marks all its rows processed together.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, delete, func, insert, select, update
from sqlalchemy.orm import Session

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
    ids = sorted({zoho_id for zoho_id, _ in hints})
    pending = session.execute(
        select(zoho_inbox.c.zoho_id, zoho_inbox.c.affected).where(
            zoho_inbox.c.connection_id == scope.connection_id,
            zoho_inbox.c.module == module,
            zoho_inbox.c.zoho_id.in_(ids),
            zoho_inbox.c.operation == operation,
            zoho_inbox.c.processed_at.is_(None),
        )
    ).all()
    seen: list[tuple[str, Any]] = [(r.zoho_id, r.affected) for r in pending]
    rows: list[dict[str, Any]] = []
    for zoho_id, affected in hints:
        value = dict(affected) if affected is not None else None
        if (zoho_id, value) in seen:
            continue
        seen.append((zoho_id, value))
        rows.append({
            **scope.stamp(), "module": module, "zoho_id": zoho_id, "operation": operation,
            "affected": value, "received_at": now, "processed_at": None,
        })
    if rows:
        session.execute(insert(zoho_inbox), rows)
    return len(rows)


def pending_hints(session: Session, scope: SyncScope, limit: int = 100) -> list[Hint]:
    """Up to `limit` records with pending hints, in the order their first hint arrived.

    One query: the records are chosen by their oldest pending row, and all their pending rows
    come with them.
    """
    first = func.min(zoho_inbox.c.id).label("first_id")
    chosen = (
        select(zoho_inbox.c.module, zoho_inbox.c.zoho_id, first)
        .where(zoho_inbox.c.connection_id == scope.connection_id,
               zoho_inbox.c.processed_at.is_(None))
        .group_by(zoho_inbox.c.module, zoho_inbox.c.zoho_id)
        .order_by(first)
        .limit(limit)
        .subquery()
    )
    rows = session.execute(
        select(zoho_inbox, chosen.c.first_id)
        .join(chosen, and_(chosen.c.module == zoho_inbox.c.module,
                           chosen.c.zoho_id == zoho_inbox.c.zoho_id))
        .where(zoho_inbox.c.connection_id == scope.connection_id,
               zoho_inbox.c.processed_at.is_(None))
        .order_by(chosen.c.first_id, zoho_inbox.c.id)
    ).all()
    grouped: dict[tuple[str, str], list[Any]] = {}
    for row in rows:
        grouped.setdefault((row.module, row.zoho_id), []).append(row)
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
    ]


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
