"""Commands on contact persons: add, update, remove, move to another customer; all captured."""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy.orm import Session

from alix.clock import Clock, utc_now
from alix.customers import repository as repo
from alix.customers.domain import Actor, ContactPerson, Value, clean
from alix.customers.fields import Entity
from alix.customers.service import (
    apply_change,
    check_version,
    claim_flag,
    insert_child,
    remove_child,
)
from alix.errors import ValidationFailed


def add_contact(
    session: Session, actor: Actor, customer_id: int, raw: Mapping[str, object],
    *, clock: Clock = utc_now,
) -> ContactPerson:
    """Add a contact person to the customer; a new primary contact demotes the previous one."""
    customer = repo.get_customer(session, actor.organisation_id, customer_id)
    values, errors = clean(Entity.CONTACT, raw)
    if errors:
        raise ValidationFailed(errors)
    now = clock()
    if values["is_primary"]:
        claim_flag(session, actor, Entity.CONTACT, None, customer.id, values, take_over=True,
                   now=now)
    contact_id = insert_child(session, actor, Entity.CONTACT, customer.id, values, now)
    return repo.get_contact(session, actor.organisation_id, contact_id)


def update_contact(
    session: Session, actor: Actor, contact_id: int, raw: Mapping[str, object],
    *, expected_version: int | None = None, clock: Clock = utc_now,
) -> ContactPerson:
    """Change the fields given; making it primary demotes the customer's previous primary."""
    current = repo.get_contact(session, actor.organisation_id, contact_id, for_update=True)
    check_version(Entity.CONTACT, current, expected_version)
    values, errors = clean(Entity.CONTACT, raw, partial=True)
    if errors:
        raise ValidationFailed(errors)
    now = clock()
    if values.get("is_primary") and not current.is_primary:
        claim_flag(session, actor, Entity.CONTACT, current.id, current.customer_id, values,
                   take_over=True, now=now)
    result: ContactPerson = apply_change(session, actor, Entity.CONTACT, current, values, now)
    return result


def remove_contact(
    session: Session, actor: Actor, contact_id: int, *, clock: Clock = utc_now
) -> None:
    """Delete the contact person; NotFound when it is not in the organisation."""
    current = repo.get_contact(session, actor.organisation_id, contact_id, for_update=True)
    remove_child(session, actor, Entity.CONTACT, current, clock())


def move_contact(
    session: Session, actor: Actor, contact_id: int, to_customer_id: int,
    *, clock: Clock = utc_now,
) -> ContactPerson:
    """Move a contact person to another customer of the organisation.

    It stays primary only if the target customer has no primary contact yet.
    """
    org = actor.organisation_id
    current = repo.get_contact(session, org, contact_id, for_update=True)
    target = repo.get_customer(session, org, to_customer_id)
    if target.id == current.customer_id:
        return current
    now = clock()
    values: dict[str, Value] = {}
    if current.is_primary and claim_flag(session, actor, Entity.CONTACT, current.id, target.id,
                                         current.values(), take_over=False, now=now):
        values["is_primary"] = False
    result: ContactPerson = apply_change(
        session, actor, Entity.CONTACT, current, values, now,
        customer_id=target.id, extra={"customer_id": target.id},
    )
    return result
