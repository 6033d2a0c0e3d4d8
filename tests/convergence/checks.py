"""The invariants checked once a scenario has quiesced (pure: ledger, both views, the issues).

Expected values come from the ledger (what the users wrote and saw), never from the sync's
links or bases. The sync's issues are read only where the promise is about them: a conflict is
either settled by the policy and journaled (`conflict_settled`), or open for a person.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from alix.integrations.zoho_crm.rules import ConflictPolicy, DeletePolicy

from .model import FIELDS, Entity, Kind, Ledger, Side, Write
from .views import Rec, View
from .world import Policies

# How an issue may name a field: the ALIX name, the CRM name, or the contact's Account lookup.
FIELD_ALIASES = {
    "name": {"name", "Account_Name"}, "phone": {"phone", "Phone"},
    "website": {"website", "Website"}, "first_name": {"first_name", "First_Name"},
    "street": {"street", "Billing_Street"}, "city": {"city", "Billing_City"},
    "last_name": {"last_name", "Last_Name"}, "email": {"email", "Email"},
    "parent": {"parent", "customer_id", "Account_Name", "@account"},
}



def _link_kinds() -> dict[tuple[Kind, str], set[str]]:
    kinds = {(kind, name): {kind.value} for kind, names in FIELDS.items() for name in names}
    for name in ("street", "city"):
        kinds[(Kind.CUSTOMER, name)] = {"main_billing_address"}
    return kinds


_LINK_KINDS = _link_kinds()


@dataclass(frozen=True)
class Failure:
    """One broken invariant: its class, the entity and a sentence with the evidence."""

    invariant: str
    entity: str
    detail: str

    def __str__(self) -> str:
        return f"[{self.invariant}] {self.entity}: {self.detail}"


def exercised(ledger: Ledger) -> Counter[str]:
    """What a scenario put to the test: edits that had to cross, conflicts, deletes..."""
    seen: Counter[str] = Counter()
    for entity in ledger.entities.values():
        seen[f"{entity.kind}s made in {entity.born}"] += 1
        for side in entity.deleted_on:
            seen[f"{entity.kind}s deleted in {side}"] += 1
        if entity.deactivated:
            seen["customers deactivated"] += 1
        for name in FIELDS[entity.kind]:
            writes = ledger.writes(entity.key, name)
            leaves = ledger.leaves(entity.key, name)
            if len(leaves) > 1:
                seen["concurrent field edits"] += 1
            elif len(writes) > 1:
                seen[f"field edits ending in {leaves[0].side}"] += 1
    return seen


def check(ledger: Ledger, views: dict[Side, View], issues: Sequence[Any],
          policies: Policies) -> list[Failure]:
    failures: list[Failure] = []
    for side, view in views.items():
        for rec in view.strangers:
            failures.append(Failure("stranger", f"{side} {rec.kind} {rec.id}",
                                    f"a record of no known entity: {rec.values}"))
    for entity in ledger.entities.values():
        failures.extend(_check_entity(ledger, entity, views, issues, policies))
    return failures


def _check_entity(ledger: Ledger, entity: Entity, views: dict[Side, View],
                  issues: Sequence[Any], policies: Policies) -> Iterable[Failure]:
    recs = {side: views[side].by_entity.get(entity.key, []) for side in Side}
    for side, found in recs.items():
        if len(found) > 1:
            yield Failure("duplicate", entity.key,
                          f"{len(found)} records in {side}: {[r.id for r in found]}")
    alix = recs[Side.ALIX][0] if recs[Side.ALIX] else None
    zoho = recs[Side.ZOHO][0] if recs[Side.ZOHO] else None
    expected = _presence(ledger, entity, policies)
    if expected is None:  # its fate depends on the order the sync met other deletes
        return
    for side, rec in ((Side.ALIX, alix), (Side.ZOHO, zoho)):
        want = expected[side]
        if want == "absent" and rec is not None:
            yield Failure("deleted_survives", entity.key,
                          f"{_deleted(entity)}, yet {side} still has {rec.id} {rec.values}")
        elif want == "inactive" and (rec is None or rec.values["is_active"]):
            yield Failure("delete_policy", entity.key,
                          f"{_deleted(entity)}; {side} should keep it inactive, has "
                          f"{rec.values if rec else 'nothing'}")
        elif want == "maybe" and rec is not None and rec.values["is_active"]:
            yield Failure("delete_policy", entity.key,
                          f"{_deleted(entity)}; {side} may drop it or keep it inactive, but has "
                          f"it active: {rec.values}")
        elif want == "present" and rec is None:
            yield Failure("missing", entity.key,
                          f"made in {entity.born}, never deleted, but {side} has no record")
    if alix is None or zoho is None or expected != {Side.ALIX: "present", Side.ZOHO: "present"}:
        return
    if entity.kind is Kind.CUSTOMER:
        want_active = not entity.deactivated
        for rec in (alix, zoho):
            if rec.values["is_active"] != want_active:
                yield Failure("inactive_flag", entity.key,
                              f"{rec.side} has is_active={rec.values['is_active']}, expected "
                              f"{want_active} (deactivated by a user: {entity.deactivated})")
    for name in FIELDS[entity.kind]:
        yield from _check_field(ledger, entity, name, alix, zoho, issues, policies)


def _deleted(entity: Entity) -> str:
    return f"deleted in {' and '.join(sorted(entity.deleted_on))}"


def _presence(ledger: Ledger, entity: Entity, policies: Policies) -> dict[Side, str] | None:
    """What each side must hold at the end: present, absent, inactive or absent-or-inactive
    ("maybe"); None when the scenario cannot tell (a contact whose customer was deleted)."""
    if entity.kind is Kind.CONTACT:
        if entity.deleted_on:
            return {Side.ALIX: "absent", Side.ZOHO: "absent"}
        parents = {w.value for w in ledger.writes(entity.key, "parent")}
        if any(ledger.entities[p].deleted_on for p in parents if p in ledger.entities):
            return None
        return {Side.ALIX: "present", Side.ZOHO: "present"}
    return {side: _customer_presence(entity, side, policies) for side in Side}


def _customer_presence(entity: Entity, side: Side, policies: Policies) -> str:
    if side in entity.deleted_on:
        return "absent"
    if not entity.deleted_on:
        return "present"
    # Deleted on the other side only: this side follows the policy of that direction.
    policy = (policies.delete_alix_to_crm if side is Side.ZOHO
              else policies.delete_crm_to_alix)
    if policy is DeletePolicy.DELETE:
        return "absent"
    if policy is DeletePolicy.MARK_INACTIVE:
        # Only a record that reached this side can be kept here inactive.
        return "inactive" if side in entity.seen_on else "maybe"
    return "maybe"


def _issues_of(issues: Sequence[Any], entity: Entity, name: str, alix: Rec, zoho: Rec,
               code: str) -> list[Any]:
    aliases = FIELD_ALIASES[name]
    return [i for i in issues
            if i.code == code and i.kind in _LINK_KINDS[(entity.kind, name)]
            and i.field in aliases
            and (str(i.alix_id) == alix.id or str(i.zoho_id) == zoho.id)]


def _check_field(ledger: Ledger, entity: Entity, name: str, alix: Rec, zoho: Rec,
                 issues: Sequence[Any], policies: Policies) -> Iterable[Failure]:
    leaves = ledger.leaves(entity.key, name)
    got = {Side.ALIX: alix.values[name], Side.ZOHO: zoho.values[name]}
    if len(leaves) == 1:
        (leaf,) = leaves
        for side, value in got.items():
            if value != leaf.value:
                yield Failure("lost_edit", f"{entity.key}.{name}",
                              f"{side} ends with {value!r} ({_origin(ledger, entity, name, value)})"
                              f"; the last edit, made by {leaf.side} at {leaf.at.isoformat()} "
                              f"knowing every other, was {leaf.value!r}")
        return
    by_side = {w.side: w for w in leaves}
    a, z = by_side[Side.ALIX], by_side[Side.ZOHO]
    settled = _issues_of(issues, entity, name, alix, zoho, "conflict_settled")
    still_open = [i for i in _issues_of(issues, entity, name, alix, zoho, "conflict")
                  if i.status == "open"]
    both = f"ALIX wrote {a.value!r} at {a.at.isoformat()}, Zoho {z.value!r} at {z.at.isoformat()}"
    policy = policies.conflict
    winner = {ConflictPolicy.CRM_WINS: z, ConflictPolicy.ALIX_WINS: a}.get(policy)
    if got[Side.ALIX] == got[Side.ZOHO] and got[Side.ALIX] in (a.value, z.value):
        if policy is ConflictPolicy.ASK:
            yield Failure("conflict_not_asked", f"{entity.key}.{name}",
                          f"{both}, neither knowing the other; the policy is ask, yet both sides "
                          f"hold {got[Side.ALIX]!r}")
        elif winner is not None and got[Side.ALIX] != winner.value:
            yield Failure("wrong_winner", f"{entity.key}.{name}",
                          f"{both}; policy {policy.value} should keep {winner.value!r}, both "
                          f"hold {got[Side.ALIX]!r}")
        elif not settled:
            yield Failure("conflict_not_journaled", f"{entity.key}.{name}",
                          f"{both}; both now hold {got[Side.ALIX]!r} but no conflict_settled "
                          "issue says so")
        return
    if policy in (ConflictPolicy.ASK, ConflictPolicy.MOST_RECENT) and still_open \
            and got == {Side.ALIX: a.value, Side.ZOHO: z.value}:
        return  # open for a person, each side keeping its own edit
    yield Failure("conflict_lost" if not still_open else "open_conflict_overwritten",
                  f"{entity.key}.{name}",
                  f"{both}, neither knowing the other; ALIX ends with {got[Side.ALIX]!r}, Zoho "
                  f"with {got[Side.ZOHO]!r}; open conflict issues: {len(still_open)}")


def _origin(ledger: Ledger, entity: Entity, name: str, value: object) -> str:
    w: Write | None = ledger.write_of(entity.key, name, value)
    if w is None:
        return "written by no user"
    return f"written by {w.side} at {w.at.isoformat()}, overwritten since"
