"""The customer outbox: one row per captured change, written in the transaction of the change.

The sync's push reads pending rows, coalesces them per record and marks them done. Changes an
integration made itself (origin `zoho_crm`) are recorded as `skipped` at once: they are history,
never work, so the sync cannot echo its own writes back.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from alix.customers.fields import Entity
from alix.customers.model import Actor, Change, Operation, Origin, Value
from alix.customers.tables import customer_outbox

PENDING = "pending"
DONE = "done"
SKIPPED = "skipped"


@dataclass(frozen=True, slots=True)
class OutboxEntry:
    """A recorded change as the sync reads it back."""

    id: int
    organisation_id: int
    entity: Entity
    entity_id: int
    customer_id: int
    operation: Operation
    changes: dict[str, tuple[Value, Value]]
    version: int
    origin: Origin
    actor_id: int | None
    created_at: datetime
    status: str
    processed_at: datetime | None


def _row(actor: Actor, change: Change, now: datetime) -> dict[str, Any]:
    echo = actor.origin.is_integration
    return {
        "organisation_id": actor.organisation_id,
        "entity": change.entity.value,
        "entity_id": change.entity_id,
        "customer_id": change.customer_id,
        "operation": change.operation.value,
        "changes": {name: {"old": old, "new": new} for name, (old, new) in change.fields.items()},
        "version": change.version,
        "origin": actor.origin.value,
        "actor_id": actor.user_id,
        "created_at": now,
        "status": SKIPPED if echo else PENDING,
        "processed_at": now if echo else None,
    }


def record(session: Session, actor: Actor, changes: Sequence[Change], now: datetime) -> None:
    """Append changes to the outbox in the session's transaction (one executemany)."""
    if changes:
        session.execute(insert(customer_outbox), [_row(actor, c, now) for c in changes])


def _entry(row: Any) -> OutboxEntry:
    return OutboxEntry(
        id=row.id,
        organisation_id=row.organisation_id,
        entity=Entity(row.entity),
        entity_id=row.entity_id,
        customer_id=row.customer_id,
        operation=Operation(row.operation),
        changes={k: (v["old"], v["new"]) for k, v in row.changes.items()},
        version=row.version,
        origin=Origin(row.origin),
        actor_id=row.actor_id,
        created_at=row.created_at,
        status=row.status,
        processed_at=row.processed_at,
    )


def entries(
    session: Session, org_id: int, *, status: str | None = PENDING, limit: int = 500,
    after_id: int = 0,
) -> list[OutboxEntry]:
    """Outbox rows of the organisation in the order they were written (all when status=None)."""
    t = customer_outbox
    stmt = select(t).where(t.c.organisation_id == org_id, t.c.id > after_id)
    if status is not None:
        stmt = stmt.where(t.c.status == status)
    return [_entry(r) for r in session.execute(stmt.order_by(t.c.id).limit(limit))]


def mark_done(session: Session, org_id: int, ids: Sequence[int], now: datetime) -> None:
    """Mark rows processed; idempotent, so a replayed page changes nothing."""
    t = customer_outbox
    session.execute(
        update(t)
        .where(t.c.organisation_id == org_id, t.c.id.in_(list(ids)), t.c.status == PENDING)
        .values(status=DONE, processed_at=now)
    )
