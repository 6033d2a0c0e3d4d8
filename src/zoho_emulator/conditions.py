"""Typed field conditions shared by search criteria, COQL and bulk-read criteria.

Each front end parses its own syntax and maps its operator names to the canonical ones here
(`eq`, `ne`, `lt`, `le`, `gt`, `ge`, `in`, `not_in`, `between`, `not_between`, `starts`,
`ends`, `contains`, `not_contains`, `word`, `like`, `not_like`, `null`, `not_null`). Literals
arrive as text or JSON values and are turned into the record store's form (section 4.11 of
zoho-crm-api.md; `store.py`): datetimes as epoch seconds, lookups as int ids, users as id
strings.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from datetime import date, datetime
from typing import Any

from .schema import Field
from .store import Record

Predicate = Callable[[Record], bool]
Getter = Callable[[Record], Any]

TEXT_TYPES = ("text", "textarea", "email", "phone", "website", "picklist", "autonumber",
              "bigint", "multiselectpicklist")
NUMBER_TYPES = ("integer", "double", "currency", "decimal", "percent")
ORDERED_TYPES = (*NUMBER_TYPES, "date", "datetime")


class ConditionError(ValueError):
    """A literal or operator that does not fit the field; front ends turn it into Zoho's code."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


def literal(f: Field, value: Any) -> Any:
    """The stored form of a criteria literal for field `f`; None stays None."""
    if value is None:
        return None
    kind = f.data_type
    text = value if isinstance(value, str) else (
        ("true" if value else "false") if isinstance(value, bool) else str(value))
    try:
        if kind in NUMBER_TYPES:
            return int(text) if kind == "integer" else float(text)
        if kind == "datetime":
            parsed = datetime.fromisoformat(text)
            if parsed.tzinfo is None:
                raise ConditionError(f.api_name, "datetimes need an offset")
            return int(parsed.timestamp())
        if kind == "date":
            return date.fromisoformat(text).isoformat()
        if kind == "boolean":
            if text.lower() not in ("true", "false"):
                raise ConditionError(f.api_name, "expected true or false")
            return text.lower() == "true"
        if kind == "lookup":
            return int(text)
    except ValueError:
        raise ConditionError(f.api_name, f"the value {text!r} does not fit a {kind} field"
                             ) from None
    return text


def _casefold(value: Any) -> Any:
    return value.casefold() if isinstance(value, str) else value


def _like(pattern: str) -> re.Pattern[str]:
    parts = (re.escape(p) for p in pattern.split("%"))
    return re.compile("^" + ".*".join(parts) + "$", re.IGNORECASE | re.DOTALL)


def compile_condition(f: Field, op: str, values: Sequence[Any],
                      get: Getter | None = None) -> Predicate:
    """A predicate over stored records; `values` holds one literal, or several for in/between.

    Text comparisons are case-insensitive, as Zoho's are. A record without the field never
    satisfies a comparison (SQL semantics); `ne`/`not_in` do match it.
    """
    name = f.api_name
    getter: Getter = get if get is not None else (lambda rec: rec.get(name))
    if op in ("null", "not_null"):
        want_null = op == "null"
        return lambda rec: (getter(rec) in (None, "")) is want_null
    stored = [_casefold(literal(f, v)) for v in values]
    if op in ("lt", "le", "gt", "ge", "between", "not_between") and (
            f.data_type not in ORDERED_TYPES):
        raise ConditionError(name, f"{op} is not supported for {f.data_type} fields")
    if op in ("starts", "ends", "contains", "not_contains", "word", "like", "not_like") and (
            f.data_type not in TEXT_TYPES):
        raise ConditionError(name, f"{op} is not supported for {f.data_type} fields")
    if not stored and op not in ("in", "not_in"):
        raise ConditionError(name, "a value is required")

    def value(rec: Record) -> Any:
        return _casefold(getter(rec))

    first: Any = stored[0] if stored else None
    if op == "eq":
        return lambda rec: value(rec) == first
    if op == "ne":
        return lambda rec: value(rec) != first
    if op in ("lt", "le", "gt", "ge"):
        compare = {"lt": lambda a: a < first, "le": lambda a: a <= first,
                   "gt": lambda a: a > first, "ge": lambda a: a >= first}[op]

        def ordered(rec: Record) -> bool:
            current = value(rec)
            return current is not None and bool(compare(current))
        return ordered
    if op in ("between", "not_between"):
        if len(stored) != 2:
            raise ConditionError(name, "between needs two values")
        low, high = stored
        inside = op == "between"

        def between(rec: Record) -> bool:
            current = value(rec)
            return current is not None and (low <= current <= high) is inside
        return between
    if op in ("in", "not_in"):
        wanted = set(stored)
        member = op == "in"
        return lambda rec: (value(rec) in wanted) is member
    if op == "starts":
        return lambda rec: isinstance(v := value(rec), str) and v.startswith(first)
    if op == "ends":
        return lambda rec: isinstance(v := value(rec), str) and v.endswith(first)
    if op in ("contains", "not_contains"):
        present = op == "contains"
        return lambda rec: (isinstance(v := value(rec), str) and first in v) is present
    if op == "word":
        # Search's `equals` on text is a word match: "ABC" finds "ABC Inc" (section 4.9).
        pattern = re.compile(r"(?<!\w)" + re.escape(str(first)) + r"(?!\w)")
        return lambda rec: isinstance(v := value(rec), str) and pattern.search(v) is not None
    if op in ("like", "not_like"):
        regex = _like(str(first))
        hit = op == "like"
        return lambda rec: (isinstance(v := getter(rec), str) and bool(regex.match(v))) is hit
    raise ConditionError(name, f"unknown operator {op}")


def all_of(predicates: Sequence[Predicate]) -> Predicate:
    return lambda rec: all(p(rec) for p in predicates)


def any_of(predicates: Sequence[Predicate]) -> Predicate:
    return lambda rec: any(p(rec) for p in predicates)
