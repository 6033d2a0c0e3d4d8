"""The expectation model of a convergence scenario: every write either user made, and what each
user had seen when making it (pure; nothing here reads the sync's state).

Every written value is unique within its field (a counter is part of it), so a value read on
either side names the write it came from. A user's write "knows" every write of that field its
user had seen before: the ones the user made, and the ones whose values the user read on their
side (with everything those knew). Two writes of a field where neither knows the other are
concurrent: the sync must have met them as a conflict. The writes no other write knows are the
field's *leaves*; there is at most one per side (a side's last write knows its earlier ones):
- one leaf: both sides must end with its value (an edit on one side only, or edits made with
  knowledge of each other);
- two leaves (one per side): a real conflict; the policy decides, or it stays open.

`is_active` only ever goes from true to false in the scenarios (deactivations), so it needs no
write identity: a pair ends inactive exactly when either user deactivated it.
"""

from __future__ import annotations

import enum
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime


class Side(enum.StrEnum):
    ALIX = "alix"
    ZOHO = "zoho"

    @property
    def other(self) -> Side:
        return Side.ZOHO if self is Side.ALIX else Side.ALIX


class Kind(enum.StrEnum):
    CUSTOMER = "customer"
    CONTACT = "contact"


# The tracked fields, by their ALIX names; a contact's `parent` is its customer (entity key),
# a customer's `street` and `city` those of its main billing address.
FIELDS: dict[Kind, tuple[str, ...]] = {
    Kind.CUSTOMER: ("name", "phone", "website", "street", "city"),
    Kind.CONTACT: ("first_name", "last_name", "email", "phone", "parent"),
}
KEY_FIELD = {Kind.CUSTOMER: "name", Kind.CONTACT: "last_name"}


@dataclass(frozen=True)
class Write:
    """One user's edit of one field (or its value at creation)."""

    id: int
    entity: str
    field: str
    value: str
    side: Side
    at: datetime
    known: frozenset[int]  # the writes of this field its user had seen, transitively


@dataclass
class Entity:
    """A customer or contact as the scenario knows it, whichever side made it."""

    key: str
    kind: Kind
    born: Side
    deactivated: bool = False
    # The sides whose user deleted it (a cascade of a user's delete counts as that user's).
    deleted_on: set[Side] = field(default_factory=set)
    seen_on: set[Side] = field(default_factory=set)


class Ledger:
    """The writes of a scenario and what each side's user knows of them."""

    def __init__(self) -> None:
        self.entities: dict[str, Entity] = {}
        self._writes: dict[tuple[str, str], list[Write]] = defaultdict(list)
        self._by_value: dict[tuple[str, str], dict[str, Write]] = defaultdict(dict)
        self._owner: dict[tuple[Kind, str], str] = {}  # key-field value -> entity
        self._known: dict[Side, dict[tuple[str, str], set[int]]] = {
            s: defaultdict(set) for s in Side}
        self._next = 0
        self._counter = 0

    def fresh(self, name: str) -> str:
        """A value nobody wrote before, valid in both systems for the field `name`."""
        self._counter += 1
        n = self._counter
        return {
            "name": f"Cust {n:05d}", "last_name": f"Last{n:05d}", "first_name": f"First{n:05d}",
            "phone": f"+1 555 {n:07d}", "website": f"https://w{n:05d}.example.com",
            "email": f"p{n:05d}@mail.example.com", "street": f"{n} Rue Principale",
            "city": f"Ville{n:05d}",
        }[name]

    def new_entity(self, kind: Kind, side: Side) -> Entity:
        prefix = "C" if kind is Kind.CUSTOMER else "P"
        entity = Entity(f"{prefix}{len(self.entities) + 1}", kind, side, seen_on={side})
        self.entities[entity.key] = entity
        return entity

    def write(self, side: Side, entity: str, name: str, value: str, at: datetime) -> Write:
        """Record a user's write; it knows what its side's user had seen of the field."""
        slot = (entity, name)
        if value in self._by_value[slot]:
            raise ValueError(f"{value!r} was already written to {entity}.{name}.")
        self._next += 1
        made = Write(self._next, entity, name, value, side, at, frozenset(self._known[side][slot]))
        self._writes[slot].append(made)
        self._by_value[slot][value] = made
        self._known[side][slot].add(made.id)
        kind = self.entities[entity].kind
        if name == KEY_FIELD[kind]:
            self._owner[(kind, value)] = entity
        return made

    def owner(self, kind: Kind, key_value: object) -> str | None:
        """The entity a record belongs to, by the value of its key field."""
        return self._owner.get((kind, key_value)) if isinstance(key_value, str) else None

    def write_of(self, entity: str, name: str, value: object) -> Write | None:
        return self._by_value[(entity, name)].get(value) if isinstance(value, str) else None

    def observe(self, side: Side, entity: str, name: str, value: object) -> Write | None:
        """The side's user reads `value`: they now know its write and what it knew. None when
        no user ever wrote that value there (the sync made it up or lost it)."""
        found = self.write_of(entity, name, value)
        if found is not None:
            self._known[side][(entity, name)].update(found.known | {found.id})
        return found

    def writes(self, entity: str, name: str) -> list[Write]:
        return list(self._writes[(entity, name)])

    def leaves(self, entity: str, name: str) -> list[Write]:
        """The writes of the field no other write knows (at most one per side)."""
        writes = self._writes[(entity, name)]
        known = set().union(*(w.known for w in writes)) if writes else set()
        return [w for w in writes if w.id not in known]

    def last_written(self, side: Side, entity: str, name: str) -> Write | None:
        mine = [w for w in self._writes[(entity, name)] if w.side is side]
        return mine[-1] if mine else None
