"""Commands on customers: create (in bulk), update, activate, deactivate, delete; all captured.

Every command runs inside the caller's transaction (`unit_of_work`) and writes its outbox rows
there, so a change and its record commit or roll back together. Commands take an `Actor`: the
pages pass the logged-in user with origin `user`, the REST API origin `api`, and the sync the
organisation's system user with origin `zoho_crm`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from alix.clock import Clock, utc_now
from alix.customers import flags, geography, outbox
from alix.customers import repository as repo
from alix.customers.domain import (
    Actor,
    Change,
    Customer,
    Errors,
    NewCustomer,
    Operation,
    Origin,
    Value,
    clean,
    created,
    diff,
    normalize_name,
    prefixed,
    removed,
)
from alix.customers.fields import Entity
from alix.errors import Conflict, NotFound, ValidationFailed
from alix.identity.service import system_user
from alix.identity.tables import Organisation

SYNC_USER_NAME = "Zoho CRM sync"


def sync_actor(session: Session, organisation_id: int, *, clock: Clock = utc_now) -> Actor:
    """The actor the Zoho CRM sync writes as: the organisation's system user, origin zoho_crm."""
    user = system_user(session, organisation_id, SYNC_USER_NAME, clock=clock)
    return Actor(organisation_id, user.id, Origin.ZOHO_CRM)


def currencies_of(session: Session, organisation_id: int) -> list[str]:
    """The organisation's currencies (ISO 4217), the first being its default."""
    org = session.get(Organisation, organisation_id)
    if org is None:
        raise NotFound(f"No organisation {organisation_id}.")
    return list(org.currencies)


def place(values: dict[str, Value]) -> dict[str, Value]:
    """Country and province as ISO codes where one fits, as typed otherwise."""
    if "country" in values:
        values["country"] = geography.country_code(_text(values["country"]))
    if "province" in values:
        values["province"] = geography.province_code(
            _text(values["province"]), _text(values.get("country"))
        )
    return values


def _text(value: Value) -> str | None:
    return value if isinstance(value, str) else None


def _one_flag_each(entity: Entity, key: str, rows: Sequence[Mapping[str, Value]]) -> Errors:
    """The new children of a new customer: the first flagged row of a group keeps the flag,
    later ones are errors naming the row (`contacts.1.is_primary`)."""
    flag = flags.FLAGS[entity]
    claimed = [i for i, row in enumerate(rows) if flags.flagged(entity, row)]
    ruling = flags.rule(
        (), [flags.Claim(None, flags.group_of(entity, None, rows[i])) for i in claimed],
        take_over=False,
    )
    return {
        f"{key}.{claimed[n]}.{flag}": [flags.refusal(
            entity, taken, holder=f"{key}.{claimed[taken.claim_index or 0]}")]
        for n, taken in ruling.refused.items()
    }


def claim_flag(
    session: Session, actor: Actor, entity: Entity, row_id: int | None, customer_id: int,
    values: Mapping[str, Value], *, take_over: bool, now: datetime,
) -> tuple[flags.Taken, Any] | None:
    """One contact or address (row_id, None when new) claims its flag in customer_id's group.

    Granted: None, and with take_over the rows holding the flag lose it (recorded changes).
    Refused: why, with the row that keeps the flag; nothing is written.
    """
    holders = repo.flagged_of(session, entity, actor.organisation_id, [customer_id])
    ruling = flags.rule(
        [flags.Held(h.id, flags.group_of(entity, h.customer_id, h.values())) for h in holders],
        [flags.Claim(row_id, flags.group_of(entity, customer_id, values))],
        take_over=take_over,
    )
    if not ruling.granted(0):
        taken = ruling.refused[0]
        return taken, next(h for h in holders if h.id == taken.holder_id)
    for holder in holders:
        if holder.id in ruling.demoted:
            apply_change(session, actor, entity, holder, {flags.FLAGS[entity]: False}, now)
    return None


@dataclass(frozen=True, slots=True)
class _Prepared:
    values: dict[str, Value]
    contacts: list[dict[str, Value]]
    addresses: list[dict[str, Value]]


