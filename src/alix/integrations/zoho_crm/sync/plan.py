"""The pull plan of one page of Zoho records: what to do with each, decided without I/O (pure).

The shell loads, for the whole page at once, the links of its records, the ALIX records they
link to, the ALIX customers whose name matches an unlinked Account and the main addresses of
the customers concerned; `plan_pull` decides; the shell applies the decisions in one
transaction with the watermark. The same plan, unapplied, is the preview.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from alix.customers.domain import normalize_name

from .kinds import LinkKind
from .link import Current, Link, Parent
from .main_address import FLAG, crm_side, governed, is_default, same_place
from .mapping import Mapped, Rejection, crm_module, kinds_of, read_only_fields
from .merge import MergeResult, merge
from .normalize import Kind, SyncValue, key
from .sources import Configuration


class PullAction(enum.StrEnum):
    """What the pull does with one Zoho record."""

    CREATE = "create"  # a new ALIX record and its link
    LINK = "link"  # an existing ALIX record paired with it (same name, one match), then merged
    AMBIGUOUS = "ambiguous"  # several ALIX candidates: recorded for a person, never guessed
    SKIP = "skip"  # not imported, with the reason
    REJECT = "reject"  # its values cannot be ALIX values (mapping.Rejection)
    UPDATE = "update"  # merged: ALIX writes and/or a new base
    CONFLICT = "conflict"  # merged, with at least one field left open for a person
    NOOP = "noop"  # equal to the base: our own echo, or nothing mapped changed
    TOMBSTONED = "tombstoned"  # its pair was deleted: never resurrected silently


@dataclass(frozen=True, slots=True)
class PullDecision:
    """The decision for one Zoho record; `base` is the link's base to store (None: unchanged).

    `values` are the ALIX values to write: all of them for CREATE, the merge's `to_alix` for
    LINK, UPDATE and CONFLICT. The base keeps fields ALIX won at their old value until the push
    confirms them (MergeResult.base_before_push), so no ALIX edit is forgotten; `merge.to_crm`
    is what the push sends. `merge.conflicts` are journaled whatever the action.
    """

    action: PullAction
    kind: LinkKind
    zoho_id: str
    modified_time: datetime | None
    reason: str = ""
    alix_id: int | None = None
    parent: Parent | None = None
    values: Mapping[str, SyncValue] = field(default_factory=dict)
    merge: MergeResult | None = None
    base: Mapping[str, SyncValue] | None = None
    candidates: tuple[int, ...] = ()
    modified_by: str | None = None  # who changed the Zoho record last (Mapped.modified_by)
    # SKIP of a child whose Account is not imported (yet): that Account's id. Its issue is
    # retried as soon as the Account is linked (store.issues.wake_waiting).
    waits_for: str | None = None


@dataclass(frozen=True)
class PullPlan:
    """The decisions of one page, parents (Accounts) before children."""

    decisions: tuple[PullDecision, ...]

    def of(self, action: PullAction) -> tuple[PullDecision, ...]:
        return tuple(d for d in self.decisions if d.action is action)


@dataclass(frozen=True)
class PageState:
    """What the shell loaded for a page, each in one query.

    - links: by (kind, Zoho id), for the page's records and for the Accounts their children
      point at;
    - current: the linked and name-matched ALIX records, by (kind, ALIX id);
    - name_matches: normalize_name(name) -> ids of ALIX customers with that name and no link;
    - main_addresses: the existing main address of a customer, by (kind, customer ALIX id):
      for a main-address kind, one no link of that kind pairs yet; for a custom address kind
      whose main module is on (main_address.governed), one no record of that module pairs yet
      (a Default record holding the same place links to it).
    """

    links: Mapping[tuple[LinkKind, str], Link] = field(default_factory=dict)
    current: Mapping[tuple[LinkKind, int], Current] = field(default_factory=dict)
    name_matches: Mapping[str, Sequence[int]] = field(default_factory=dict)
    main_addresses: Mapping[tuple[LinkKind, int], Current] = field(default_factory=dict)


def _newest(records: Sequence[Mapped | Rejection]) -> list[Mapped | Rejection]:
    # iter_records may yield a record again with a newer Modified_Time: keep the newest, once.
    chosen: dict[tuple[LinkKind, str], Mapped | Rejection] = {}
    for record in records:
        key = (record.kind, record.zoho_id)
        seen = chosen.get(key)
        if (
            seen is None
            or seen.modified_time is None
            or (record.modified_time is not None and record.modified_time >= seen.modified_time)
        ):
            chosen.pop(key, None)
            chosen[key] = record
    return list(chosen.values())


def _label(config: Configuration, kind: LinkKind, zoho_id: str) -> str:
    return f"Zoho {crm_module(config, kind) or kind.value} record {zoho_id}"


class _Planner:
    """One page's planning state: the Accounts this page creates or links, claimed names."""

    def __init__(self, config: Configuration, state: PageState) -> None:
        self.config = config
        self.state = state
        self.page_accounts: dict[str, int | None] = {}  # Account id -> ALIX id (None: created)
        self.claimed: set[tuple[LinkKind, int]] = set()  # main addresses a record linked to

    def same_as_base(self, record: Mapped, link: Link) -> bool:
        """Whether the synced fields equal the base (read-only ones never reach ALIX, and
        while the Account holds the main address a custom record's base keeps ALIX's main flag,
        not Zoho's Default: main_address)."""
        kinds = kinds_of(self.config, record.kind)
        read_only = read_only_fields(self.config, record.kind)
        if governed(self.config, record.kind):
            read_only = read_only | {FLAG}
        return all(
            key(value, kinds.get(name, Kind.TEXT)) == key(link.base.get(name),
                                                          kinds.get(name, Kind.TEXT))
            for name, value in record.values.items() if name not in read_only
        )

    def merged(
        self, action: PullAction, record: Mapped, link_base: Mapping[str, SyncValue],
        current: Current, parent: Parent | None = None,
    ) -> PullDecision:
        crm = record.values
        if governed(self.config, record.kind):
            crm = crm_side(crm, current.values, link_base)
        result = merge(
            link_base, current.values, crm, self.config.conflict_policy,
            alix_modified=current.modified, crm_modified=record.modified_time,
            kinds=kinds_of(self.config, record.kind),
            read_only=read_only_fields(self.config, record.kind),
        )
        base = result.base_before_push(link_base)
        if action is PullAction.UPDATE:
            if result.open_conflicts:
                action = PullAction.CONFLICT
            elif not result.to_alix and base == dict(link_base):
                action = PullAction.NOOP  # a conflict ALIX won writes nothing here: the push does
        reason = "; ".join(f"{c.field}: {c.reason}" for c in result.conflicts)
        return PullDecision(
            action, record.kind, record.zoho_id, record.modified_time, reason=reason,
            alix_id=current.alix_id, parent=parent, values=result.to_alix, merge=result,
            base=base, modified_by=record.modified_by,
        )

    def linked(self, record: Mapped, link: Link) -> PullDecision:
        if link.tombstoned and self.same_as_base(record, link):
            return PullDecision(  # our own last write to it coming back: nothing to decide
                PullAction.NOOP, record.kind, record.zoho_id, record.modified_time,
                reason="Unchanged since its ALIX pair was deleted.", alix_id=link.alix_id,
            )
        if link.tombstoned:
            return PullDecision(
                PullAction.TOMBSTONED, record.kind, record.zoho_id, record.modified_time,
                reason=(f"{_label(self.config, record.kind, record.zoho_id)} changed, but its "
                        f"ALIX {record.kind.entity.value} {link.alix_id} was deleted: not "
                        "re-created without a person's decision."),
                alix_id=link.alix_id,
            )
        current = self.state.current.get((record.kind, link.alix_id))
        if current is None:
            return self.skip(record, f"its ALIX {record.kind.entity.value} {link.alix_id} no "
                                     "longer exists; the deletion is pushed separately.")
        if record.kind is LinkKind.CUSTOMER:
            self.page_accounts[record.zoho_id] = link.alix_id
        return self.merged(PullAction.UPDATE, record, link.base, current)

    def skip(self, record: Mapped, why: str, waits_for: str | None = None) -> PullDecision:
        return PullDecision(
            PullAction.SKIP, record.kind, record.zoho_id, record.modified_time,
            reason=f"{_label(self.config, record.kind, record.zoho_id)} is not imported: {why}",
            values=record.values,  # not written: they name the record on the status page
            waits_for=waits_for,
        )

    def customer(self, record: Mapped, name_counts: Mapping[str, int]) -> PullDecision:
        name = normalize_name(record.name or "")
        candidates = tuple(self.state.name_matches.get(name, ()))
        if len(candidates) > 1 or (candidates and name_counts[name] > 1):
            who = ", ".join(str(c) for c in candidates)
            return PullDecision(
                PullAction.AMBIGUOUS, record.kind, record.zoho_id, record.modified_time,
                reason=(f"{_label(self.config, record.kind, record.zoho_id)} “{record.name}” "
                        f"matches ALIX customers {who}"
                        + (" and other Zoho Accounts of this page share the name"
                           if name_counts[name] > 1 else "")
                        + ": link it by hand."),
                candidates=candidates,
            )
        if candidates:
            current = self.state.current.get((LinkKind.CUSTOMER, candidates[0]))
            if current is None:
                raise ValueError(
                    f"ALIX customer {candidates[0]} matches {record.zoho_id} by name, but its "
                    "values were not loaded into PageState.current."
                )
            self.page_accounts[record.zoho_id] = current.alix_id
            return self.merged(PullAction.LINK, record, {}, current)
        self.page_accounts[record.zoho_id] = None
        return PullDecision(
            PullAction.CREATE, record.kind, record.zoho_id, record.modified_time,
            values=record.values | record.fixed, base=record.values,
        )

    def parent(self, record: Mapped) -> Parent | PullDecision:
        """The customer of a child record, or its SKIP saying why there is none."""
        account = record.account_id
        if account is None:
            return self.skip(record, "it has no Account (CRM contacts without an account are "
                                     "not imported).")
        link = self.state.links.get((LinkKind.CUSTOMER, account))
        if link is not None:
            if link.tombstoned:
                return self.skip(record, f"its Account {account} was deleted on one side.")
            return Parent(account, link.alix_id)
        if account in self.page_accounts:
            return Parent(account, self.page_accounts[account])
        return self.skip(record, f"its Account {account} is not imported into ALIX.",
                         waits_for=account)

    def child(self, record: Mapped) -> PullDecision:
        parent = self.parent(record)
        if isinstance(parent, PullDecision):
            return parent
        if record.kind.is_main_address:
            existing = (
                self.state.main_addresses.get((record.kind, parent.alix_id))
                if parent.alix_id is not None else None
            )
            if existing is not None:
                return self.merged(PullAction.LINK, record, {}, existing, parent=parent)
            if all(v is None for v in record.values.values()):
                what = record.kind.value.replace("_", " ")
                return self.skip(record, f"the Account has no {what}.")
        if governed(self.config, record.kind):
            return self.custom_address(record, parent)
        return PullDecision(
            PullAction.CREATE, record.kind, record.zoho_id, record.modified_time,
            parent=parent, values=record.values | record.fixed, base=record.values,
        )

    def custom_address(self, record: Mapped, parent: Parent) -> PullDecision:
        """A custom-module address while the Account's fields hold the main one: a Default
        record at the main address's place is that address; any other is a non-main one."""
        main = (self.state.main_addresses.get((record.kind, parent.alix_id))
                if parent.alix_id is not None else None)
        if (
            main is not None
            and (record.kind, main.alix_id) not in self.claimed
            and is_default(record.values)
            and same_place(record.values, main.values, kinds_of(self.config, record.kind))
        ):
            self.claimed.add((record.kind, main.alix_id))
            return self.merged(PullAction.LINK, record, {}, main, parent=parent)
        values = {**record.values, FLAG: False} if FLAG in record.values else record.values
        return PullDecision(
            PullAction.CREATE, record.kind, record.zoho_id, record.modified_time,
            parent=parent, values=values | record.fixed, base=values,
        )


