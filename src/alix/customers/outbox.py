"""The customer outbox: one row per captured change, written in the transaction of the change.

The sync's push reads pending rows coalesced per record (`pending_records`) and marks them
done, or failed with an error and a time to try again (`mark_failed`). Changes an integration
made itself (origin `zoho_crm`) are recorded as `skipped` at once: they are history, never
work, so the sync cannot echo its own writes back.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from operator import itemgetter
from typing import Any

from sqlalchemy import (
    bindparam,
    insert,
    select,
    update,
)
from sqlalchemy.orm import Session

from alix.customers.domain import Actor, Change, Operation, Origin, Value
from alix.customers.fields import Entity
from alix.customers.tables import customer_outbox
from alix.db import driver
from alix.db.backlog import first_records

PENDING = "pending"
DONE = "done"
SKIPPED = "skipped"
FAILED = "failed"

# The push's statements, built once: it runs them for every page, and building and keying a
# statement cost as much as running it.
_T = customer_outbox
# A page's first due rows, walking ix_customer_outbox_pending (organisation, status, id); as
# the driver's text (alix.db.driver), like the page's other reads: a Core statement's
# compilation and execution context cost more than SQLite's answer.
_DUE_ROWS = ("SELECT id, entity, entity_id FROM customer_outbox WHERE organisation_id = ? "
             "AND status = ? AND (retry_at IS NULL OR retry_at <= ?) AND id > ? "
             "ORDER BY id LIMIT ?")
# The push marks a page's rows with this once per page: as the driver's text (alix.db.driver),
# the ids one parameter, not an expanding IN written out and compiled again on every call.
_MARK_DONE = ("UPDATE customer_outbox SET status = ?, processed_at = ? "
              "WHERE organisation_id = ? AND status = ? AND id {among}")


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
    attempts: int = 0
    last_error: str | None = None
    retry_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class PendingRecord:
    """The pending rows of one record, coalesced: what the push looks at once.

    The push sends the record's current state, not the rows' values, so only what it decides
    on is read back (`entries()` reads whole rows: the history). `entry_ids` are exactly the
    rows read, so marking them leaves any row written after the read pending.
    """

    entity: Entity
    entity_id: int
    customer_id: int  # the record's customer as of its last row
    entry_ids: tuple[int, ...]
    # Net effect: deleted if the last row deletes, created if the first creates, else updated
    # (a record created and deleted before any push comes out as a delete).
    operation: Operation
    version: int  # the record's version after the last row read
    attempts: int  # how many times the push failed on this record so far
    actors: frozenset[int | None]  # who made the changes (None: nobody known)


@dataclass(frozen=True, slots=True)
class Failure:
    """A record the push could not send: its outbox rows, why, and when to try again (None:
    never, the rows become `failed` for a person to look at)."""

    entry_ids: Sequence[int]
    error: str
    retry_at: datetime | None


def _common(actor: Actor, now: datetime) -> dict[str, Any]:
    """The columns every row of one record() call shares."""
    echo = actor.origin.is_integration
    return {
        "organisation_id": actor.organisation_id,
        "origin": actor.origin.value,
        "actor_id": actor.user_id,
        "created_at": now,
        "status": SKIPPED if echo else PENDING,
        "processed_at": now if echo else None,
    }


def _row(common: dict[str, Any], change: Change) -> dict[str, Any]:
    return {
        **common,
        "entity": change.entity.value,
        "entity_id": change.entity_id,
        "customer_id": change.customer_id,
        "operation": change.operation.value,
        "changes": {name: {"old": old, "new": new} for name, (old, new) in change.fields.items()},
        "version": change.version,
    }


def record(session: Session, actor: Actor, changes: Sequence[Change], now: datetime) -> None:
    """Append changes to the outbox in the session's transaction (one executemany)."""
    if changes:
        common = _common(actor, now)
        session.execute(insert(customer_outbox), [_row(common, c) for c in changes])


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
        attempts=row.attempts,
        last_error=row.last_error,
        retry_at=row.retry_at,
    )


def entries(
    session: Session, org_id: int, *, status: str | None = PENDING, limit: int = 500
) -> list[OutboxEntry]:
    """The first outbox rows of the organisation in the order they were written (all statuses
    when status=None): the history of changes. The push reads `pending_records` instead."""
    t = customer_outbox
    stmt = select(t).where(t.c.organisation_id == org_id)
    if status is not None:
        stmt = stmt.where(t.c.status == status)
    return [_entry(r) for r in session.execute(stmt.order_by(t.c.id).limit(limit))]


def mark_done(session: Session, org_id: int, ids: Sequence[int], now: datetime) -> None:
    """Mark rows processed; idempotent, so a replayed page changes nothing."""
    if not ids:
        return
    among, listed = driver.among(session, ids)
    driver.execute(session, _MARK_DONE.format(among=among),
                   (DONE, driver.timestamps(session)(now), org_id, PENDING, listed))


def _due_heads(
    session: Session, org_id: int, now: datetime, limit: int,
    exclude: Collection[tuple[str, int]] = (),
) -> list[tuple[str, int]]:
    """The first `limit` records with a due pending row, in the order of their first due row,
    walking due rows by id (ix_customer_outbox_pending, see alix.db.backlog); records of
    `exclude` are passed over."""
    due = driver.timestamps(session)(now)

    def read(after: int, step: int) -> Sequence[Sequence[Any]]:
        return driver.rows(session, _DUE_ROWS, (org_id, PENDING, due, after, step))

    return first_records(read, limit, skip=exclude)