def _prepare(new: NewCustomer, currencies: Sequence[str]) -> tuple[_Prepared, Errors]:
    values, errors = clean(Entity.CUSTOMER, new.values, currencies=currencies)
    contacts: list[dict[str, Value]] = []
    for i, raw in enumerate(new.contacts):
        contact, problems = clean(Entity.CONTACT, raw)
        contacts.append(contact)
        errors.update(prefixed(f"contacts.{i}", problems))
    places: list[dict[str, Value]] = []
    for i, raw in enumerate(new.addresses):
        address, problems = clean(Entity.ADDRESS, raw)
        places.append(place(address))
        errors.update(prefixed(f"addresses.{i}", problems))
    errors.update(_one_flag_each(Entity.CONTACT, "contacts", contacts))
    errors.update(_one_flag_each(Entity.ADDRESS, "addresses", places))
    return _Prepared(values, contacts, places), errors


def _stamped(values: Mapping[str, Value], now: datetime, **extra: Any) -> dict[str, Any]:
    return {**values, **extra, "version": 1, "created_at": now, "updated_at": now}


def _insert(
    session: Session,
    actor: Actor,
    prepared: Sequence[_Prepared],
    now: datetime,
) -> list[int]:
    org = actor.organisation_id
    customer_ids = repo.insert_rows(
        session,
        Entity.CUSTOMER,
        [
            _stamped(p.values, now, organisation_id=org,
                     name_key=normalize_name(str(p.values["name"])))
            for p in prepared
        ],
    )
    changes = [
        Change(Entity.CUSTOMER, cid, cid, Operation.CREATE, 1, created(p.values))
        for cid, p in zip(customer_ids, prepared, strict=True)
    ]
    for entity in (Entity.CONTACT, Entity.ADDRESS):
        nested = [p.contacts if entity is Entity.CONTACT else p.addresses for p in prepared]
        owners = [cid for cid, rows in zip(customer_ids, nested, strict=True) for _ in rows]
        children = [child for rows in nested for child in rows]
        ids = repo.insert_rows(
            session,
            entity,
            [
                _stamped(child, now, organisation_id=org, customer_id=owner)
                for owner, child in zip(owners, children, strict=True)
            ],
        )
        changes.extend(
            Change(entity, row_id, owner, Operation.CREATE, 1, created(child))
            for row_id, owner, child in zip(ids, owners, children, strict=True)
        )
    outbox.record(session, actor, changes, now)
    return customer_ids


def create_customer(
    session: Session, actor: Actor, new: NewCustomer, *, clock: Clock = utc_now
) -> Customer:
    """Create one customer with its contacts and addresses; errors name the field
    (`name`, `contacts.0.last_name`, `addresses.1.is_main`)."""
    prepared, errors = _prepare(new, currencies_of(session, actor.organisation_id))
    if errors:
        raise ValidationFailed(errors)
    [customer_id] = _insert(session, actor, [prepared], clock())
    return repo.get_customer(session, actor.organisation_id, customer_id)


def create_customers(
    session: Session, actor: Actor, batch: Sequence[NewCustomer], *, clock: Clock = utc_now
) -> list[int]:
    """Create many customers with a handful of executemany statements; their ids in order.

    All or nothing: when any is invalid, ValidationFailed names it by its index
    (`3.contacts.0.email`) and nothing is written.
    """
    currencies = currencies_of(session, actor.organisation_id)
    prepared = []
    errors: Errors = {}
    for i, new in enumerate(batch):
        one, problems = _prepare(new, currencies)
        prepared.append(one)
        errors.update(prefixed(str(i), problems))
    if errors:
        raise ValidationFailed(errors)
    return _insert(session, actor, prepared, clock())


def apply_change(
    session: Session,
    actor: Actor,
    entity: Entity,
    current: Any,
    values: Mapping[str, Value],
    now: datetime,
    *,
    customer_id: int | None = None,
    extra: Mapping[str, Any] | None = None,
) -> Any:
    """Write the fields of values that differ from current, bump the version and record it.

    Nothing differs: nothing is written and current is returned (so an echo costs no write).
    The write is conditional on current's version: a concurrent change raises Conflict.
    """
    fields = diff(current.values(), values)
    if not fields and not extra:
        return current
    version = current.version + 1
    written = {name: new for name, (_old, new) in fields.items()}
    row = {**written, **(extra or {}), "version": version, "updated_at": now}
    if not repo.update_row(session, entity, actor.organisation_id, current.id, current.version,
                           row):
        raise Conflict(
            f"The {entity.value} {current.id} was changed by someone else meanwhile; "
            "reload it and try again."
        )
    # Extra columns outside the catalog: name_key (derived, not recorded) and a contact's
    # customer_id when it moves (recorded: the sync re-parents the Zoho contact).
    moved = {k: v for k, v in (extra or {}).items() if hasattr(current, k)}
    fields.update({k: (getattr(current, k), v) for k, v in moved.items()})
    owner = customer_id if customer_id is not None else getattr(current, "customer_id", current.id)
    outbox.record(
        session, actor, [Change(entity, current.id, owner, Operation.UPDATE, version, fields)], now
    )
    return replace(current, **written, **moved, version=version, updated_at=now)


