"""Commands on contact persons: add, update, remove, move to another customer; all captured."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from sqlalchemy.orm import Session

from alix.clock import Clock, utc_now
from alix.customers import repository as repo
from alix.customers.fields import Entity
from alix.customers.model import Actor, ContactPerson, clean
from alix.customers.service import apply_change, check_version, insert_child, remove_child
from alix.errors import ValidationFailed


def _demote_other_primaries(
    session: Session, actor: Actor, customer_id: int, keep_id: int | None, now: datetime
) -> None:
    # One primary contact per customer: choosing one demotes the others in the same command.
    for other in repo.contacts_of(session, actor.organisation_id, customer_id):
        if other.is_primary and other.id != keep_id:
            apply_change(session, actor, Entity.CONTACT, other, {"is_primary": False}, now)


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
        _demote_other_primaries(session, actor, customer.id, None, now)
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
        _demote_other_primaries(session, actor, current.customer_id, current.id, now)
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
    values = {}
    if current.is_primary and any(c.is_primary for c in repo.contacts_of(session, org, target.id)):
        values["is_primary"] = False
    result: ContactPerson = apply_change(
        session, actor, Entity.CONTACT, current, values, clock(),
        customer_id=target.id, extra={"customer_id": target.id},
    )
    return result
