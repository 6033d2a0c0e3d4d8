"""The search API's criteria language: `((Field:operator:value)and(Field:operator:value))`.

Grammar (zoho-crm-api.md 4.9): a condition is `(api_name:operator:value)`; conditions and
parenthesised groups join with `and` / `or`. `\\(`, `\\)` and `\\,` escape those characters in
values; `in` and `between` take comma-separated values. Only the first two colons split, so
datetimes with offsets need no escaping.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from .conditions import ConditionError, Predicate, all_of, any_of, compile_condition
from .schema import Module

# Operators per field type (section 4.9); `equals` on text is a word match.
TEXT_OPS = ("equals", "not_equal", "starts_with", "in")
PICKLIST_OPS = ("equals", "not_equal", "in")
ORDERED_OPS = ("equals", "not_equal", "greater_than", "greater_equal", "less_than",
               "less_equal", "between", "in")
ALLOWED = {
    "text": TEXT_OPS, "textarea": TEXT_OPS, "email": TEXT_OPS, "phone": TEXT_OPS,
    "website": TEXT_OPS, "autonumber": TEXT_OPS, "bigint": TEXT_OPS,
    "picklist": PICKLIST_OPS, "multiselectpicklist": PICKLIST_OPS,
    "integer": ORDERED_OPS, "double": ORDERED_OPS, "currency": ORDERED_OPS,
    "decimal": ORDERED_OPS, "percent": ORDERED_OPS, "date": ORDERED_OPS,
    "datetime": ORDERED_OPS, "boolean": ("equals", "not_equal"),
    "lookup": ("equals", "not_equal", "in"), "ownerlookup": ("equals", "not_equal", "in"),
}
CANONICAL = {"not_equal": "ne", "starts_with": "starts", "in": "in", "greater_than": "gt",
             "greater_equal": "ge", "less_than": "lt", "less_equal": "le",
             "between": "between"}
MAX_IN_VALUES = 100


class CriteriaError(ValueError):
    """Malformed criteria; `reason` and `api_name` go into Zoho's INVALID_QUERY details."""

    def __init__(self, reason: str, api_name: str | None = None) -> None:
        super().__init__(reason if api_name is None else f"{api_name}: {reason}")
        self.reason = reason
        self.api_name = api_name


@dataclass(frozen=True)
class Condition:
    field: str
    operator: str
    values: tuple[str, ...]


@dataclass(frozen=True)
class Group:
    operator: str  # "and" | "or"
    items: tuple[Condition | Group, ...]


Node = Condition | Group


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def fail(self, reason: str) -> CriteriaError:
        return CriteriaError(f"{reason} at position {self.pos}")

    def peek(self, token: str) -> bool:
        return self.text.startswith(token, self.pos)

    def expression(self) -> Node:
        items = [self.term()]
        operator: str | None = None
        while True:
            lowered = self.text[self.pos:self.pos + 3].lower()
            joiner = "and" if lowered == "and" else "or" if lowered.startswith("or") else None
            if joiner is None:
                break
            if operator is not None and joiner != operator:
                # Mixing and/or at one level is ambiguous; Zoho wants parentheses.
                raise self.fail("mixed and/or without parentheses")
            operator = joiner
            self.pos += len(joiner)
            items.append(self.term())
        return items[0] if len(items) == 1 else Group(operator or "and", tuple(items))

    def term(self) -> Node:
        if not self.peek("("):
            raise self.fail("expected (")
        self.pos += 1
        node = self.expression() if self.peek("(") else self.condition()
        if not self.peek(")"):
            raise self.fail("expected )")
        self.pos += 1
        return node

    def condition(self) -> Condition:
        raw: list[str] = []
        while self.pos < len(self.text):
            ch = self.text[self.pos]
            if ch == "\\" and self.pos + 1 < len(self.text):
                raw.append("\\" + self.text[self.pos + 1])
                self.pos += 2
                continue
            if ch == ")":
                break
            raw.append(ch)
            self.pos += 1
        body = raw
        parts: list[list[str]] = [[]]
        for piece in body:
            if piece == ":" and len(parts) < 3:
                parts.append([])
            else:
                parts[-1].append(piece)
        if len(parts) != 3:
            raise self.fail("expected field:operator:value")
        field = "".join(parts[0]).strip()
        operator = "".join(parts[1]).strip().lower()
        values = _split_values(parts[2])
        return Condition(field, operator, tuple(values))


def _split_values(pieces: list[str]) -> list[str]:
    values: list[str] = []
    current: list[str] = []
    for piece in pieces:
        if piece == ",":
            values.append("".join(current))
            current = []
        else:
            current.append(piece[1:] if piece.startswith("\\") else piece)
    values.append("".join(current))
    return values


def parse(text: str) -> Node:
    """The criteria tree; raises CriteriaError for anything Zoho would refuse to parse."""
    text = text.strip()
    if not text:
        raise CriteriaError("empty criteria")
    parser = _Parser(text)
    node = parser.expression()
    if parser.pos != len(text):
        raise parser.fail("unexpected text")
    return node


def count(node: Node) -> int:
    """Number of conditions, which Zoho caps (CRITERIA_LIMIT_EXCEEDED)."""
    if isinstance(node, Condition):
        return 1
    return sum(count(item) for item in node.items)


def compile_criteria(node: Node, module: Module) -> Predicate:
    """A predicate over stored records of `module`."""
    if isinstance(node, Group):
        parts = [compile_criteria(item, module) for item in node.items]
        return all_of(parts) if node.operator == "and" else any_of(parts)
    f = module.fields.get(node.field)
    if f is None:
        raise CriteriaError("the field is not available for search", node.field)
    allowed = ALLOWED.get(f.data_type, TEXT_OPS)
    if node.operator not in allowed:
        raise CriteriaError("invalid operator found", node.field)
    values: Sequence[str] = node.values
    if node.operator in ("in",):
        if len(values) > MAX_IN_VALUES:
            raise CriteriaError(f"in takes at most {MAX_IN_VALUES} values", node.field)
    elif node.operator == "between":
        if len(values) != 2:
            raise CriteriaError("between needs two values", node.field)
    else:
        values = [",".join(values)]
    op = CANONICAL.get(node.operator, "eq")
    if node.operator == "equals" and f.data_type in ("text", "textarea", "website"):
        op = "word"
    try:
        return compile_condition(f, op, values)
    except ConditionError as error:
        raise CriteriaError(error.reason, node.field) from None
