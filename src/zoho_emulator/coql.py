"""The COQL language: tokenizer and parser of `select ... from ... where ... order by ... limit`.

Supported (zoho-crm-api.md 4.10): column lists with dot notation through lookups, WHERE with
`= != <> < > <= >=`, `[not] like`, `[not] in (...)`, `[not] between a and b`,
`is [not] null`, `and` / `or` with parentheses (more than two conditions at one level need
parentheses, as Zoho insists), ORDER BY with asc/desc, and `limit n`, `limit offset, n` or
`limit n offset m`. Errors are `CoqlError`s carrying Zoho's code and details.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

KEYWORDS = {"select", "from", "where", "and", "or", "order", "by", "asc", "desc", "limit",
            "offset", "in", "not", "is", "null", "like", "between", "true", "false", "as"}
_TOKEN = re.compile(r"""
    (?P<space>\s+)
  | (?P<string>'(?:[^']|'')*')
  | (?P<number>-?\d+(?:\.\d+)?)
  | (?P<op><=|>=|!=|<>|=|<|>)
  | (?P<punct>[(),*])
  | (?P<word>[A-Za-z_$][A-Za-z0-9_$]*(?:\.[A-Za-z_$][A-Za-z0-9_$]*)*)
""", re.VERBOSE)


class CoqlError(ValueError):
    """A query Zoho refuses: HTTP 400 with `code` (SYNTAX_ERROR, INVALID_QUERY...)."""

    def __init__(self, code: str, message: str, details: dict[str, Any]) -> None:
        super().__init__(f"{code}: {message} {details}")
        self.code = code
        self.message = message
        self.details = details


def syntax_error(near: str) -> CoqlError:
    return CoqlError("SYNTAX_ERROR", "error occured while parsing the query", {"near": near})


@dataclass(frozen=True)
class Token:
    kind: str  # string, number, op, punct, word, keyword, end
    text: str
    value: Any = None


@dataclass(frozen=True)
class Comparison:
    column: str
    operator: str  # canonical name from `conditions`
    values: tuple[Any, ...]


@dataclass(frozen=True)
class Junction:
    operator: str  # "and" | "or"
    left: Where
    right: Where


Where = Comparison | Junction


@dataclass
class Query:
    columns: list[str]
    module: str
    where: Where | None = None
    order_by: list[tuple[str, bool]] = field(default_factory=list)  # (column, descending)
    limit: int = 200
    offset: int = 0


def tokenize(text: str) -> list[Token]:
    tokens: list[Token] = []
    pos = 0
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None:
            raise syntax_error(text[pos:pos + 20])
        pos = match.end()
        kind = match.lastgroup or ""
        raw = match.group()
        if kind == "space":
            continue
        if kind == "string":
            tokens.append(Token("string", raw, raw[1:-1].replace("''", "'")))
        elif kind == "number":
            tokens.append(Token("number", raw, float(raw) if "." in raw else int(raw)))
        elif kind == "word" and raw.lower() in KEYWORDS:
            tokens.append(Token("keyword", raw.lower()))
        else:
            tokens.append(Token(kind, raw))
    tokens.append(Token("end", ""))
    return tokens


COMPARATORS = {"=": "eq", "!=": "ne", "<>": "ne", "<": "lt", ">": "gt", "<=": "le", ">=": "ge"}


class _Parser:
    def __init__(self, tokens: list[Token]) -> None:
        self.tokens = tokens
        self.pos = 0

    @property
    def current(self) -> Token:
        return self.tokens[self.pos]

    def take(self) -> Token:
        token = self.tokens[self.pos]
        self.pos += 1
        return token

    def at(self, *keywords: str) -> bool:
        token = self.current
        return token.kind == "keyword" and token.text in keywords

    def expect(self, keyword: str) -> None:
        if not self.at(keyword):
            raise syntax_error(self.current.text or keyword)
        self.pos += 1

    def column(self) -> str:
        token = self.take()
        if token.kind == "word":
            return token.text
        if token.kind == "string":
            # Reserved words used as column names are quoted: 'External' (Kaizen #171).
            return str(token.value)
        raise syntax_error(token.text)

    def query(self) -> Query:
        self.expect("select")
        columns = [self.column()]
        while self.current.text == ",":
            self.take()
            columns.append(self.column())
        self.expect("from")
        module = self.take()
        if module.kind != "word":
            raise syntax_error(module.text)
        query = Query(columns, module.text)
        if self.at("where"):
            self.take()
            query.where = self.condition()
        if self.at("order"):
            self.take()
            self.expect("by")
            query.order_by.append(self.ordering())
            while self.current.text == ",":
                self.take()
                query.order_by.append(self.ordering())
        if self.at("limit"):
            self.take()
            self._limit(query)
        if self.current.kind != "end":
            raise syntax_error(self.current.text)
        return query

    def ordering(self) -> tuple[str, bool]:
        name = self.column()
        descending = False
        if self.at("asc", "desc"):
            descending = self.take().text == "desc"
        return name, descending

    def _integer(self, name: str) -> int:
        token = self.take()
        if token.kind != "number" or not isinstance(token.value, int) or token.value < 0:
            raise CoqlError("INVALID_QUERY", f"{name} given seems to be invalid",
                            {name: token.text})
        return token.value

    def _limit(self, query: Query) -> None:
        first = self._integer("limit")
        if self.current.text == ",":
            self.take()
            query.offset, query.limit = first, self._integer("limit")
        else:
            query.limit = first
            if self.at("offset"):
                self.take()
                query.offset = self._integer("offset")

    def condition(self) -> Where:
        left = self.operand()
        if not self.at("and", "or"):
            return left
        joiner = self.take().text
        right = self.operand()
        if self.at("and", "or"):
            # `a and b and c` is refused: more than two need pairwise parentheses.
            raise syntax_error(self.current.text)
        return Junction(joiner, left, right)

    def operand(self) -> Where:
        if self.current.text == "(":
            self.take()
            inner = self.condition()
            if self.current.text != ")":
                raise syntax_error(self.current.text)
            self.take()
            return inner
        return self.comparison()

    def value(self) -> Any:
        token = self.take()
        if token.kind in ("string", "number"):
            return token.value
        if token.kind == "keyword" and token.text in ("true", "false"):
            return token.text == "true"
        raise syntax_error(token.text)

    def comparison(self) -> Comparison:
        name = self.column()
        token = self.current
        if token.kind == "op":
            self.take()
            return Comparison(name, COMPARATORS[token.text], (self.value(),))
        negated = False
        if self.at("is"):
            self.take()
            if self.at("not"):
                self.take()
                negated = True
            self.expect("null")
            return Comparison(name, "not_null" if negated else "null", ())
        if self.at("not"):
            self.take()
            negated = True
        if self.at("like"):
            self.take()
            return Comparison(name, "not_like" if negated else "like", (self.value(),))
        if self.at("between"):
            self.take()
            low = self.value()
            self.expect("and")
            high = self.value()
            return Comparison(name, "not_between" if negated else "between", (low, high))
        if self.at("in"):
            self.take()
            if self.current.text != "(":
                raise syntax_error(self.current.text)
            self.take()
            values = [self.value()]
            while self.current.text == ",":
                self.take()
                values.append(self.value())
            if self.current.text != ")":
                raise syntax_error(self.current.text)
            self.take()
            return Comparison(name, "not_in" if negated else "in", tuple(values))
        raise syntax_error(token.text)


def parse(text: str) -> Query:
    """The parsed query; raises CoqlError(SYNTAX_ERROR / INVALID_QUERY) like Zoho."""
    return _Parser(tokenize(text)).query()


def comparisons(where: Where | None) -> list[Comparison]:
    """Every comparison of a WHERE tree, left to right (Zoho caps them at 25)."""
    if where is None:
        return []
    if isinstance(where, Comparison):
        return [where]
    return comparisons(where.left) + comparisons(where.right)