@cache
def _pending_rows_of(entities: int, among: str) -> str:
    """The pending rows of a page's records of `entities` entities (parameters: each one's
    organisation, entity and ids, as driver.among writes `among`), as _coalesced reads them;
    the driver's text (see _DUE_ROWS).

    Written so SQLite looks each record up in ix_customer_outbox_pending_records: one entity
    per SELECT, the status as a literal (the partial index's own condition) and no ORDER BY
    (the caller sorts). An OR of entities, or ORDER BY id, made it walk every pending row of
    the organisation instead, for each page: a backlog of n records cost n^2 / 200 rows.
    """
    return " UNION ALL ".join(
        "SELECT entity, entity_id, id, customer_id, operation, version, attempts, actor_id "
        f"FROM customer_outbox WHERE organisation_id = ? AND status = '{PENDING}' "
        f"AND entity = ? AND entity_id {among}"
        for _ in range(entities))


_OPERATIONS = {op.value: op for op in Operation}
_ENTITIES = {entity.value: entity for entity in Entity}


def _coalesced(entity: str, entity_id: int, rows: Sequence[Sequence[Any]]) -> PendingRecord:
    """One record's pending rows, (id, customer_id, operation, version, attempts, actor_id)
    each, in id order."""
    last = rows[-1]
    if len(rows) == 1:  # the common case: one pending row, no folding
        return PendingRecord(_ENTITIES[entity], entity_id, last[1], (last[0],),
                             _OPERATIONS[last[2]], last[3], last[4], frozenset((last[5],)))
    operation = _OPERATIONS[last[2] if last[2] == Operation.DELETE else rows[0][2]]
    return PendingRecord(
        _ENTITIES[entity], entity_id, last[1], tuple(r[0] for r in rows), operation,
        last[3], max(r[4] for r in rows), frozenset(r[5] for r in rows))


def pending_records(
    session: Session, org_id: int, now: datetime, *, limit: int = 100,
    exclude: Collection[tuple[Entity, int]] = (),
) -> list[PendingRecord]:
    """Up to limit records with pending rows due by now, coalesced; none of `exclude` (the
    records of a page still being sent: the next page is read before it is marked).

    Records come in the order of their first due row, each with all its pending rows in id
    order: a row waiting for its retry time comes along when a newer row makes the record due.
    Reads only about as many rows as the page needs, whatever the backlog behind it, and only
    the columns the push decides on, as plain tuples (no JSON, no timestamps to convert).
    """
    heads = _due_heads(session, org_id, now, limit,
                       {(entity.value, entity_id) for entity, entity_id in exclude})
    if not heads:
        return []
    by_entity: dict[str, list[int]] = {}
    for entity, entity_id in heads:
        by_entity.setdefault(entity, []).append(entity_id)
    entities = tuple(sorted(by_entity))
    params: list[Any] = []
    among = ""
    for entity in entities:
        among, listed = driver.among(session, by_entity[entity])
        params += (org_id, entity, listed)
    rows = sorted(driver.rows(session, _pending_rows_of(len(entities), among), params),
                  key=itemgetter(2))
    grouped: dict[tuple[str, int], list[Sequence[Any]]] = {key: [] for key in heads}
    for row in rows:
        grouped[(row[0], row[1])].append(row[2:])
    return [_coalesced(entity, entity_id, found)
            for (entity, entity_id), found in grouped.items()
            if found]  # marked done by another run between the two reads


def mark_failed(
    session: Session, org_id: int, failures: Sequence[Failure], now: datetime
) -> None:
    """Record failed attempts with one executemany: pending rows count an attempt and keep
    the error; they wait for retry_at, or become `failed` when there is none."""
    t = customer_outbox
    params = [
        {"entry_id": entry_id, "error": f.error, "retry": f.retry_at,
         "outcome": PENDING if f.retry_at is not None else FAILED,
         "done_at": None if f.retry_at is not None else now}
        for f in failures for entry_id in f.entry_ids
    ]
    if not params:
        return
    session.execute(
        update(t)
        .where(t.c.id == bindparam("entry_id"), t.c.organisation_id == org_id,
               t.c.status == PENDING)
        .values(attempts=t.c.attempts + 1, last_error=bindparam("error"),
                retry_at=bindparam("retry"), status=bindparam("outcome"),
                processed_at=bindparam("done_at")),
        params,
    )


def retry_now(
    session: Session, org_id: int, entity: Entity, ids: Sequence[int], now: datetime
) -> None:
    """A person asked to retry these records: their pending rows wait no longer, and rows the
    push had given up on (`failed`) are pending again, due now. Done and skipped rows stay."""
    if not ids:
        return
    t = customer_outbox
    session.execute(
        update(t)
        .where(t.c.organisation_id == org_id, t.c.entity == entity.value,
               t.c.entity_id.in_(sorted(set(ids))), t.c.status.in_((PENDING, FAILED)))
        .values(status=PENDING, retry_at=now, processed_at=None)
    )
