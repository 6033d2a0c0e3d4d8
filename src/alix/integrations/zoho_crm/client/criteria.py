"""Search criteria `(Field:operator:value)` evaluated in memory, for the fake."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Mapping
from typing import Any

from .errors import RequestRejected
from .timestamps import parse_datetime

_CRITERION = re.compile(r"\(([A-Za-z0-9_]+):([a-z_]+):((?:\\.|[^)])*)\)")


def matches(row: Mapping[str, Any], criteria: str) -> bool:
    """Whether row satisfies criteria joined wholly by `and` or wholly by `or` (doc 4.9).

    `equals` is exact but case-insensitive here; Zoho's is a fuzzier word match.
    """
    found = _CRITERION.findall(criteria)
    if not found:
        raise RequestRejected(f"Unreadable search criteria {criteria!r}.", code="INVALID_QUERY")
    results = [_compare(row.get(f), op, v.replace("\\", "")) for f, op, v in found]
    return any(results) if ")or(" in criteria.replace(" ", "") else all(results)


def _compare(value: Any, op: str, wanted: str) -> bool:
    have = "" if value is None else str(value.get("id") if isinstance(value, dict) else value)
    if op == "equals":
        return have.lower() == wanted.lower()
    if op == "not_equal":
        return have.lower() != wanted.lower()
    if op == "starts_with":
        return have.lower().startswith(wanted.lower())
    if op == "in":
        return have.lower() in {w.strip().lower() for w in wanted.split(",")}
    if op in ("greater_than", "greater_equal", "less_than", "less_equal"):
        if not have:
            return False
        left: Any = have
        right: Any = wanted
        try:
            left, right = parse_datetime(have), parse_datetime(wanted)
        except RequestRejected:
            with contextlib.suppress(ValueError):
                left, right = float(have), float(wanted)
        return {
            "greater_than": left > right,
            "greater_equal": left >= right,
            "less_than": left < right,
            "less_equal": left <= right,
        }[op]
    raise RequestRejected(f"Search operator {op!r} is not supported.", code="INVALID_QUERY")
