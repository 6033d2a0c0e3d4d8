"""Bulk updates of a page of customers, contact persons or addresses, as the sync applies them.

One call loads the page's current rows in one query, validates every record against the
catalog, and writes the rows that really change with one executemany per table plus one for
their outbox rows, all in the caller's transaction. A refused record (unknown id, stale
version, field errors, a second main address) gets its own result with field errors and the
rest of the page is still written: per-record rejections never stop a run.

The rules of the single-record commands hold: a new primary contact demotes the customer's
previous one; a new main address demotes the previous main one only with `replace_main`,
and is refused otherwise. Demotions are written before promotions so the partial unique index
on main addresses never sees two at once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from alix.clock import Clock, utc_now
from alix.customers import outbox
from alix.customers import repository as repo
from alix.customers.fields import Entity
from alix.customers.model import (
    Actor,
    Change,
    Errors,
    Operation,
    Value,
    clean,
    diff,
    normalize_name,
)
from alix.customers.service import currencies_of, place

_NOUNS = {Entity.CUSTOMER: "customer", Entity.CONTACT: "contact person", Entity.ADDRESS: "address"}
_FLAGS = {Entity.CONTACT: "is_primary", Entity.ADDRESS: "is_main"}


@dataclass(frozen=True, slots=True)
class RecordUpdate:
    """The fields to change on one record (a PATCH, raw values named as the catalog names them).

    With expected_version, the record is refused when it is at another version.
    """

    id: int
    values: Mapping[str, object]
    expected_version: int | None = None


@dataclass(frozen=True, slots=True)
class RecordResult:
    """What became of one record of a page: ok with its version (new only if it changed), or
    refused with field errors and left as it was."""

    id: int
    version: int | None
    changed: bool = False
    errors: Errors = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """Written, or nothing to write; False when refused."""
        return not self.errors


@dataclass(slots=True)
class _Plan:
    """One record on its way through the page: where it was, where it goes."""

    old: Any
    new: Any


def update_customers(
    session: Session, actor: Actor, updates: Sequence[RecordUpdate], *, clock: Clock = utc_now
) -> list[RecordResult]:
    """Apply a page of customer changes; one result per update, in the order given."""
    needs_currencies = any("currency" in u.values for u in updates)
    currencies = currencies_of(session, actor.organisation_id) if needs_currencies else ()
    return _update_page(session, actor, Entity.CUSTOMER, updates, clock(),
                        currencies=currencies, replace_flag=False)


def update_contacts(
    session: Session, actor: Actor, updates: Sequence[RecordUpdate], *, clock: Clock = utc_now
) -> list[RecordResult]:
    """Apply a page of contact-person changes; a new primary contact demotes the previous one."""
    return _update_page(session, actor, Entity.CONTACT, updates, clock(), replace_flag=True)


def update_addresses(
    session: Session, actor: Actor, updates: Sequence[RecordUpdate], *,
    replace_main: bool = False, clock: Clock = utc_now,
) -> list[RecordResult]:
    """Apply a page of address changes; a second main address of a kind is refused unless
    replace_main, which takes the flag from the previous main address."""
    return _update_page(session, actor, Entity.ADDRESS, updates, clock(),
                        replace_flag=replace_main)


def _update_page(
    session: Session, actor: Actor, entity: Entity, updates: Sequence[RecordUpdate],
    now: datetime, *, currencies: Sequence[str] = (), replace_flag: bool,
) -> list[RecordResult]:
    org = actor.organisation_id
    current = {r.id: r for r in repo.by_ids(session, entity, org, [u.id for u in updates],
                                             for_update=True)}
    errors: dict[int, Errors] = {}
    plans: dict[int, _Plan] = {}
    index_of: dict[int, int] = {}
    for index, update in enumerate(updates):
        problems = _refusal(entity, update, current, index_of)
        index_of.setdefault(update.id, index)
        if problems:
            errors[index] = problems
            continue
        values, problems = clean(entity, update.values, partial=True, currencies=currencies)
        if problems:
            errors[index] = problems
            continue
        old = current[update.id]
        if entity is Entity.ADDRESS:
            if "province" in values and "country" not in values:
                values["country"] = old.country
            values = place(values)
        plans[update.id] = _Plan(old, replace(old, **values))
    if entity in _FLAGS:
        refused = _keep_one_flag(session, entity, org, plans, replace_flag)
        for record_id, problems in refused.items():
            errors[index_of[record_id]] = problems
            del plans[record_id]
    versions = _write(session, actor, entity, list(plans.values()), now)
    return [
        RecordResult(u.id, None, errors=errors[i]) if i in errors
        else RecordResult(u.id, versions.get(u.id, current[u.id].version), u.id in versions)
        for i, u in enumerate(updates)
    ]


def _refusal(
    entity: Entity, update: RecordUpdate, current: Mapping[int, Any], seen: Mapping[int, int]
) -> Errors:
    noun = _NOUNS[entity]
    if update.id in seen:
        return {"id": [f"The {noun} {update.id} appears twice in this page; send it once."]}
    found = current.get(update.id)
    if found is None:
        return {"id": [f"No {noun} {update.id} in this organisation."]}
    if update.expected_version is not None and update.expected_version != found.version:
        return {"version": [
            f"The {noun} {update.id} is at version {found.version}, not "
            f"{update.expected_version}: someone changed it meanwhile."
        ]}
    return {}


def _group(entity: Entity, row: Any) -> tuple[int, str]:
    """Who shares a flag: the customer's contacts, or its addresses of one kind."""
    return row.customer_id, (row.kind if entity is Entity.ADDRESS else "")


