"""The three-way merge of one record, field by field, between the base, ALIX and the CRM (pure).

For each field with `base` (what both sides last agreed), `alix` and `crm` (sync-design.md):
- alix == crm: nothing to write (both unchanged, or both changed the same way);
- crm == base: only ALIX changed it, push alix;
- alix == base: only the CRM changed it, take crm;
- otherwise both changed it differently: the policy decides, or the conflict stays open (ask).
Every both-sides conflict is journaled, whoever wins. An open conflict leaves that field's base
unchanged, so it is found again by the next merge until a person resolves it.
"""

from __future__ import annotations

import enum
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from alix.integrations.zoho_crm.rules import ConflictPolicy

from .normalize import Kind, SyncValue, key


class Resolution(enum.StrEnum):
    """How a conflict was settled."""

    OPEN = "open"  # nobody wins: a person decides
    ALIX = "alix"
    CRM = "crm"


@dataclass(frozen=True, slots=True)
class FieldConflict:
    """A field both sides changed differently since the base, and how it was settled."""

    field: str
    base: SyncValue
    alix: SyncValue
    crm: SyncValue
    resolution: Resolution
    reason: str


@dataclass(frozen=True, slots=True)
class MergeResult:
    """What to write to each side, the base once written, and the journaled conflicts."""

    to_alix: dict[str, SyncValue] = field(default_factory=dict)
    to_crm: dict[str, SyncValue] = field(default_factory=dict)
    base: dict[str, SyncValue] = field(default_factory=dict)
    conflicts: tuple[FieldConflict, ...] = ()

    @property
    def open_conflicts(self) -> tuple[FieldConflict, ...]:
        return tuple(c for c in self.conflicts if c.resolution is Resolution.OPEN)

    @property
    def writes(self) -> bool:
        """True when either side has something to write."""
        return bool(self.to_alix or self.to_crm)

    def base_before_push(self, previous: Mapping[str, SyncValue]) -> dict[str, SyncValue]:
        """The base to store before the CRM confirmed `to_crm`: those fields keep the old base.

        Storing `base` before Zoho accepted the push would make the pending push look like
        nothing to send (a lost edit); the push advances those fields when Zoho says yes.
        """
        settled = dict(self.base)
        for name in self.to_crm:
            if name in previous:
                settled[name] = previous[name]
            else:
                settled.pop(name, None)
        return settled


def _winner(
    policy: ConflictPolicy, alix_modified: datetime | None, crm_modified: datetime | None
) -> tuple[Resolution, str]:
    if policy is ConflictPolicy.CRM_WINS:
        return Resolution.CRM, "The CRM wins conflicts."
    if policy is ConflictPolicy.ALIX_WINS:
        return Resolution.ALIX, "ALIX wins conflicts."
    if policy is ConflictPolicy.MOST_RECENT:
        if alix_modified is None or crm_modified is None:
            return Resolution.OPEN, "Most recent wins, but a modification time is unknown."
        # Zoho's Modified_Time has one-second resolution: a tie within that second is not a
        # winner, and guessing would silently drop an edit.
        alix_second = alix_modified.replace(microsecond=0)
        crm_second = crm_modified.replace(microsecond=0)
        if alix_second > crm_second:
            return Resolution.ALIX, f"ALIX changed it last ({alix_modified.isoformat()})."
        if crm_second > alix_second:
            return Resolution.CRM, f"The CRM changed it last ({crm_modified.isoformat()})."
        return Resolution.OPEN, "Both sides changed it within the same second."
    return Resolution.OPEN, "Conflicts are left for a person to decide."


def merge(
    base: Mapping[str, SyncValue],
    alix: Mapping[str, SyncValue],
    crm: Mapping[str, SyncValue],
    policy: ConflictPolicy,
    *,
    alix_modified: datetime | None = None,
    crm_modified: datetime | None = None,
    kinds: Mapping[str, Kind] | None = None,
    read_only: Collection[str] = (),
) -> MergeResult:
    """Merge the fields present on both sides; values must be canonical (normalize.canonical).

    Pure and idempotent: merging the result again (alix + to_alix, crm + to_crm, new base) writes
    nothing. `read_only` fields flow CRM -> ALIX only: an ALIX edit of one is replaced by the
    CRM value and journaled. A field missing from `base` has the base None (a new pair).
    """
    kinds = kinds or {}
    to_alix: dict[str, SyncValue] = {}
    to_crm: dict[str, SyncValue] = {}
    new_base: dict[str, SyncValue] = {}
    conflicts: list[FieldConflict] = []
    for name in sorted(alix.keys() & crm.keys()):
        kind = kinds.get(name, Kind.TEXT)
        b, a, c = base.get(name), alix[name], crm[name]
        kb, ka, kc = key(b, kind), key(a, kind), key(c, kind)
        if ka == kc:
            new_base[name] = c
            continue
        if ka == kb:
            to_alix[name] = c
            new_base[name] = c
            continue
        if name in read_only:
            resolution, reason = Resolution.CRM, "The CRM field is read-only: the CRM wins."
        elif kc == kb:
            to_crm[name] = a
            new_base[name] = a
            continue
        else:
            resolution, reason = _winner(policy, alix_modified, crm_modified)
        conflicts.append(FieldConflict(name, b, a, c, resolution, reason))
        if resolution is Resolution.CRM:
            to_alix[name] = c
            new_base[name] = c
        elif resolution is Resolution.ALIX:
            to_crm[name] = a
            new_base[name] = a
        elif name in base:
            new_base[name] = b
    return MergeResult(to_alix, to_crm, new_base, tuple(conflicts))