def check_version(entity: Entity, current: Any, expected: int | None) -> None:
    """Conflict when the caller edited another version than the stored one (None: any)."""
    if expected is not None and expected != current.version:
        raise Conflict(
            f"The {entity.value} {current.id} is at version {current.version}, not {expected}: "
            "someone changed it meanwhile. Reload it and try again."
        )


def insert_child(
    session: Session, actor: Actor, entity: Entity, customer_id: int,
    values: Mapping[str, Value], now: datetime,
) -> int:
    """Insert a clean contact person or address of the customer and record its creation."""
    [row_id] = repo.insert_rows(session, entity, [
        _stamped(values, now, organisation_id=actor.organisation_id, customer_id=customer_id)
    ])
    outbox.record(session, actor, [
        Change(entity, row_id, customer_id, Operation.CREATE, 1, created(values))
    ], now)
    return row_id


def _deletion(entity: Entity, row: Any, customer_id: int) -> Change:
    return Change(entity, row.id, customer_id, Operation.DELETE, row.version + 1,
                  removed(row.values()))


def remove_child(session: Session, actor: Actor, entity: Entity, current: Any,
                 now: datetime) -> None:
    """Delete a contact person or address and record its deletion (with its last values)."""
    repo.delete_row(session, entity, actor.organisation_id, current.id)
    outbox.record(session, actor, [_deletion(entity, current, current.customer_id)], now)


def update_customer(
    session: Session,
    actor: Actor,
    customer_id: int,
    raw: Mapping[str, object],
    *,
    expected_version: int | None = None,
    clock: Clock = utc_now,
) -> Customer:
    """Change the fields given (a PATCH); only fields that really change are written."""
    current = repo.get_customer(session, actor.organisation_id, customer_id, for_update=True)
    check_version(Entity.CUSTOMER, current, expected_version)
    currencies = currencies_of(session, actor.organisation_id) if "currency" in raw else ()
    values, errors = clean(Entity.CUSTOMER, raw, partial=True, currencies=currencies)
    if errors:
        raise ValidationFailed(errors)
    extra = {}
    if "name" in values and values["name"] != current.name:
        extra["name_key"] = normalize_name(str(values["name"]))
    result: Customer = apply_change(
        session, actor, Entity.CUSTOMER, current, values, clock(), extra=extra
    )
    return result


def set_active(
    session: Session, actor: Actor, customer_ids: Sequence[int], active: bool,
    *, clock: Clock = utc_now,
) -> int:
    """Activate or deactivate customers; how many changed (those already so are left alone)."""
    found = repo.customers_by_ids(session, actor.organisation_id, customer_ids)
    missing = set(customer_ids) - {c.id for c in found}
    if missing:
        raise NotFound(f"No customer {min(missing)} in this organisation.")
    now = clock()
    changed = 0
    for customer in found:
        if customer.is_active != active:
            apply_change(session, actor, Entity.CUSTOMER, customer, {"is_active": active}, now)
            changed += 1
    return changed


def delete_customer(
    session: Session, actor: Actor, customer_id: int, *, clock: Clock = utc_now
) -> None:
    """Delete a customer with its contacts and addresses, recording a deletion for each."""
    org = actor.organisation_id
    customer = repo.get_customer(session, org, customer_id, for_update=True)
    changes = [_deletion(Entity.CONTACT, c, customer.id)
               for c in repo.contacts_of(session, org, customer.id)]
    changes += [_deletion(Entity.ADDRESS, a, customer.id)
                for a in repo.addresses_of(session, org, customer.id)]
    changes.append(_deletion(Entity.CUSTOMER, customer, customer.id))
    repo.delete_row(session, Entity.CUSTOMER, org, customer.id)  # children cascade
    outbox.record(session, actor, changes, clock())
