"""Bulk writes of a page of customers, contact persons or addresses, as the sync applies them.

One call loads the page's current rows in one query, validates every record against the
catalog, and writes the new rows or those that really change with one executemany per table
plus one for their outbox rows, all in the caller's transaction. A refused record (unknown id, stale
version, field errors, a second main address) gets its own result with field errors and the
rest of the page is still written: per-record rejections never stop a run.

The flag rule of the single-record commands holds (alix.customers.flags): an updated primary
contact demotes the customer's previous one; an updated main address demotes the previous main
one only with `replace_main`, and is refused otherwise; a new child never takes a flag over.
Demotions are written before promotions so the partial unique index on main addresses never
sees two at once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from alix.clock import Clock, utc_now
from alix.customers import flags, outbox
from alix.customers import repository as repo
from alix.customers.domain import (
    Actor,
    Change,
    Errors,
    Operation,
    Value,
    clean,
    created,
    diff,
    normalize_name,
)
from alix.customers.fields import Entity
from alix.customers.service import currencies_of, place

_NOUNS = {Entity.CUSTOMER: "customer", Entity.CONTACT: "contact person", Entity.ADDRESS: "address"}


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


@dataclass(frozen=True, slots=True)
class NewChild:
    """A contact person or address to add to a stored customer (raw values, named as the
    catalog names them)."""

    customer_id: int
    values: Mapping[str, object]


@dataclass(frozen=True, slots=True)
class Created:
    """What became of one new record: its id (at version 1), or refused with field errors and
    not written."""

    id: int | None
    errors: Errors = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """Created; False when refused."""
        return not self.errors


def create_children(
    session: Session, actor: Actor, entity: Entity, children: Sequence[NewChild], *,
    clock: Clock = utc_now, history: bool = True,
) -> list[Created]:
    """Create a page of contact persons or addresses; one result per child, in the order given.

    A child of a customer not in the organisation is refused on `customer_id`. A flag is never
    taken from a stored row here: a child claiming one its group holds already (a stored row
    or an earlier child of the page) is refused on the flag. Statements do not grow with the
    page: the customers, the flag holders, one executemany of rows and one of outbox rows.

    `history=False` (an integration's own import only) writes no outbox row per record: the
    caller records the page's writes once, in its run counters.
    """
    _check_history(actor, history)
    if not children:
        return []
    org = actor.organisation_id
    now = clock()
    known = repo.existing_ids(session, Entity.CUSTOMER, org, [c.customer_id for c in children])
    errors: dict[int, Errors] = {}
    valid: dict[int, dict[str, Value]] = {}
    for index, child in enumerate(children):
        if child.customer_id not in known:
            errors[index] = {"customer_id": [
                f"No customer {child.customer_id} in this organisation."]}
            continue
        values, problems = clean(entity, child.values)
        if problems:
            errors[index] = problems
        else:
            valid[index] = place(values) if entity is Entity.ADDRESS else values
    for index, problems in _refuse_taken_flags(session, entity, org, children, valid).items():
        errors[index] = problems
        del valid[index]
    ids = _insert(session, actor, entity,
                  [(children[index].customer_id, values) for index, values in valid.items()],
                  now, history=history)
    made = dict(zip(valid, ids, strict=True))
    return [Created(made.get(index), errors.get(index, {})) for index in range(len(children))]


def create_customers(
    session: Session, actor: Actor, batch: Sequence[Mapping[str, object]], *,
    clock: Clock = utc_now, history: bool = True,
) -> list[Created]:
    """Create a page of customers (their contacts and addresses come with create_children); one
    result per record, in the order given. Unlike service.create_customers, a refused record
    (field errors, an unknown currency) does not stop the others. Statements do not grow with
    the page: the currencies, one executemany of rows, one of outbox rows (see `history`).
    """
    _check_history(actor, history)
    currencies = currencies_of(session, actor.organisation_id)
    errors: dict[int, Errors] = {}
    valid: dict[int, dict[str, Value]] = {}
    for index, raw in enumerate(batch):
        values, problems = clean(Entity.CUSTOMER, raw, currencies=currencies)
        if problems:
            errors[index] = problems
        else:
            valid[index] = values
    ids = _insert(session, actor, Entity.CUSTOMER, [(None, v) for v in valid.values()],
                  clock(), history=history)
    made = dict(zip(valid, ids, strict=True))
    return [Created(made.get(index), errors.get(index, {})) for index in range(len(batch))]


def _check_history(actor: Actor, history: bool) -> None:
    # Only an integration's own writes may go unrecorded: an ALIX change without its outbox
    # row would never be pushed.
    if not history and not actor.origin.is_integration:
        raise ValueError("Only an integration's own writes may skip the outbox history.")


def _insert(
    session: Session, actor: Actor, entity: Entity,
    rows: Sequence[tuple[int | None, Mapping[str, Value]]], now: datetime, *, history: bool,
) -> list[int]:
    """Insert clean new rows (customer id, values) as tuples, every row with the same fields;
    their ids. With `history`, one outbox row each (for an integration, born `skipped`);
    without, none: the caller records the page's writes itself (the sync's run counters)."""
    if not rows:
        return []
    org = actor.organisation_id
    stamp = repo.db_timestamp(session, now)
    names = list(rows[0][1])
    if entity is Entity.CUSTOMER:
        columns = [*names, "name_key", "organisation_id", "version", "created_at", "updated_at"]
        tuples = [(*(values[n] for n in names), normalize_name(str(values["name"])), org, 1,
                   stamp, stamp) for _owner, values in rows]
    else:
        columns = [*names, "organisation_id", "customer_id", "version", "created_at",
                   "updated_at"]
        tuples = [(*(values[n] for n in names), org, owner, 1, stamp, stamp)
                  for owner, values in rows]
    ids = repo.insert_tuples(session, entity, columns, tuples)
    if history:
        outbox.record(session, actor, [
            Change(entity, row_id, owner if owner is not None else row_id, Operation.CREATE, 1,
                   created(values))
            for row_id, (owner, values) in zip(ids, rows, strict=True)
        ], now)
    return ids


def _refuse_taken_flags(
    session: Session, entity: Entity, org: int, children: Sequence[NewChild],
    valid: Mapping[int, Mapping[str, Value]],
) -> dict[int, Errors]:
    """The flag rule over new children (alix.customers.flags), without taking over."""
    claimed = [index for index, values in valid.items() if flags.flagged(entity, values)]
    if not claimed:
        return {}
    holders = repo.flag_holders(session, entity, org,
                                sorted({children[index].customer_id for index in claimed}))
    ruling = flags.rule(
        [flags.Held(row_id, flags.group_of(entity, customer_id, {"kind": kind}))
         for row_id, customer_id, kind in holders],
        [flags.Claim(None, flags.group_of(entity, children[index].customer_id, valid[index]))
         for index in claimed],
        take_over=False,
    )
    flag = flags.FLAGS[entity]
    return {claimed[n]: {flag: [flags.refusal(entity, taken)]}
            for n, taken in ruling.refused.items()}


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
    if entity in flags.FLAGS:
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


def _keep_one_flag(
    session: Session, entity: Entity, org: int, plans: dict[int, _Plan], replace_flag: bool
) -> dict[int, Errors]:
    """The flag rule over the page once applied (alix.customers.flags): refused takers by id;
    holders losing the flag are demoted in plans."""
    flag = flags.FLAGS[entity]

    def group(row: Any) -> flags.Group:
        return flags.group_of(entity, row.customer_id, row.values())

    takers = [p.new for p in plans.values() if getattr(p.new, flag) and (
        not getattr(p.old, flag) or group(p.old) != group(p.new))]
    if not takers:
        return {}
    stored = repo.flagged_of(session, entity, org, sorted({t.customer_id for t in takers}))
    # A holder is judged as the page leaves it: it may lose the flag or change group here.
    after = [plans[row.id].new if row.id in plans else row for row in stored]
    ruling = flags.rule([flags.Held(row.id, group(row)) for row in after if getattr(row, flag)],
                        [flags.Claim(t.id, group(t)) for t in takers], take_over=replace_flag)
    for row in stored:
        if row.id in ruling.demoted:
            base = plans.get(row.id, _Plan(row, row))
            plans[row.id] = _Plan(base.old, replace(base.new, **{flag: False}))
    return {takers[index].id: {flag: [flags.refusal(entity, taken, holder=_holder(
                entity, taken, takers))]}
            for index, taken in ruling.refused.items()}


def _holder(entity: Entity, taken: flags.Taken, takers: Sequence[Any]) -> str:
    held = taken.holder_id if taken.claim_index is None else takers[taken.claim_index].id
    return f"{_NOUNS[entity]} {held}"


def _write(
    session: Session, actor: Actor, entity: Entity, plans: Sequence[_Plan], now: datetime
) -> dict[int, int]:
    """Write the plans that really change anything; their new versions by id."""
    flag = flags.FLAGS.get(entity)
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
