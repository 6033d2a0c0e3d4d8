"""Compact in-memory record storage for one module, with unique-value index and recycle bin.

A stored record is a dict holding only the fields that are set. Values are kept small: times are
epoch seconds (int), users are their id string (shared objects), lookups the target id (int).
Dict insertion order is id order because ids only grow, so listing by id needs no sort.
Listings by `Modified_Time`, and every `If-Modified-Since` listing, read a (Modified_Time, id)
index instead of scanning the records: a sync's incremental listing then costs the records
changed since its watermark, not the size of the module, even while writes go on.
"""

from __future__ import annotations

import bisect
import itertools
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from .schema import Module

Record = dict[str, Any]
Key = tuple[int, int]  # (Modified_Time, id)
CHUNK = 1_000  # index chunks hold CHUNK // 2 to 2 * CHUNK keys


class ModifiedIndex:
    """(Modified_Time, id) of every live record, ascending, kept in chunks.

    One flat sorted list would memmove its whole tail on every write (and go quadratic when a
    seed or a test inserts out of order); chunks bound an insert or a removal to a bisect over
    the chunk maxima plus a memmove of one chunk.
    """

    def __init__(self, keys: Iterable[Key]) -> None:
        ordered = sorted(keys)
        self._chunks = [ordered[i:i + CHUNK] for i in range(0, len(ordered), CHUNK)]
        self._maxes = [chunk[-1] for chunk in self._chunks]

    def add(self, key: Key) -> None:
        if not self._chunks:
            self._chunks, self._maxes = [[key]], [key]
            return
        i = min(bisect.bisect_left(self._maxes, key), len(self._chunks) - 1)
        chunk = self._chunks[i]
        bisect.insort(chunk, key)
        self._maxes[i] = chunk[-1]
        if len(chunk) > 2 * CHUNK:
            self._chunks[i:i + 1] = [chunk[:CHUNK], chunk[CHUNK:]]
            self._maxes[i:i + 1] = [chunk[CHUNK - 1], chunk[-1]]

    def discard(self, key: Key) -> None:
        i = bisect.bisect_left(self._maxes, key)
        if i == len(self._chunks):
            return
        chunk = self._chunks[i]
        j = bisect.bisect_left(chunk, key)
        if j == len(chunk) or chunk[j] != key:
            return
        del chunk[j]
        if not chunk:
            del self._chunks[i], self._maxes[i]
        elif len(chunk) < CHUNK // 2 and len(self._chunks) > 1:
            self._merge(i if i + 1 < len(self._chunks) else i - 1)
        else:
            self._maxes[i] = chunk[-1]

    def _merge(self, i: int) -> None:
        """Join chunks i and i + 1 (halving the result again when it is too long)."""
        joined = self._chunks[i] + self._chunks[i + 1]
        half = len(joined) // 2
        parts = [joined] if len(joined) <= 2 * CHUNK else [joined[:half], joined[half:]]
        self._chunks[i:i + 2] = parts
        self._maxes[i:i + 2] = [part[-1] for part in parts]

    def since(self, low: int | None) -> list[Key]:
        """A new list of the keys with Modified_Time >= `low` (all keys when None), ascending."""
        if low is None:
            start = offset = 0
        else:
            probe = (low, 0)  # ids are positive: sorts before every (low, id)
            start = bisect.bisect_left(self._maxes, probe)
            if start == len(self._chunks):
                return []
            offset = bisect.bisect_left(self._chunks[start], probe)
        found = self._chunks[start][offset:] if self._chunks else []
        for chunk in itertools.islice(self._chunks, start + 1, None):
            found += chunk
        return found


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
        # Built by the first listing that needs it, so seeding and loading pay no upkeep.
        self._by_modified: ModifiedIndex | None = None

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

    def modified_index(self) -> ModifiedIndex:
        if self._by_modified is None:
            self._by_modified = ModifiedIndex(
                (rec["Modified_Time"], rid) for rid, rec in self.records.items())
        return self._by_modified

    def put(self, rid: int, record: Record) -> None:
        """Insert or replace a record and keep the indexes in step.

        `record` must be a new dict: a stored record edited in place hides its old
        Modified_Time, so the (Modified_Time, id) index is then dropped and rebuilt on demand.
        """
        old = self.records.get(rid)
        by_modified = self._by_modified
        if by_modified is not None:
            if old is record:
                self._by_modified = None
            else:
                if old is not None:
                    by_modified.discard((old["Modified_Time"], rid))
                by_modified.add((record["Modified_Time"], rid))
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
        if self._by_modified is not None:
            self._by_modified.discard((record["Modified_Time"], rid))
        self.deleted[rid] = entry
        self.version += 1
        return record

    def ordered(self, sort_by: str, descending: bool, since: int | None) -> tuple[list[Any],
                                                                                   list[int]]:
        """Sort keys (ascending, negated for desc) and ids for a listing, cached per version.

        The keys let a page token continue after the last record served (keyset paging), so
        records written between two pages neither repeat nor vanish. With `since` only the
        records with Modified_Time >= since are read, through the index.
        """
        cache_key = (self.version, sort_by, descending, since)
        if self._cache is not None and self._cache[0] == cache_key:
            return self._cache[1]
        sign = -1 if descending else 1
        window = (self.modified_index().since(since)
                  if since is not None or sort_by == "Modified_Time" else [])
        keys: list[Any]
        if sort_by == "Modified_Time":
            if descending:
                window.reverse()
                keys = [(-mtime, -rid) for mtime, rid in window]
            else:
                keys = window
            ids = [rid for _, rid in window]
        elif sort_by == "id":
            ids = sorted(rid for _, rid in window) if since is not None else list(self.records)
            if descending:
                ids.reverse()
            keys = [sign * rid for rid in ids]
        else:
            chosen = [rid for _, rid in window] if since is not None else self.records
            recs = self.records
            pairs = sorted((sign * recs[rid][sort_by], sign * rid) for rid in chosen)
            keys = pairs
            ids = [sign * pair[1] for pair in pairs]
        result = (keys, ids)
        self._cache = (cache_key, result)
        return result


def position_after(keys: list[Any], last: Any) -> int:
    """Index of the first key strictly after `last` in an ascending key list."""
    return bisect.bisect_right(keys, last)
