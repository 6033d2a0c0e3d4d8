"""The flag rule: one primary contact per customer, one main address per customer and kind (pure).

Every path that sets a flag asks `rule` which claims win and which holders lose it: creating a
customer with its children, the single-record commands, bulk pages and the sync's imports.
Paths differ only in their policy for a flag already held by a stored row: take it over (the
holder is demoted in the same command) or refuse the claim. Within one batch the first claim of
a group wins and later ones are refused, whatever the policy.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from alix.customers.fields import Entity

FLAGS: dict[Entity, str] = {Entity.CONTACT: "is_primary", Entity.ADDRESS: "is_main"}

_NOUNS = {Entity.CONTACT: "contact person", Entity.ADDRESS: "address"}


@dataclass(frozen=True, slots=True)
class Group:
    """The rows that share one flag: a customer's contacts, or its addresses of one kind.

    customer_id is None for a customer not stored yet (its children arrive with it).
    """

    customer_id: int | None
    kind: str = ""


@dataclass(frozen=True, slots=True)
class Held:
    """A stored row holding the flag, in the group it will be in once the batch is applied."""

    id: int
    group: Group


@dataclass(frozen=True, slots=True)
class Claim:
    """A row that will carry the flag: a stored one (id) or a new one (id None)."""

    id: int | None
    group: Group


@dataclass(frozen=True, slots=True)
class Taken:
    """Why a claim was refused: the group's flag is held by a stored row or an earlier claim
    (its index in the batch)."""

    group: Group
    holder_id: int | None = None
    claim_index: int | None = None


@dataclass(frozen=True, slots=True)
class Ruling:
    """The outcome of a batch: claims refused by index, stored holders that lose the flag."""

    refused: dict[int, Taken]
    demoted: tuple[int, ...]

    def granted(self, index: int) -> bool:
        """Whether claim number index keeps its flag."""
        return index not in self.refused


def group_of(entity: Entity, customer_id: int | None, values: Mapping[str, object]) -> Group:
    """The group a contact or address with these values belongs to."""
    kind = values.get("kind") if entity is Entity.ADDRESS else ""
    return Group(customer_id, str(kind or ""))


def flagged(entity: Entity, values: Mapping[str, object]) -> bool:
    """Whether a contact or address with these values carries its entity's flag."""
    return bool(values.get(FLAGS[entity]))


def rule(holders: Sequence[Held], claims: Sequence[Claim], *, take_over: bool) -> Ruling:
    """At most one flagged row per group once the batch is applied.

    Claims are ruled in order: the first claim of a group wins it and later ones are refused.
    A winner's rivals are the holders of its group other than itself: with take_over they are
    demoted, without the claim is refused and they keep the flag.
    """
    refused: dict[int, Taken] = {}
    demoted: list[int] = []
    winners: dict[Group, int] = {}
    by_group: dict[Group, list[int]] = {}  # a page of claims against its holders: no square
    for holder in holders:
        by_group.setdefault(holder.group, []).append(holder.id)
    for index, claim in enumerate(claims):
        if claim.group in winners:
            refused[index] = Taken(claim.group, claim_index=winners[claim.group])
            continue
        rivals = [i for i in by_group.get(claim.group, ()) if i != claim.id]
        if rivals and not take_over:
            refused[index] = Taken(claim.group, holder_id=rivals[0])
            continue
        winners[claim.group] = index
        demoted.extend(rivals)
    return Ruling(refused, tuple(demoted))


def noun(entity: Entity, group: Group) -> str:
    """What the flag makes a row: "primary contact", "main billing address"."""
    return f"main {group.kind} address" if entity is Entity.ADDRESS else "primary contact"


def refusal(entity: Entity, taken: Taken, holder: str | None = None) -> str:
    """The sentence that refuses a claim; holder describes the row holding the flag (default:
    its id, or another of the same batch for an earlier claim)."""
    what = noun(entity, taken.group)
    owner = ("This customer" if taken.group.customer_id is None
             else f"Customer {taken.group.customer_id}")
    if holder is None:
        holder = (f"{_NOUNS[entity]} {taken.holder_id}" if taken.holder_id is not None
                  else f"another {_NOUNS[entity]} of the same batch")
    return f"{owner} already has a {what} ({holder}); only one can be the {what}."
