"""Field lists split under Zoho's 50-field cap, and the partial records merged back by id."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

# `fields` is mandatory on list calls and capped at 50 (doc 4.1, 9.1).
FIELDS_PER_CALL = 50

# Every chunk carries Modified_Time: the pager orders and resumes by it, and the merge checks
# that the parts of one record come from the same version.
ANCHOR = "Modified_Time"


def split_fields(fields: Sequence[str], limit: int = FIELDS_PER_CALL) -> list[tuple[str, ...]]:
    """Split `fields` into chunks of at most `limit`, each including Modified_Time."""
    rest = [f for f in dict.fromkeys(fields) if f not in ("id", ANCHOR)]
    width = limit - 1
    chunks = [(ANCHOR, *rest[i : i + width]) for i in range(0, len(rest), width)]
    return chunks or [(ANCHOR,)]


def merge_by_id(
    base: Iterable[Mapping[str, Any]], *parts: Iterable[Mapping[str, Any]]
) -> tuple[list[dict[str, Any]], set[str]]:
    """Merge the parts into base records by id, in base order.

    Returns the merged records and the ids some part lacked (a record that moved between the
    calls); the caller fetches those by id.
    """
    merged = {str(r["id"]): dict(r) for r in base}
    missing: set[str] = set()
    for part in parts:
        seen: set[str] = set()
        for record in part:
            rid = str(record["id"])
            if rid in merged:
                merged[rid].update({k: v for k, v in record.items() if k != ANCHOR})
                seen.add(rid)
        missing |= merged.keys() - seen
    return list(merged.values()), missing