def plan_pull(
    records: Sequence[Mapped | Rejection], config: Configuration, state: PageState
) -> PullPlan:
    """Decide every record of a page; deterministic, and the same inputs give the same plan.

    Customers with the same name are linked automatically when exactly one ALIX customer
    without a link has that name and no other unlinked Account of the page shares it;
    otherwise the record is AMBIGUOUS. Children (contacts, addresses) need their Account linked
    or planned in this page. Records of an inactive module are skipped.
    """
    planner = _Planner(config, state)
    ordered = sorted(_newest(records), key=lambda r: r.kind.rank)
    unlinked_names: dict[str, int] = {}
    for record in ordered:
        if (
            isinstance(record, Mapped)
            and record.kind is LinkKind.CUSTOMER
            and (record.kind, record.zoho_id) not in state.links
        ):
            name = normalize_name(record.name or "")
            unlinked_names[name] = unlinked_names.get(name, 0) + 1
    decisions = []
    for record in ordered:
        if isinstance(record, Rejection):
            decisions.append(PullDecision(
                PullAction.REJECT, record.kind, record.zoho_id, record.modified_time,
                reason=record.reason,
            ))
            continue
        if not config.module(record.kind.module).active:
            decisions.append(planner.skip(record, f"the {record.kind.module.value} module is off."))
            continue
        link = state.links.get((record.kind, record.zoho_id))
        if link is not None:
            decisions.append(planner.linked(record, link))
        elif record.kind is LinkKind.CUSTOMER:
            decisions.append(planner.customer(record, unlinked_names))
        else:
            decisions.append(planner.child(record))
    return PullPlan(tuple(decisions))
