"""Running a parsed COQL query over an org's stored records, with Zoho's COQL limits."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .conditions import ConditionError, Predicate, compile_condition
from .coql import CoqlError, Junction, Query, Where, comparisons
from .orgs import Org, User
from .render import display_name, format_time
from .schema import Field, Module
from .store import Record

MAX_LIMIT = 2_000
MAX_ROWS = 10_000  # offset paging reaches 10,000 rows (section 4.10)
MAX_CRITERIA = 25
MAX_IN = 100
MAX_JOINS = 2
USER_FIELDS = {"id", "first_name", "last_name", "email", "full_name"}


def max_columns(version: str) -> int:
    # 50 columns up to v6; Kaizen #183: v7 raised SELECT to 500 (README, Part 2 decisions).
    return 500 if version in ("v7", "v8") else 50


@dataclass(frozen=True)
class Column:
    """A resolved column: the field it ends on and how to reach its stored value."""

    name: str
    field: Field
    get: Callable[[Record], Any]
    owner_attr: str | None = None


def _limit_exceeded(clause: str, limit: int) -> CoqlError:
    return CoqlError("LIMIT_EXCEEDED", "limit exceeded", {"clause": clause, "limit": limit})


def _invalid_column(name: str, clause: str) -> CoqlError:
    return CoqlError("INVALID_QUERY", "column given seems to be invalid",
                     {"column_name": name, "clause": clause})


def resolve(org: Org, module: Module, name: str, clause: str) -> Column:
    """`Field`, `Lookup.Field` or `Lookup.Lookup.Field` (at most two joins), or `Owner.email`."""
    parts = name.split(".")
    if name == "id":
        return Column("id", Field("id", "Record Id", "lookup", 0, lookup=module.api_name),
                      lambda rec: rec.get("__id__"))
    if len(parts) > MAX_JOINS + 1:
        raise _invalid_column(name, clause)
    current = module
    hops: list[tuple[str, Module]] = []
    for i, part in enumerate(parts):
        f = current.fields.get(part)
        if f is None:
            raise _invalid_column(name, clause)
        last = i == len(parts) - 1
        if last:
            break
        if f.data_type == "ownerlookup" and i == len(parts) - 2:
            attr = parts[-1]
            if attr not in USER_FIELDS:
                raise _invalid_column(name, clause)
            return _owner_column(org, name, hops, f, attr)
        if f.data_type != "lookup" or f.lookup not in org.modules:
            raise _invalid_column(name, clause)
        hops.append((part, org.modules[f.lookup]))
        current = org.modules[f.lookup]
    target = current.fields[parts[-1]]
    follow = _follower(org, hops)
    field_name = target.api_name
    return Column(name, target, lambda rec: _get(follow(rec), field_name))


def _get(rec: Record | None, name: str) -> Any:
    return None if rec is None else rec.get(name)


def _follower(org: Org, hops: list[tuple[str, Module]]) -> Callable[[Record], Record | None]:
    def follow(rec: Record) -> Record | None:
        current: Record | None = rec
        for link, target in hops:
            if current is None:
                return None
            rid = current.get(link)
            current = org.stores[target.api_name].records.get(rid) if rid is not None else None
        return current
    return follow


def _owner_column(org: Org, name: str, hops: list[tuple[str, Module]], f: Field,
                  attr: str) -> Column:
    follow = _follower(org, hops)
    text = Field(name, name, "text", 0)

    def get(rec: Record) -> Any:
        user = org.users.get(str(_get(follow(rec), f.api_name)))
        if user is None:
            return None
        return {"id": user.id, "first_name": user.first_name, "last_name": user.last_name,
                "email": user.email, "full_name": user.full_name}[attr]
    return Column(name, text, get, attr)


def _predicate(org: Org, module: Module, where: Where) -> Predicate:
    if isinstance(where, Junction):
        left = _predicate(org, module, where.left)
        right = _predicate(org, module, where.right)
        if where.operator == "and":
            return lambda rec: left(rec) and right(rec)
        return lambda rec: left(rec) or right(rec)
    column = resolve(org, module, where.column, "where")
    if column.field.data_type == "textarea":
        # Multi-line fields are not filterable (section 4.10).
        raise CoqlError("INVALID_QUERY", "unsupported column",
                        {"column_name": where.column})
    if len(where.values) > MAX_IN:
        raise _limit_exceeded("where", MAX_IN)
    try:
        return compile_condition(column.field, where.operator, where.values, column.get)
    except ConditionError as error:
        raise CoqlError("INVALID_QUERY", "invalid operator found",
                        {"column_name": where.column, "operator": where.operator,
                         "reason": error.reason}) from None


def _render(org: Org, user: User, column: Column) -> Callable[[Record], Any]:
    f = column.field
    get = column.get
    if column.name == "id":
        return lambda rec: str(rec["__id__"])
    if column.owner_attr is not None:
        return get
    if f.data_type == "datetime":
        zone = user.zone
        return lambda rec: None if (v := get(rec)) is None else format_time(v, zone)
    if f.data_type == "ownerlookup":
        return lambda rec: None if (u := org.users.get(str(get(rec)))) is None else u.ref()
    if f.data_type == "lookup" and f.lookup in org.modules:
        target = org.modules[f.lookup]
        store = org.stores[f.lookup]

        def lookup(rec: Record) -> dict[str, Any] | None:
            rid = get(rec)
            if rid is None:
                return None
            linked = store.records.get(rid)
            name = display_name(org, target, linked) if linked is not None else None
            return {"name": name, "id": str(rid)}
        return lookup
    return get


def _sort_key(get: Callable[[Record], Any]) -> Callable[[Record], tuple[int, Any]]:
    # Nulls sort first ascending and last descending, as in MySQL (README, Part 2 decisions).
    def key(rec: Record) -> tuple[int, Any]:
        value = get(rec)
        if value is None:
            return (0, 0)
        return (1, value.casefold() if isinstance(value, str) else value)
    return key


@dataclass
class Result:
    rows: list[dict[str, Any]]
    more_records: bool


def check_limits(query: Query, version: str) -> None:
    if len(query.columns) > max_columns(version):
        raise _limit_exceeded("select", max_columns(version))
    if query.where is None:
        # WHERE is required (README, Part 2 decisions); `id is not null` selects everything.
        raise CoqlError("SYNTAX_ERROR", "error occured while parsing the query",
                        {"clause": "where"})
    if len(comparisons(query.where)) > MAX_CRITERIA:
        raise _limit_exceeded("where", MAX_CRITERIA)
    if query.limit == 0:
        raise CoqlError("INVALID_QUERY", "limit given seems to be invalid",
                        {"limit": str(query.limit)})
    if query.limit > MAX_LIMIT:
        raise _limit_exceeded("limit", MAX_LIMIT)
    if query.offset + query.limit > MAX_ROWS:
        raise _limit_exceeded("offset", MAX_ROWS)
    if len(query.order_by) > 10:
        raise _limit_exceeded("order by", 10)


def execute(org: Org, user: User, query: Query, version: str = "v8") -> Result:
    """Check and run a parsed query; raises CoqlError for anything Zoho answers with 400."""
    module = org.modules.get(query.module)
    if module is None or not module.api_supported:
        raise CoqlError("INVALID_QUERY", "invalid module name given",
                        {"module": query.module})
    check_limits(query, version)
    seen: set[str] = set()
    for name in query.columns:
        if name in seen:
            raise CoqlError("DUPLICATE_DATA", "duplicate column given", {"column_name": name})
        seen.add(name)
    columns = [resolve(org, module, name, "select") for name in query.columns]
    assert query.where is not None
    predicate = _predicate(org, module, query.where)
    store = org.stores[module.api_name]
    matched: list[Record] = []
    for rid, rec in store.records.items():
        row = {**rec, "__id__": rid}
        if predicate(row):
            matched.append(row)
    for name, descending in reversed(query.order_by):
        column = resolve(org, module, name, "order by")
        matched.sort(key=_sort_key(column.get), reverse=descending)
    window = matched[query.offset:query.offset + query.limit]
    renderers = [(c.name, _render(org, user, c)) for c in columns]
    rows = []
    for rec in window:
        out: dict[str, Any] = {name: render(rec) for name, render in renderers}
        out["id"] = str(rec["__id__"])
        rows.append(out)
    return Result(rows, len(matched) > query.offset + query.limit)
