"""The push plan of a batch of outbox rows: what to send Zoho for each changed record (pure).

The outbox says which records changed, not what to send. The shell reads the pending rows
coalesced per record (`outbox.pending_records`) and each record's current state, maps it
(`mapping.from_alix`) and calls `plan_push` with the links, the Zoho Account of each linked
customer and the Modified_Time and values Zoho holds now for the linked records. Nothing
differs from the base -> done; the CRM moved since the base -> pull and merge first; otherwise
only the changed fields are sent, parents before children.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from alix.integrations.zoho_crm.rules import DeletePolicy

from .kinds import ACCOUNT, LinkKind
from .link import Link, Parent
from .mapping import AlixMapper, alix_mapper
from .normalize import Kind, SyncValue, key
from .sources import Configuration


@dataclass(frozen=True, slots=True)
class PushItem:
    """One ALIX record to push as one link kind: its mapped values now (None: deleted)."""

    kind: LinkKind
    alix_id: int
    customer_id: int
    values: Mapping[str, SyncValue] | None
    entry_ids: tuple[int, ...] = ()


class PushAction(enum.StrEnum):
    DONE = "done"  # nothing differs from the base: an echo or a no-op
    CREATE = "create"  # insert in Zoho (after a pending-insert marker), then link
    UPDATE = "update"  # send the changed fields only, by id
    PULL_FIRST = "pull_first"  # the CRM moved since the base: pull and merge before writing
    DELETE = "delete"  # delete in Zoho (main addresses: empty the Account's fields)
    TOMBSTONE = "tombstone"  # deleted in ALIX, kept in Zoho by policy: only the link remembers
    SKIP = "skip"  # not pushed, with the reason


@dataclass(frozen=True, slots=True)
class PushDecision:
    """The decision for one record and kind; `base` is the link's base once Zoho accepts.

    `zoho_id` None with a `parent` whose zoho_id is None: the Account is created by this same
    batch; the shell fills its id (and the lookup) in once that insert succeeded.
    """

    action: PushAction
    kind: LinkKind
    alix_id: int
    module: str | None
    zoho_id: str | None = None
    payload: Mapping[str, Any] = field(default_factory=dict)
    base: Mapping[str, SyncValue] | None = None
    parent: Parent | None = None
    entry_ids: tuple[int, ...] = ()
    reason: str = ""


def _pushable(mapper: AlixMapper, values: Mapping[str, SyncValue]) -> dict[str, SyncValue]:
    read_only = mapper.read_only
    return {name: value for name, value in values.items() if name not in read_only}


def _changed(
    values: Mapping[str, SyncValue], base: Mapping[str, SyncValue], kinds: Mapping[str, Kind]
) -> list[str]:
    out = []
    for name, value in values.items():
        was = base.get(name)
        # Values of one type that are equal have equal keys: most fields of a page are
        # unchanged, and their keys need not be built (a bool and an int never pass here).
        if type(value) is type(was) and value == was:
            continue
        kind = kinds.get(name, Kind.TEXT)
        if key(value, kind) != key(was, kind):
            out.append(name)
    return out


def _moved(mapper: AlixMapper, link: Link, modified: datetime,
           pushable: Mapping[str, SyncValue], crm: Mapping[str, SyncValue] | None) -> bool:
    """Whether the CRM changed the record since the base, so writing would overwrite it.

    A later Modified_Time means moved. An equal one proves nothing: Zoho's Modified_Time
    has one-second resolution (zoho-crm-api.md, Modified_Time), and our own write stored
    its time as the base, so a CRM user's save in that same second carries the base's
    time. Then the values decide (`crm`: the record's mapped values in Zoho now): a field this
    push writes that holds a CRM value other than the base's was changed in Zoho.
    """
    base_time = link.base_modified_time
    if base_time is None or modified > base_time:
        return True
    if modified < base_time or crm is None:
        return False
    written = {name: crm.get(name) for name in pushable}
    return bool(_changed(written, link.base, mapper.kinds))


def _pull_first(decision: PushDecision, now: datetime) -> PushDecision:
    return replace(decision, action=PushAction.PULL_FIRST, payload={}, base=None, reason=(
        f"Zoho record {decision.zoho_id} changed at {now.isoformat()}, after the base: pull "
        "and merge before writing."))


def recheck_updates(
    decisions: Sequence[PushDecision], items: Sequence[PushItem], config: Configuration, *,
    links: Mapping[tuple[LinkKind, int], Link], crm_modified: Mapping[str, datetime],
    crm_values: Mapping[tuple[LinkKind, str], Mapping[str, SyncValue]],
) -> list[PushDecision]:
    """plan_push's decisions once Zoho was read, without planning again: what Zoho holds now
    only turns a linked update into a pull-first (`_moved`), so each update Zoho answered
    for is checked, the rest kept. The same decisions as plan_push with crm_modified."""
    values = {(i.kind, i.alix_id): i.values for i in items}
    mappers: dict[LinkKind, AlixMapper] = {}
    out = []
    for d in decisions:
        now = crm_modified.get(d.zoho_id or "") if d.action is PushAction.UPDATE else None
        link = links.get((d.kind, d.alix_id))
        if now is not None and link is not None:
            mapper = mappers.get(d.kind) or mappers.setdefault(d.kind, alix_mapper(config, d.kind))
            pushable = _pushable(mapper, values.get((d.kind, d.alix_id)) or {})
            if _moved(mapper, link, now, pushable, crm_values.get((d.kind, link.zoho_id))):
                d = _pull_first(d, now)
        out.append(d)
    return out


class _Planner:
    def __init__(
        self, config: Configuration, items: Sequence[PushItem],
        links: Mapping[tuple[LinkKind, int], Link], accounts: Mapping[int, str],
        crm_modified: Mapping[str, datetime],
        crm_values: Mapping[tuple[LinkKind, str], Mapping[str, SyncValue]],
    ) -> None:
        self.config, self.links, self.accounts = config, links, accounts
        self.crm_modified = crm_modified
        self.crm_values = crm_values
        # Customers this batch creates in Zoho: their children wait for the Account's id.
        self.new_accounts = {
            i.alix_id for i in items
            if i.kind is LinkKind.CUSTOMER and i.values is not None
            and (LinkKind.CUSTOMER, i.alix_id) not in links
            and config.module(i.kind.module).active
        }
        self.deleted_customers = {
            i.alix_id for i in items if i.kind is LinkKind.CUSTOMER and i.values is None
        }
        self.mappers: dict[LinkKind, AlixMapper] = {}

    def mapper(self, kind: LinkKind) -> AlixMapper:
        """The kind's compiled mapping: looked up once per plan, not per record."""
        found = self.mappers.get(kind)
        if found is None:
            found = self.mappers[kind] = alix_mapper(self.config, kind)
        return found

    def decision(self, item: PushItem, action: PushAction, **rest: Any) -> PushDecision:
        return PushDecision(action, item.kind, item.alix_id, self.mapper(item.kind).module,
                            entry_ids=item.entry_ids, **rest)

    def skip(self, item: PushItem, why: str) -> PushDecision:
        what = f"ALIX {item.kind.entity.value} {item.alix_id}"
        return self.decision(item, PushAction.SKIP, reason=f"{what} is not pushed: {why}")

    def deleted(self, item: PushItem, link: Link | None) -> PushDecision:
        if link is None or link.tombstoned:
            return self.decision(item, PushAction.DONE, reason="Never in Zoho, or already gone.")
        policy = self.config.delete_alix_to_crm
        if item.kind.is_main_address:
            return self.main_address_deleted(item, link, policy)
        if policy is not DeletePolicy.DELETE:
            return self.decision(
                item, PushAction.TOMBSTONE, zoho_id=link.zoho_id,
                reason=f"The delete policy ALIX -> CRM is {policy.value}: Zoho keeps the record.",
            )
        return self.decision(item, PushAction.DELETE, zoho_id=link.zoho_id)

    def main_address_deleted(self, item: PushItem, link: Link, policy: DeletePolicy
                             ) -> PushDecision:
        """A main address lives on the Account: deleted with its customer, it goes with the
        Account (deleted, or kept as its history, per the policy); deleted alone, the
        Account's address fields are emptied, as a child is deleted (unless deletions are
        ignored)."""
        if item.customer_id in self.deleted_customers or policy is DeletePolicy.IGNORE:
            return self.decision(item, PushAction.TOMBSTONE, zoho_id=link.zoho_id,
                                 reason="The address goes with its Account.")
        mapper = self.mapper(item.kind)
        cleared = dict.fromkeys(_pushable(mapper, link.base), None)
        payload = mapper.to_crm(cleared) | {"id": link.zoho_id}
        return self.decision(item, PushAction.DELETE, zoho_id=link.zoho_id, payload=payload,
                             base=dict(link.base) | cleared)

    def linked(self, item: PushItem, values: Mapping[str, SyncValue], link: Link) -> PushDecision:
        if link.tombstoned:
            return self.skip(item, f"its Zoho record {link.zoho_id} was deleted; re-creating "
                                   "it is a person's decision.")
        mapper = self.mapper(item.kind)
        pushable = _pushable(mapper, values)
        changed = _changed(pushable, link.base, mapper.kinds)
        if not changed:
            return self.decision(item, PushAction.DONE, zoho_id=link.zoho_id,
                                 reason="Nothing differs from the base.")
        now = self.crm_modified.get(link.zoho_id)
        if now is not None and self.moved(item.kind, link, now, pushable):
            return _pull_first(self.decision(item, PushAction.PULL_FIRST, zoho_id=link.zoho_id),
                               now)
        if ACCOUNT in changed and pushable[ACCOUNT] is None:  # moved to an unsynced customer
            return self.skip(item, f"it moved to customer {item.customer_id}, which is not "
                                       "synced with a Zoho Account yet.")
        payload = mapper.to_crm(pushable, only=changed) | {"id": link.zoho_id}
        base = dict(link.base) | {name: pushable[name] for name in changed}
        return self.decision(item, PushAction.UPDATE, zoho_id=link.zoho_id, payload=payload,
                             base=base)

    def moved(self, kind: LinkKind, link: Link, modified: datetime,
              pushable: Mapping[str, SyncValue]) -> bool:
        return _moved(self.mapper(kind), link, modified, pushable,
                      self.crm_values.get((kind, link.zoho_id)))

    def unlinked(self, item: PushItem, values: Mapping[str, SyncValue]) -> PushDecision:
        mapper = self.mapper(item.kind)
        pushable = _pushable(mapper, values)
        present = {name: value for name, value in pushable.items() if value is not None}
        if item.kind is LinkKind.CUSTOMER:
            return self.decision(item, PushAction.CREATE,
                                 payload=mapper.to_crm(present), base=pushable)
        account = self.accounts.get(item.customer_id)
        if account is None and item.customer_id not in self.new_accounts:
            return self.skip(item, f"its customer {item.customer_id} is not synced with a Zoho "
                                   "Account.")
        parent = Parent(account, item.customer_id)
        if item.kind.is_main_address:
            if account is not None:
                return self.decision(
                    item, PushAction.PULL_FIRST, zoho_id=account, parent=parent,
                    reason=(f"The {item.kind.value.replace('_', ' ')} of Account {account} was "
                            "never merged: pull it first, which links the two."),
                )
            return self.decision(item, PushAction.UPDATE, parent=parent, base=pushable,
                                 payload=mapper.to_crm(present))
        return self.decision(
            item, PushAction.CREATE, parent=parent, base=pushable,
            payload=mapper.to_crm(present, account_id=account),
        )


def plan_push(
    items: Sequence[PushItem],
    config: Configuration,
    *,
    links: Mapping[tuple[LinkKind, int], Link],
    accounts: Mapping[int, str],
    crm_modified: Mapping[str, datetime],
    crm_values: Mapping[tuple[LinkKind, str], Mapping[str, SyncValue]] | None = None,
) -> tuple[PushDecision, ...]:
    """Decide every item, parents (Accounts) before children; pure, so a replay decides the same.

    - links: by (kind, ALIX id);
    - accounts: ALIX customer id -> Zoho Account id, for the customers linked (not tombstoned);
    - crm_modified: Zoho id -> Modified_Time Zoho reports now, for the ids it is known of;
    - crm_values: (kind, Zoho id) -> the record's mapped values as Zoho holds them now, which
      decide whether a record whose Modified_Time equals the base's moved (see `moved`).
    """
    planner = _Planner(config, items, links, accounts, crm_modified, crm_values or {})
    decisions = []
    for item in sorted(items, key=lambda i: i.kind.rank):
        link = links.get((item.kind, item.alix_id))
        if not config.module(item.kind.module).active:
            decisions.append(planner.skip(item, f"the {item.kind.module.value} module is off."))
        elif item.values is None:
            decisions.append(planner.deleted(item, link))
        elif link is not None:
            decisions.append(planner.linked(item, item.values, link))
        else:
            decisions.append(planner.unlinked(item, item.values))
    return tuple(decisions)
