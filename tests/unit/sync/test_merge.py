"""merge: every combination of equalities x every policy, and the invariants under random input."""

from __future__ import annotations

import itertools
import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from alix.integrations.zoho_crm.rules import ConflictPolicy as P
from alix.integrations.zoho_crm.sync.merge import MergeResult, Resolution, merge
from alix.integrations.zoho_crm.sync.normalize import Kind, SyncValue, key

T0 = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)
LATER = T0 + timedelta(seconds=5)

# (base, alix, crm) for each way the three can be equal or not.
PATTERNS: dict[str, tuple[SyncValue, SyncValue, SyncValue]] = {
    "unchanged": ("x", "x", "x"),
    "alix_changed": ("x", "y", "x"),
    "crm_changed": ("x", "x", "y"),
    "both_same": ("x", "y", "y"),
    "both_differ": ("x", "y", "z"),
    "alix_cleared": ("x", None, "x"),
    "crm_set_new_pair": (None, None, "y"),
}
# (alix_modified, crm_modified)
TIMES = {
    "alix_newer": (LATER, T0),
    "crm_newer": (T0, LATER),
    "same_second": (T0, T0 + timedelta(microseconds=900)),
    "unknown": (None, T0),
}

# Outcome per pattern when it is not a conflict: (to_alix, to_crm, base); policy-independent.
CLEAN = {
    "unchanged": (None, None, "x"),
    "alix_changed": (None, "y", "y"),
    "crm_changed": ("y", None, "y"),
    "both_same": (None, None, "y"),
    "alix_cleared": (None, None, None),  # see test: to_crm carries the None
    "crm_set_new_pair": ("y", None, "y"),
}
# Who wins a both_differ conflict, per policy and times.
WINNER = {
    (P.CRM_WINS, t): Resolution.CRM for t in TIMES
} | {
    (P.ALIX_WINS, t): Resolution.ALIX for t in TIMES
} | {
    (P.ASK, t): Resolution.OPEN for t in TIMES
} | {
    (P.MOST_RECENT, "alix_newer"): Resolution.ALIX,
    (P.MOST_RECENT, "crm_newer"): Resolution.CRM,
    (P.MOST_RECENT, "same_second"): Resolution.OPEN,
    (P.MOST_RECENT, "unknown"): Resolution.OPEN,
}


def _run(pattern: str, policy: P, times: str, read_only: bool) -> MergeResult:
    b, a, c = PATTERNS[pattern]
    alix_modified, crm_modified = TIMES[times]
    base = {} if b is None else {"f": b}
    return merge(base, {"f": a}, {"f": c}, policy, alix_modified=alix_modified,
                 crm_modified=crm_modified, read_only={"f"} if read_only else ())


@pytest.mark.parametrize(
    ("pattern", "policy", "times"),
    list(itertools.product(PATTERNS, list(P), TIMES)),
)
def test_every_pattern_under_every_policy(pattern: str, policy: P, times: str) -> None:
    result = _run(pattern, policy, times, read_only=False)
    b, a, c = PATTERNS[pattern]
    if pattern == "both_differ":
        winner = WINNER[(policy, times)]
        [conflict] = result.conflicts
        assert (conflict.field, conflict.base, conflict.alix, conflict.crm) == ("f", b, a, c)
        assert conflict.resolution is winner
        assert conflict.reason
        if winner is Resolution.CRM:
            assert (result.to_alix, result.to_crm, result.base) == ({"f": c}, {}, {"f": c})
        elif winner is Resolution.ALIX:
            assert (result.to_alix, result.to_crm, result.base) == ({}, {"f": a}, {"f": a})
        else:
            assert (result.to_alix, result.to_crm, result.base) == ({}, {}, {"f": b})
            assert result.open_conflicts == result.conflicts
        return
    to_alix, to_crm, base = CLEAN[pattern]
    assert result.conflicts == ()
    assert result.to_alix == ({} if to_alix is None else {"f": to_alix})
    if pattern == "alix_cleared":
        assert result.to_crm == {"f": None}
    else:
        assert result.to_crm == ({} if to_crm is None else {"f": to_crm})
    assert result.base == {"f": base}


@pytest.mark.parametrize(("pattern", "policy"), list(itertools.product(PATTERNS, list(P))))
def test_read_only_fields_flow_crm_to_alix_only(pattern: str, policy: P) -> None:
    result = _run(pattern, policy, "alix_newer", read_only=True)
    b, a, c = PATTERNS[pattern]
    assert result.to_crm == {}
    assert result.base == {"f": c}
    if key(a, Kind.TEXT) != key(c, Kind.TEXT):
        assert result.to_alix == {"f": c}
        if key(a, Kind.TEXT) != key(b, Kind.TEXT):  # an ALIX edit overwritten: journaled
            [conflict] = result.conflicts
            assert conflict.resolution is Resolution.CRM
    else:
        assert result.to_alix == {}


def test_an_open_conflict_of_a_new_pair_leaves_no_base() -> None:
    result = merge({}, {"f": "a"}, {"f": "c"}, P.ASK)
    assert result.base == {}
    assert [c.resolution for c in result.conflicts] == [Resolution.OPEN]


