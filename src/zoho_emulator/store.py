"""Compact in-memory record storage for one module, with unique-value index and recycle bin.

A stored record is a dict holding only the fields that are set. Values are kept small: times are
epoch seconds (int), users are their id string (shared objects), lookups the target id (int).
Dict insertion order is id order because ids only grow, so listing by id needs no sort.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from typing import Any

from .schema import Module

Record = dict[str, Any]


@dataclass(slots=True)
class Deleted:
    """A recycle-bin entry; the record itself is gone (restore is not emulated)."""

    id: int
    display_name: str | None
    deleted_time: int
    deleted_by: str | None
    created_by: str | None


class ModuleStore:
    """Records of one module in one org; every mutation bumps `version` and `changed_at`."""

    def __init__(self, module: Module) -> None:
        self.module = module
        self.records: dict[int, Record] = {}
        self.deleted: dict[int, Deleted] = {}
        self.unique: dict[str, dict[str, int]] = {}
        self.locked: set[int] = set()  # ids locked through test control (section 9.9)
        self.version = 0
        self._cache: tuple[tuple[Any, ...], tuple[list[Any], list[int]]] | None = None

    def __len__(self) -> int:
        return len(self.records)

    def get(self, rid: int) -> Record | None:
        return self.records.get(rid)

    def unique_fields(self) -> list[str]:
        return [f.api_name for f in self.module.fields.values() if f.unique]

    def find_duplicate(self, field: str, value: Any, exclude: int | None = None) -> int | None:
        """Id of another live record holding `value` in unique `field` (case-insensitive)."""
        if not isinstance(value, str):
            return None
        found = self.unique.get(field, {}).get(value.casefold())
        if found is None or found == exclude or found not in self.records:
            return None
        return found

    def put(self, rid: int, record: Record) -> None:
        """Insert or replace a record and keep the unique index in step."""
        old = self.records.get(rid)
        for name in self.unique_fields():
            before = old.get(name) if old else None
            after = record.get(name)
            if before == after:
                continue
            index = self.unique.setdefault(name, {})
            if isinstance(before, str) and index.get(before.casefold()) == rid:
                del index[before.casefold()]
            if isinstance(after, str):
                # The seeder may store duplicates on purpose; the index keeps the first holder.
                index.setdefault(after.casefold(), rid)
        self.records[rid] = record
        self.version += 1

    def remove(self, rid: int, entry: Deleted) -> Record | None:
        record = self.records.pop(rid, None)
        if record is None:
            return None
        for name in self.unique_fields():
            value = record.get(name)
            index = self.unique.get(name, {})
            if isinstance(value, str) and index.get(value.casefold()) == rid:
                del index[value.casefold()]
        self.deleted[rid] = entry
        self.version += 1
        return record

    def ordered(self, sort_by: str, descending: bool, since: int | None) -> tuple[list[Any],
                                                                                   list[int]]:
        """Sort keys (ascending, negated for desc) and ids for a listing, cached per version.

        The keys let a page token continue after the last record served (keyset paging), so
        records written between two pages neither repeat nor vanish.
        """
        cache_key = (self.version, sort_by, descending, since)
        if self._cache is not None and self._cache[0] == cache_key:
            return self._cache[1]
        items = self.records.items()
        ids = ([rid for rid, rec in items if rec["Modified_Time"] >= since]
               if since is not None else list(self.records))
        sign = -1 if descending else 1
        keys: list[Any]
        if sort_by == "id":
            if descending:
                ids.reverse()
            keys = [sign * rid for rid in ids]
        else:
            recs = self.records
            pairs = sorted((sign * recs[rid][sort_by], sign * rid) for rid in ids)
            keys = pairs
            ids = [sign * pair[1] for pair in pairs]
        result = (keys, ids)
        self._cache = (cache_key, result)
        return result


def position_after(keys: list[Any], last: Any) -> int:
    """Index of the first key strictly after `last` in an ascending key list."""
    return bisect.bisect_right(keys, last)
