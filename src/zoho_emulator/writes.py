"""Insert, update and delete with Zoho's per-record results, duplicate checks and cascades."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .errors import record_error
from .events import ChangeEvent, Operation
from .orgs import Org, User
from .render import display_name, format_time
from .schema import SYSTEM_FIELDS, Module
from .store import Deleted, Record
from .validation import FieldProblem, coerce, parse_id

# Deleting an Account also deletes its Contacts and Deals (README, "Deleting an Account").
CASCADE = {("Contacts", "Account_Name"), ("Deals", "Account_Name")}
# A locked record refuses updates and deletes one by one (section 4.4, 9.9; README, "Locking").
_LOCKED = ("RECORD_LOCKED", "the record is locked")


@dataclass
class WriteContext:
    """Who writes, when, and where events go."""

    org: Org
    user: User
    now: int
    publish: Callable[[ChangeEvent], None]
    via_api: bool = True
    trigger: list[str] | None = None
    cascade: bool = True

    def emit(self, module: str, op: Operation, changed: dict[str, dict[str, Any]],
             related: bool = False) -> None:
        if changed:
            self.publish(ChangeEvent(self.org.id, module, op, tuple(changed), self.user.id,
                                     self.via_api, self.trigger, changed, related))


def _success(ctx: WriteContext, message: str, rid: int, rec: Record) -> dict[str, Any]:
    zone = ctx.user.zone
    users = ctx.org.users
    return {"code": "SUCCESS", "status": "success", "message": message, "details": {
        "id": str(rid),
        "Created_Time": format_time(rec["Created_Time"], zone),
        "Modified_Time": format_time(rec["Modified_Time"], zone),
        "Created_By": users[rec["Created_By"]].ref(),
        "Modified_By": users[rec["Modified_By"]].ref(),
        "$approval_state": "approved"}}


def _problem(p: FieldProblem) -> dict[str, Any]:
    return record_error(p.code, p.message, p.details)


def _object(item: Any, i: int) -> dict[str, Any]:
    """`data[i]` itself, which must be a JSON object."""
    if not isinstance(item, dict):
        raise FieldProblem("INVALID_DATA", "invalid data",
                           {"api_name": "data", "json_path": f"$.data[{i}]"})
    return item


def _values(ctx: WriteContext, module: Module, item: dict[str, Any], i: int) -> dict[str, Any]:
    """Coerced values of the writable fields sent; unknown and read-only keys are ignored."""
    values: dict[str, Any] = {}
    for key, raw in item.items():
        f = module.fields.get(key)
        if f is None or f.read_only or key in SYSTEM_FIELDS[1:] or key == "Exchange_Rate":
            continue
        values[f.api_name] = coerce(f, raw, ctx.org, f"$.data[{i}].{key}")
    return values


def _check(ctx: WriteContext, module: Module, merged: Record, i: int,
           exclude: int | None) -> None:
    for f in module.fields.values():
        if f.mandatory and merged.get(f.api_name) in (None, ""):
            raise FieldProblem("MANDATORY_NOT_FOUND", "required field not found",
                               {"api_name": f.api_name, "json_path": f"$.data[{i}].{f.api_name}"})
    store = ctx.org.store(module.api_name)
    for name in store.unique_fields():
        dup = store.find_duplicate(name, merged.get(name), exclude)
        if dup is not None:
            owner = ctx.org.users[store.records[dup]["Owner"]]
            raise FieldProblem("DUPLICATE_DATA", "duplicate data", {
                "api_name": name, "json_path": f"$.data[{i}].{name}",
                "duplicate_record": {"id": str(dup), "Owner": owner.ref(), "module": {
                    "api_name": module.api_name, "id": str(module.id)}}})


def _derive(ctx: WriteContext, module: Module, rec: Record) -> None:
    if "Full_Name" in module.fields:
        rec["Full_Name"] = " ".join(p for p in (rec.get("First_Name"), rec.get("Last_Name")) if p)
    if "Currency" in module.fields:
        currency = ctx.org.currency(rec.get("Currency") or ctx.org.home_currency.iso_code)
        if currency is not None:
            rec["Currency"] = currency.iso_code
            rec["Exchange_Rate"] = float(currency.exchange_rate)


def insert(ctx: WriteContext, module: Module, items: list[Any]) -> list[dict[str, Any]]:
    """One result per item, in order; later items see earlier ones (in-batch duplicates)."""
    store = ctx.org.store(module.api_name)
    results: list[dict[str, Any]] = []
    changed: dict[str, dict[str, Any]] = {}
    for i, item in enumerate(items):
        try:
            values = _values(ctx, module, _object(item, i), i)
            rec: Record = {k: v for k, v in values.items() if v is not None}
            _check(ctx, module, rec, i, None)
        except FieldProblem as problem:
            results.append(_problem(problem))
            continue
        rec.setdefault("Owner", ctx.user.id)
        rec["Created_By"] = rec["Modified_By"] = ctx.user.id
        rec["Created_Time"] = rec["Modified_Time"] = ctx.now
        _derive(ctx, module, rec)
        rid = ctx.org.ids.next()
        store.put(rid, rec)
        changed[str(rid)] = dict(values)
        results.append(_success(ctx, "record added", rid, rec))
    ctx.emit(module.api_name, "insert", changed)
    return results


def update(ctx: WriteContext, module: Module, items: list[Any],
           path_id: int | None = None) -> list[dict[str, Any]]:
    """Partial updates: only sent keys change; `Modified_Time` moves on every success."""
    store = ctx.org.store(module.api_name)
    results: list[dict[str, Any]] = []
    changed: dict[str, dict[str, Any]] = {}
    for i, item in enumerate(items):
        try:
            raw = _object(item, i).get("id", path_id)
            if raw is None:
                raise FieldProblem("MANDATORY_NOT_FOUND", "required field not found",
                                   {"api_name": "id", "json_path": f"$.data[{i}].id"})
            rid = parse_id(raw)
            old = store.get(rid) if rid is not None else None
            if rid is None or old is None:
                raise FieldProblem("INVALID_DATA", "the id given seems to be invalid",
                                   {"id": str(raw)})
            if rid in store.locked:
                raise FieldProblem(*_LOCKED, {"id": str(rid)})
            values = _values(ctx, module, item, i)
            merged = {**old, **values}
            _check(ctx, module, merged, i, rid)
        except FieldProblem as problem:
            results.append(_problem(problem))
            continue
        rec = {k: v for k, v in merged.items() if v is not None}
        rec["Modified_By"] = ctx.user.id
        rec["Modified_Time"] = ctx.now
        _derive(ctx, module, rec)
        store.put(rid, rec)
        changed[str(rid)] = dict(values)
        results.append(_success(ctx, "record updated", rid, rec))
    ctx.emit(module.api_name, "update", changed)
    return results


def delete(ctx: WriteContext, module: Module, raw_ids: list[Any]) -> list[dict[str, Any]]:
    """Move records to the recycle bin, then cascade to records that look them up."""
    results: list[dict[str, Any]] = []
    gone: set[int] = set()
    for raw in raw_ids:
        rid = parse_id(raw)
        if rid is not None and rid in ctx.org.store(module.api_name).locked:
            results.append(record_error(*_LOCKED, {"id": str(rid)}))
            continue
        if rid is None or not _remove(ctx, module, rid):
            results.append(record_error("INVALID_DATA", "record not deleted", {"id": str(raw)}))
            continue
        gone.add(rid)
        results.append({"code": "SUCCESS", "details": {"id": str(rid)},
                        "message": "record deleted", "status": "success"})
    ctx.emit(module.api_name, "delete", {str(rid): {} for rid in gone})
    if gone:
        _cascade(ctx, module, gone)
    return results


def _remove(ctx: WriteContext, module: Module, rid: int) -> bool:
    store = ctx.org.store(module.api_name)
    rec = store.get(rid)
    if rec is None:
        return False
    entry = Deleted(rid, display_name(ctx.org, module, rec), ctx.now, ctx.user.id,
                    rec.get("Created_By"))
    store.remove(rid, entry)
    return True


def _cascade(ctx: WriteContext, module: Module, gone: set[int]) -> None:
    for other in ctx.org.modules.values():
        links = [f.api_name for f in other.fields.values() if f.lookup == module.api_name]
        if not links:
            continue
        store = ctx.org.store(other.api_name)
        for name in links:
            hits = [rid for rid, rec in store.records.items() if rec.get(name) in gone]
            if not hits:
                continue
            if ctx.cascade and module.api_name == "Accounts" and (other.api_name, name) in CASCADE:
                removed = {r for r in hits if _remove(ctx, other, r)}
                ctx.emit(other.api_name, "delete", {str(r): {} for r in removed}, related=True)
                _cascade(ctx, other, removed)
                continue
            # Other lookups are emptied; Modified_Time stays (README, "Deleting an Account").
            for rid in hits:
                rec = dict(store.records[rid])
                del rec[name]
                store.put(rid, rec)
            ctx.emit(other.api_name, "update", {str(r): {name: None} for r in hits},
                     related=True)