def test_fields_compare_by_their_kind() -> None:
    result = merge(
        {"email": "jo@x.com", "n": Decimal("1.5")},
        {"email": "Jo@X.com", "n": Decimal("1.50")},
        {"email": "jo@x.com", "n": Decimal("1.5")},
        P.ASK,
        kinds={"email": Kind.EMAIL, "n": Kind.NUMBER},
    )
    assert (result.to_alix, result.to_crm, result.conflicts) == ({}, {}, ())


def test_only_fields_on_both_sides_are_merged() -> None:
    result = merge({"a": "1", "gone": "x"}, {"a": "1", "notes": "n"}, {"a": "2"}, P.ASK)
    assert result.to_alix == {"a": "2"}
    assert result.base == {"a": "2"}


def test_base_before_push_holds_the_fields_alix_won_until_zoho_confirms() -> None:
    result = merge({"a": "1", "b": "1"}, {"a": "2", "b": "1"}, {"a": "1", "b": "3"}, P.ASK)
    assert result.to_crm == {"a": "2"}
    assert result.base == {"a": "2", "b": "3"}
    assert result.base_before_push({"a": "1", "b": "1"}) == {"a": "1", "b": "3"}
    fresh = merge({}, {"a": "2"}, {"a": "9"}, P.ALIX_WINS)
    assert fresh.base_before_push({}) == {}


# --- properties, with a seeded random: no lost edit, agreement, idempotence -----------------

POOL: dict[Kind, list[SyncValue]] = {
    Kind.TEXT: [None, "a", "b", "c"],
    Kind.EMAIL: [None, "jo@x.com", "Jo@X.com", "al@x.com"],
    Kind.NUMBER: [None, Decimal("1"), Decimal("1.0"), Decimal("2")],
    Kind.BOOLEAN: [True, False],
}


@dataclass(frozen=True)
class Case:
    base: dict[str, SyncValue]
    alix: dict[str, SyncValue]
    crm: dict[str, SyncValue]
    policy: P
    alix_modified: datetime | None
    crm_modified: datetime | None
    kinds: dict[str, Kind]
    read_only: set[str]

    def merge(self, base: dict[str, SyncValue], alix: dict[str, SyncValue],
              crm: dict[str, SyncValue]) -> MergeResult:
        return merge(base, alix, crm, self.policy, alix_modified=self.alix_modified,
                     crm_modified=self.crm_modified, kinds=self.kinds, read_only=self.read_only)


def _case(rng: random.Random) -> Case:
    names = [f"f{i}" for i in range(rng.randint(1, 6))]
    kinds = {n: rng.choice(list(POOL)) for n in names}
    times = [T0 + timedelta(seconds=rng.randint(0, 3)) if rng.random() < 0.9 else None
             for _ in range(2)]
    return Case(
        base={n: rng.choice(POOL[kinds[n]]) for n in names if rng.random() < 0.9},
        alix={n: rng.choice(POOL[kinds[n]]) for n in names},
        crm={n: rng.choice(POOL[kinds[n]]) for n in names},
        policy=rng.choice(list(P)), alix_modified=times[0], crm_modified=times[1], kinds=kinds,
        read_only={n for n in names if rng.random() < 0.2},
    )


def _same(a: SyncValue, b: SyncValue, kind: Kind) -> bool:
    return key(a, kind) == key(b, kind)


@pytest.mark.parametrize("seed", range(20))
def test_invariants_hold_for_random_merges(seed: int) -> None:
    rng = random.Random(seed)
    for _ in range(200):
        case = _case(rng)
        base, alix, crm, kinds = case.base, case.alix, case.crm, case.kinds
        result = case.merge(base, alix, crm)
        after_alix = alix | result.to_alix
        after_crm = crm | result.to_crm
        journaled = {c.field for c in result.conflicts}
        open_fields = {c.field for c in result.open_conflicts}
        for name in alix:
            kind, b = kinds[name], base.get(name)
            if name in open_fields:
                # Open: nobody was overwritten and the base still remembers the agreement.
                assert _same(after_alix[name], alix[name], kind)
                assert _same(after_crm[name], crm[name], kind)
                assert result.base.get(name) == b
                continue
            # Otherwise both sides agree, and the base is that agreement.
            assert _same(after_alix[name], after_crm[name], kind)
            assert _same(result.base[name], after_alix[name], kind)
            # No lost edit: a change made on one side reached the other, or was journaled.
            if not _same(alix[name], b, kind) and name not in journaled:
                assert _same(after_crm[name], alix[name], kind)
            if not _same(crm[name], b, kind) and name not in journaled:
                assert _same(after_alix[name], crm[name], kind)
            if name in case.read_only:
                assert name not in result.to_crm
        again = case.merge(result.base, after_alix, after_crm)
        assert (again.to_alix, again.to_crm) == ({}, {})
        assert {c.field for c in again.open_conflicts} == open_fields
        assert again.base == result.base