def _keep_one_flag(
    session: Session, entity: Entity, org: int, plans: dict[int, _Plan], replace_flag: bool
) -> dict[int, Errors]:
    """At most one flagged row per group once the page is applied.

    The first record of the page to take the flag in a group wins it; later ones are refused.
    Rows holding it already are demoted (in plans) when replace_flag, else the taker is refused.
    """
    flag = _FLAGS[entity]
    takers = [p for p in plans.values() if getattr(p.new, flag) and (
        not getattr(p.old, flag) or _group(entity, p.old) != _group(entity, p.new))]
    if not takers:
        return {}
    holders = {row.id: row for row in repo.flagged_of(
        session, entity, org, sorted({p.new.customer_id for p in takers}))}
    refused: dict[int, Errors] = {}
    winners: dict[tuple[int, str], Any] = {}
    for taker in takers:
        group = _group(entity, taker.new)
        rivals = [
            row for row_id, row in holders.items()
            if row_id != taker.new.id and _group(entity, plans[row_id].new if row_id in plans
                                                  else row) == group
            and getattr(plans[row_id].new if row_id in plans else row, flag)
        ]
        if group in winners or (rivals and not replace_flag):
            refused[taker.new.id] = {flag: [_taken(entity, group, winners.get(group), rivals)]}
            continue
        winners[group] = taker.new
        for rival in rivals:
            base = plans[rival.id] if rival.id in plans else _Plan(rival, rival)
            plans[rival.id] = _Plan(base.old, replace(base.new, **{flag: False}))
    return refused


def _taken(entity: Entity, group: tuple[int, str], winner: Any, rivals: Sequence[Any]) -> str:
    what = (f"main {group[1]} address" if entity is Entity.ADDRESS else "primary contact")
    holder = winner if winner is not None else rivals[0]
    return (f"Customer {group[0]} already has a {what} ({_NOUNS[entity]} {holder.id}); "
            f"only one can be the {what}.")


def _write(
    session: Session, actor: Actor, entity: Entity, plans: Sequence[_Plan], now: datetime
) -> dict[int, int]:
    """Write the plans that really change anything; their new versions by id."""
    flag = _FLAGS.get(entity)
    rows: list[dict[str, Any]] = []
    changes: list[Change] = []
    # Rows losing a flag go first: the unique index checks each row as it is written.
    ordered = sorted(plans, key=lambda p: bool(flag and getattr(p.new, flag)))
    for plan in ordered:
        fields = diff(plan.old.values(), plan.new.values())
        if not fields:
            continue
        version = plan.old.version + 1
        row: dict[str, Value | datetime] = {
            "id": plan.old.id, "expected_version": plan.old.version, **plan.new.values(),
            "version": version, "updated_at": now,
        }
        if entity is Entity.CUSTOMER:
            row["name_key"] = normalize_name(str(plan.new.name))
        rows.append(row)
        owner = plan.old.id if entity is Entity.CUSTOMER else plan.old.customer_id
        changes.append(Change(entity, plan.old.id, owner, Operation.UPDATE, version, fields))
    repo.update_rows(session, entity, actor.organisation_id, rows)
    outbox.record(session, actor, changes, now)
    return {c.entity_id: c.version for c in changes}
