"""How the push sees a record's pending outbox rows once coalesced (pure)."""

from __future__ import annotations

from typing import Any

import pytest

from alix.customers import outbox
from alix.customers.domain import Operation
from alix.customers.fields import Entity


def _row(entry_id: int, operation: Operation, version: int, *, attempts: int = 0,
         actor: int | None = 1) -> tuple[Any, ...]:
    # As pending_records reads them: (id, customer_id, operation, version, attempts, actor_id).
    return (entry_id, 3, operation.value, version, attempts, actor)


@pytest.mark.parametrize(("operations", "net"), [
    ([Operation.CREATE, Operation.UPDATE], Operation.CREATE),
    ([Operation.UPDATE, Operation.UPDATE], Operation.UPDATE),
    ([Operation.UPDATE, Operation.DELETE], Operation.DELETE),
    ([Operation.CREATE, Operation.DELETE], Operation.DELETE),
])
def test_the_net_operation_of_a_record(operations: list[Operation], net: Operation) -> None:
    rows = [_row(i, op, i) for i, op in enumerate(operations, start=1)]
    assert outbox._coalesced(Entity.CONTACT.value, 7, rows).operation is net


def test_version_attempts_actors_and_ids_cover_every_row() -> None:
    record = outbox._coalesced(Entity.CONTACT.value, 7, [
        _row(10, Operation.UPDATE, 4, attempts=2, actor=None),
        _row(12, Operation.UPDATE, 5, actor=1),
    ])
    assert (record.entity, record.entity_id, record.customer_id) == (Entity.CONTACT, 7, 3)
    assert (record.version, record.attempts, record.entry_ids) == (5, 2, (10, 12))
    assert record.actors == frozenset({None, 1})
