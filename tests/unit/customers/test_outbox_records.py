"""How the push sees a record's pending outbox rows once coalesced (pure)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from alix.customers.domain import Operation, Origin
from alix.customers.fields import Entity
from alix.customers.outbox import OutboxEntry, PendingRecord

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def _entry(entry_id: int, operation: Operation, version: int, *fields: str,
           attempts: int = 0) -> OutboxEntry:
    return OutboxEntry(entry_id, 1, Entity.CONTACT, 7, 3, operation,
                       {f: (None, "x") for f in fields}, version, Origin.USER, 1, NOW,
                       "pending", None, attempts)


@pytest.mark.parametrize(("operations", "net"), [
    ([Operation.CREATE, Operation.UPDATE], Operation.CREATE),
    ([Operation.UPDATE, Operation.UPDATE], Operation.UPDATE),
    ([Operation.UPDATE, Operation.DELETE], Operation.DELETE),
    ([Operation.CREATE, Operation.DELETE], Operation.DELETE),
])
def test_the_net_operation_of_a_record(operations: list[Operation], net: Operation) -> None:
    entries = tuple(_entry(i, op, i) for i, op in enumerate(operations, start=1))
    assert PendingRecord(Entity.CONTACT, 7, 3, entries).operation is net


def test_fields_version_attempts_and_ids_cover_every_row() -> None:
    record = PendingRecord(Entity.CONTACT, 7, 3, (
        _entry(10, Operation.UPDATE, 4, "email", attempts=2),
        _entry(12, Operation.UPDATE, 5, "phone", "email"),
    ))
    assert record.fields == {"email", "phone"}
    assert (record.version, record.attempts, record.entry_ids) == (5, 2, [10, 12])
