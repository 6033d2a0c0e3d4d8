"""Reading the ALIX rows of many records at once, one query per entity present."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy.orm import Session

from alix.customers import repository as repo
from alix.customers.fields import Entity

RecordKey = tuple[Entity, int]


def _by_entity(keys: Iterable[RecordKey]) -> dict[Entity, list[int]]:
    wanted: dict[Entity, set[int]] = {}
    for entity, alix_id in keys:
        wanted.setdefault(entity, set()).add(alix_id)
    return {entity: sorted(ids) for entity, ids in wanted.items()}


def rows_by_key(session: Session, organisation_id: int, keys: Iterable[RecordKey]
                ) -> dict[RecordKey, Any]:
    """The ALIX model of each record that exists, by (entity, id); missing ones are left out."""
    return {(entity, row.id): row
            for entity, ids in _by_entity(keys).items()
            for row in repo.by_ids(session, entity, organisation_id, ids)}


def stored_values(session: Session, organisation_id: int, keys: Iterable[RecordKey]
                  ) -> dict[RecordKey, repo.StoredValues]:
    """rows_by_key's catalog values only (repository.values_by_ids), by (entity, id)."""
    return {(entity, row.id): row
            for entity, ids in _by_entity(keys).items()
            for row in repo.values_by_ids(session, entity, organisation_id, ids)}
