"""Commands on addresses: add, update, remove, choose the main one of a kind; all captured.

At most one main address per kind and customer: the service refuses a second one with a
field error unless asked to take the flag over, and a partial unique index refuses it in
the database whoever writes (the repository turns that refusal into the same field error).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from sqlalchemy.orm import Session

from alix.clock import Clock, utc_now
from alix.customers import flags
from alix.customers import repository as repo
from alix.customers.domain import Actor, Address, Value, clean
from alix.customers.fields import Entity
from alix.customers.service import (
    apply_change,
    check_version,
    claim_flag,
    insert_child,
    place,
    remove_child,
)
from alix.errors import ValidationFailed


def _make_room(
    session: Session, actor: Actor, address_id: int | None, customer_id: int,
    values: Mapping[str, Value], replace_main: bool, now: datetime,
) -> None:
    refused = claim_flag(session, actor, Entity.ADDRESS, address_id, customer_id, values,
                         take_over=replace_main, now=now)
    if refused is not None:
        taken, holder = refused
        raise ValidationFailed({"is_main": (
            f"{flags.refusal(Entity.ADDRESS, taken, _describe(holder))} "
            "Make this one the main address instead, or untick it."
        )})


def _describe(address: Address) -> str:
    return ", ".join(p for p in (address.label, address.street, address.city) if p) or (
        f"address {address.id}"
    )


def add_address(
    session: Session, actor: Actor, customer_id: int, raw: Mapping[str, object],
    *, replace_main: bool = False, clock: Clock = utc_now,
) -> Address:
    """Add an address; as a main address it needs replace_main when the kind has one already."""
    customer = repo.get_customer(session, actor.organisation_id, customer_id)
    values, errors = clean(Entity.ADDRESS, raw)
    if errors:
        raise ValidationFailed(errors)
    values = place(values)
    now = clock()
    if values["is_main"]:
        _make_room(session, actor, None, customer.id, values, replace_main, now)
    address_id = insert_child(session, actor, Entity.ADDRESS, customer.id, values, now)
    return repo.get_address(session, actor.organisation_id, address_id)


def update_address(
    session: Session, actor: Actor, address_id: int, raw: Mapping[str, object],
    *, replace_main: bool = False, expected_version: int | None = None, clock: Clock = utc_now,
) -> Address:
    """Change the fields given; see add_address for the main flag."""
    current = repo.get_address(session, actor.organisation_id, address_id, for_update=True)
    check_version(Entity.ADDRESS, current, expected_version)
    values, errors = clean(Entity.ADDRESS, raw, partial=True)
    if errors:
        raise ValidationFailed(errors)
    if "province" in values and "country" not in values:
        values["country"] = current.country
    values = place(values)
    now = clock()
    if values.get("is_main", current.is_main):
        _make_room(session, actor, current.id, current.customer_id,
                   {"kind": values.get("kind", current.kind)}, replace_main, now)
    result: Address = apply_change(session, actor, Entity.ADDRESS, current, values, now)
    return result


def set_main_address(
    session: Session, actor: Actor, address_id: int, *, clock: Clock = utc_now
) -> Address:
    """Make the address the main one of its kind; the previous main loses the flag."""
    return update_address(session, actor, address_id, {"is_main": True}, replace_main=True,
                          clock=clock)


def remove_address(
    session: Session, actor: Actor, address_id: int, *, clock: Clock = utc_now
) -> None:
    """Delete the address; removing the main one leaves the kind without a main address."""
    current = repo.get_address(session, actor.organisation_id, address_id, for_update=True)
    remove_child(session, actor, Entity.ADDRESS, current, clock())
