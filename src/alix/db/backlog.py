"""Taking the first records of a backlog of rows: the outbox's pending changes, the inbox's
pending hints. Several rows may name one record; a page wants its first `limit` records.

A GROUP BY over every pending row reads the whole backlog for each page, so draining a
backlog of n rows costs its square. Walking the rows by id through an index and stopping once
`limit` records are found reads about as many rows as the page needs.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Hashable, Sequence
from typing import Any

# Reads up to `step` rows (id, *record key) with an id above `after`, in id order.
ReadAfter = Callable[[int, int], Sequence[Sequence[Any]]]


def first_records(read: ReadAfter, limit: int, *, skip: Collection[Hashable] = ()
                  ) -> list[tuple[Any, ...]]:
    """The keys of the first `limit` records (other than `skip`), in the order of their first
    row. The first step reads `limit` rows past the skipped records' (all a page needs when
    each record has one row, the common case); later steps read more."""
    heads: dict[tuple[Any, ...], None] = {}
    after, step = 0, limit + len(skip)
    while len(heads) < limit:
        rows = read(after, step)
        for row in rows:
            key = tuple(row[1:])
            if key in skip:
                continue
            heads.setdefault(key, None)
            if len(heads) == limit:
                break
        if len(rows) < step:
            break
        after = rows[-1][0]
        step = max(limit * 4, 100)
    return list(heads)
