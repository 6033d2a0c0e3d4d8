"""Applying one page of the pull: plan, then ALIX rows, links, issues and push work.

`pull_page` never commits: the run commits the page together with its watermark and progress,
so a crash replays at most that page, and the replay plans no-ops (the records are linked and
equal to their base). Queries per page do not grow with its size: what the plan needs
(page_state), flag holders (1), then executemany writes; only issues cost a statement or two
each.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, cast

from sqlalchemy.orm import Session

from alix.customers import bulk, outbox
from alix.customers.domain import (
    Actor,
    Change,
    Operation,
    Origin,
    Value,
)
from alix.customers.fields import Entity
from alix.integrations.zoho_crm.config import SyncConfiguration
from alix.integrations.zoho_crm.sync.kinds import ACCOUNT, LinkKind
from alix.integrations.zoho_crm.sync.link import Link
from alix.integrations.zoho_crm.sync.mapping import Mapped, Rejection, crm_module
from alix.integrations.zoho_crm.sync.merge import Resolution
from alix.integrations.zoho_crm.sync.normalize import SyncValue
from alix.integrations.zoho_crm.sync.plan import PageState, PullAction, PullDecision, plan_pull
from alix.integrations.zoho_crm.sync.sources import ZohoRecord
from alix.integrations.zoho_crm.sync.store import issues as issue_store
from alix.integrations.zoho_crm.sync.store import links as link_store
from alix.integrations.zoho_crm.sync.store.issues import PARENT_MISSING, Direction, Report
from alix.integrations.zoho_crm.sync.store.scope import SyncScope

from .moves import move_contacts
from .page_state import load_page, map_records
from .pull_issues import (
    AMBIGUOUS,
    REJECTED,
    TOMBSTONED,
    close_synced,
    conflict_reports,
    journal_settled,
    label,
)


@dataclass
class PageOutcome:
    """What a page did, as counts per outcome (the run's `counts`) and the records read.

    `merged` holds the applied merge decisions (LINK, UPDATE, CONFLICT, NOOP) by (kind, Zoho
    id), and `versions` the ALIX version of each record the page wrote: the push's merge-first
    sends what ALIX won from them.
    """

    counts: Counter[str] = field(default_factory=Counter)
    read: int = 0
    merged: dict[tuple[LinkKind, str], PullDecision] = field(default_factory=dict)
    versions: dict[tuple[Entity, int], int] = field(default_factory=dict)


def _alix_value(value: SyncValue) -> Value:
    # ALIX fields are text and booleans: a number mapped to a text field is its text.
    if isinstance(value, Decimal) or (isinstance(value, int) and not isinstance(value, bool)):
        return str(value)
    return value


def _alix_values(values: Mapping[str, SyncValue]) -> dict[str, Value]:
    # A contact's Account is no field: its customer, which moves (moves.py) or is the parent.
    # _alix_value inlined (every value of every record written): `type(v) is int` is not a bool.
    return {name: str(v) if type(v) is Decimal or type(v) is int else cast(Value, v)
            for name, v in values.items() if name != ACCOUNT}



def record_name(values: Mapping[str, SyncValue]) -> str | None:
    """How people know a record: a customer's name, a contact's first and last names."""
    name = values.get("name") or " ".join(
        str(v) for v in (values.get("first_name"), values.get("last_name")) if v)
    return str(name) if name else None


class _Page:
    """One page's application: the plan's decisions turned into writes, in one transaction."""

    def __init__(self, session: Session, scope: SyncScope, config: SyncConfiguration,
                 actor: Actor, now: datetime, *, fast: bool = False) -> None:
        self.session = session
        self.fast = fast
        self.scope = scope
        self.config = config
        self.actor = actor
        self.now = now
        self.outcome = PageOutcome()
        self.reports: list[tuple[Report, bool]] = []  # (report, retry)
        self.synced: set[tuple[LinkKind, str]] = set()  # records whose issues now close
        self.new_links: list[Link] = []
        self.bases: list[Link] = []
        self.push_work: list[Change] = []
        self.settled: list[Report] = []  # conflicts the policy settled, journaled as resolved
        self.owners: dict[tuple[Entity, int], int] = {}  # a loaded child's customer id

    # -- applying ------------------------------------------------------------------------

    def report(self, decision: PullDecision, code: str, message: str, *, retry: bool = True,
               alix_id: int | None = None, field_name: str | None = None,
               details: Mapping[str, Any] | None = None) -> None:
        if details is None and (name := record_name(decision.values)):
            details = {"name": name}  # the status page names the record, not its Zoho id
        self.reports.append((Report(Direction.PULL, decision.kind, code, message,
                                    alix_id=alix_id, zoho_id=decision.zoho_id,
                                    field=field_name, details=details), retry))

    def waiting(self, decision: PullDecision, account: str | None, message: str) -> None:
        """A child whose Account is not imported: an issue naming that Account, due again
        once it is linked (store.issues.wake_waiting), else after its backoff."""
        name = record_name(decision.values)
        self.report(decision, PARENT_MISSING, message, details={
            **({"name": name} if name else {}), **({"account": account} if account else {})})

    def link(self, decision: PullDecision, alix_id: int, version: int,
             modified: datetime | None = None) -> None:
        self.new_links.append(Link(decision.kind, alix_id, decision.zoho_id,
                                   dict(decision.base or {}), modified, version))

    def refused(self, decision: PullDecision, errors: Mapping[str, list[str]]) -> None:
        problems = " ".join(m for messages in errors.values() for m in messages)
        self.report(decision, REJECTED,
                    f"{label(self.config, decision.kind, decision.zoho_id)} cannot be imported: "
                    f"{problems}", alix_id=decision.alix_id)
        self.outcome.counts["rejected"] += 1

    def create_customers(self, decisions: Sequence[PullDecision]) -> dict[str, int]:
        """Create the page's new customers in bulk; their ALIX ids by Account id."""
        if not decisions:
            return {}
        results = bulk.create_customers(
            self.session, self.actor, [_alix_values(d.values) for d in decisions],
            clock=lambda: self.now, history=not self.fast)
        accounts: dict[str, int] = {}
        for decision, result in zip(decisions, results, strict=True):
            if result.id is None:
                self.refused(decision, result.errors)
                continue
            self.link(decision, result.id, 1, decision.modified_time)
            self.synced.add((decision.kind, decision.zoho_id))
            self.outcome.counts["created"] += 1
            accounts[decision.zoho_id] = result.id
        return accounts

    def create_children(self, decisions: Sequence[PullDecision], accounts: Mapping[str, int]
                        ) -> None:
        """Create contacts and addresses through the customer master's bulk create (one
        executemany per entity), which refuses a second primary contact or main address
        rather than taking the flag from an ALIX row."""
        by_entity: dict[Entity, list[tuple[PullDecision, int]]] = {}
        for decision in decisions:
            parent = decision.parent
            owner = None if parent is None else (
                parent.alix_id if parent.alix_id is not None
                else accounts.get(parent.zoho_id or ""))
            if owner is None:
                account = parent.zoho_id if parent else None
                self.waiting(decision, account,
                             f"{label(self.config, decision.kind, decision.zoho_id)} is not "
                             f"imported: its Account {account or '?'} was not imported into "
                             "ALIX.")
                self.outcome.counts["skipped"] += 1
                continue
            by_entity.setdefault(decision.kind.entity, []).append((decision, owner))
        for entity, items in by_entity.items():
            results = bulk.create_children(
                self.session, self.actor, entity,
                [bulk.NewChild(owner, _alix_values(d.values)) for d, owner in items],
                clock=lambda: self.now, history=not self.fast)
            for (decision, owner), result in zip(items, results, strict=True):
                if result.id is not None:
                    self.link(decision, result.id, 1, decision.modified_time)
                    self.synced.add((decision.kind, decision.zoho_id))
                    self.outcome.counts["created"] += 1
                elif "customer_id" in result.errors:
                    # Deleted in ALIX, its deletion not pushed yet: the push settles the
                    # Account (per the delete policy), then this record is decided again.
                    self.report(decision, PARENT_MISSING,
                                f"{label(self.config, decision.kind, decision.zoho_id)} is not "
                                f"imported: its customer {owner} was deleted in ALIX.")
                    self.outcome.counts["skipped"] += 1
                else:
                    self.refused(decision, result.errors)

    def merges(self, decisions: Sequence[PullDecision], state: PageState) -> None:
        """LINK, UPDATE and CONFLICT: bulk ALIX updates, then the new bases or links."""
        by_entity: dict[Entity, list[PullDecision]] = {}
        for decision in decisions:
            by_entity.setdefault(decision.kind.entity, []).append(decision)
        for entity, items in by_entity.items():
            versions = {(d.kind, d.alix_id): self._version(d, state) for d in items}
            writes = [d for d in items if d.values]
            updates = [bulk.RecordUpdate(int(d.alix_id or 0), _alix_values(d.values),
                                         versions[(d.kind, d.alix_id)]) for d in writes]
            # One ALIX row can be two kinds at once (a main billing address that is also the
            # custom module's default record): bulk refuses an id twice, so write it once.
            if len({u.id for u in updates}) != len(updates):
                updates, writes = self._first_per_id(updates, writes)
            write = {Entity.CUSTOMER: bulk.update_customers, Entity.CONTACT:
                     bulk.update_contacts, Entity.ADDRESS: bulk.update_addresses}[entity]
            results = write(self.session, self.actor, updates, clock=lambda: self.now)
            refused: set[tuple[LinkKind, str]] = set()
            for decision, result in zip(writes, results, strict=True):
                if result.ok:
                    versions[(decision.kind, decision.alix_id)] = int(result.version or 0)
                else:
                    self.refused(decision, result.errors)
                    refused.add((decision.kind, decision.zoho_id))
            kept = [d for d in items if (d.kind, d.zoho_id) not in refused]
            moves = move_contacts(self.session, self.actor, self.now, kept, state)
            for contact_id, version in moves.versions.items():
                versions[(LinkKind.CONTACT, contact_id)] = version
            for decision in moves.decisions:
                self._settle(decision, state, versions[(decision.kind, decision.alix_id)])
            for unmoved in moves.unmoved:
                self.synced.discard((unmoved.decision.kind, unmoved.decision.zoho_id))
                self.report(unmoved.decision, unmoved.code, unmoved.message,
                            retry=unmoved.retry, alix_id=unmoved.decision.alix_id)

    def _first_per_id(self, updates: list[bulk.RecordUpdate], writes: list[PullDecision]
                      ) -> tuple[list[bulk.RecordUpdate], list[PullDecision]]:
        seen: dict[int, int] = {}
        out_u: list[bulk.RecordUpdate] = []
        out_w: list[PullDecision] = []
        for change, decision in zip(updates, writes, strict=True):
            if change.id in seen:
                merged = out_u[seen[change.id]]
                out_u[seen[change.id]] = bulk.RecordUpdate(
                    merged.id, {**merged.values, **change.values}, merged.expected_version)
                continue
            seen[change.id] = len(out_u)
            out_u.append(change)
            out_w.append(decision)
        return out_u, out_w

    @staticmethod
    def _version(decision: PullDecision, state: PageState) -> int:
        found = state.current.get((decision.kind, int(decision.alix_id or 0)))
        if found is None and decision.parent is not None:  # linked to an existing main address
            found = state.main_addresses.get((decision.kind, int(decision.parent.alix_id or 0)))
        return found.version if found is not None else 0

    def _settle(self, decision: PullDecision, state: PageState, version: int) -> None:
        alix_id = int(decision.alix_id or 0)
        merge = decision.merge
        self.outcome.merged[(decision.kind, decision.zoho_id)] = decision
        self.outcome.versions[(decision.kind.entity, alix_id)] = version
        # An open conflict keeps the link's Modified_Time: the CRM still holds a value ALIX has
        # not agreed to, so a push of that field merges again instead of overwriting it.
        unsettled = bool(merge and merge.open_conflicts)
        if decision.action is PullAction.LINK:
            self.link(decision, alix_id, version, None if unsettled else decision.modified_time)
            self.outcome.counts["linked"] += 1
        else:
            link = state.links[(decision.kind, decision.zoho_id)]
            self.bases.append(Link(decision.kind, alix_id, decision.zoho_id,
                                   dict(decision.base if decision.base is not None
                                        else link.base),
                                   link.base_modified_time if unsettled
                                   else decision.modified_time, version))
            self.outcome.counts["conflict" if decision.action is PullAction.CONFLICT
                                else "updated"] += 1
        self.journal(decision)
        self.push_alix_wins(decision, version)
        if not (merge and merge.open_conflicts):
            self.synced.add((decision.kind, decision.zoho_id))

    def push_alix_wins(self, decision: PullDecision, version: int) -> None:
        """Record as a pending ALIX change the fields ALIX won that may have no pending
        outbox row: on a record paired just now (edited before the connection), or in a
        conflict the policy settles for ALIX only now (the ALIX edit was consumed by the push
        that left it open). The pull leaves their base as it was; an ordinary pending change
        (origin `system`: the integration's own are skipped) makes the push send them. An
        ALIX edit that merely differs from an unchanged CRM value is still pending: no row."""
        merge = decision.merge
        if merge is None or not merge.to_crm or not (
                decision.action is PullAction.LINK
                or any(c.resolution is Resolution.ALIX for c in merge.conflicts)):
            return
        alix_id = int(decision.alix_id or 0)
        self.push_work.append(Change(
            decision.kind.entity, alix_id, self._owner(decision, alix_id), Operation.UPDATE,
            version, {name: (_alix_value((decision.base or {}).get(name)), _alix_value(value))
                      for name, value in merge.to_crm.items()}))

    def journal(self, decision: PullDecision) -> None:
        """Journal every conflict of the merge (sync-design.md: always)."""
        open_conflicts, settled = conflict_reports(self.config, decision)
        self.reports.extend((report, False) for report in open_conflicts)
        self.settled.extend(settled)

    def _owner(self, decision: PullDecision, alix_id: int) -> int:
        if decision.kind is LinkKind.CUSTOMER:
            return alix_id
        if decision.parent is not None and decision.parent.alix_id is not None:
            return decision.parent.alix_id
        return self.owners[(decision.kind.entity, alix_id)]

    def flush(self) -> None:
        by_module: dict[str, list[Link]] = {}
        for link in self.new_links:
            by_module.setdefault(crm_module(self.config, link.kind) or link.kind.value,
                                 []).append(link)
        for module, links in by_module.items():
            link_store.create_links(self.session, self.scope, module, links, self.now)
        link_store.update_bases(self.session, self.scope, self.bases, self.now)
        if self.push_work:
            pusher = Actor(self.actor.organisation_id, self.actor.user_id, Origin.SYSTEM)
            outbox.record(self.session, pusher, self.push_work, self.now)
        close_synced(self.session, self.scope, {z for _k, z in self.synced}, self.now)
        for report, retry in self.reports:
            issue_store.record_issue(self.session, self.scope, report, self.now, retry=retry)
        journal_settled(self.session, self.scope, self.settled, self.now)


def pull_page(
    session: Session,
    scope: SyncScope,
    config: SyncConfiguration,
    actor: Actor,
    records: Sequence[ZohoRecord],
    kinds: Sequence[LinkKind],
    now: datetime,
    *,
    fast: bool = False,
) -> PageOutcome:
    """Plan and apply one page of Zoho records in the caller's transaction (never commits).

    Idempotent: applying the same page again finds every record linked and equal to its base,
    and writes nothing. Per-record problems become issues; the rest of the page goes on.

    `fast` (the initial import) records the records this page creates in the run's counters
    only, not with an outbox row each: those rows would be born `skipped`, history nothing
    reads (the push and the sweep read pending rows; the conflict page ALIX's own edits). Every
    other write, and every other decision, is the same as without it.
    """
    return apply_mapped(session, scope, config, actor, map_records(records, kinds, config),
                        len(records), now, fast=fast)


def apply_mapped(
    session: Session,
    scope: SyncScope,
    config: SyncConfiguration,
    actor: Actor,
    mapped: Sequence[Mapped | Rejection],
    read: int,
    now: datetime,
    *,
    fast: bool = False,
) -> PageOutcome:
    """pull_page for `read` records already mapped (page_state.map_records): a large import
    maps its pages in the process that reads them, and writes them in another."""
    page = _Page(session, scope, config, actor, now, fast=fast)
    page.outcome.read = read
    loaded = load_page(session, scope, config, actor.organisation_id, mapped)
    state = loaded.state
    page.owners = loaded.owners
    plan = plan_pull(mapped, config, state)
    creates = plan.of(PullAction.CREATE)
    accounts = page.create_customers([d for d in creates if d.kind is LinkKind.CUSTOMER])
    page.merges([d for d in plan.decisions if d.action in (
        PullAction.LINK, PullAction.UPDATE, PullAction.CONFLICT)], state)
    page.create_children([d for d in creates if d.kind is not LinkKind.CUSTOMER], accounts)
    for decision in plan.decisions:
        action = decision.action
        if action is PullAction.NOOP:
            page.outcome.merged[(decision.kind, decision.zoho_id)] = decision
            page.journal(decision)  # a conflict ALIX won: nothing written here, still journaled
            page.push_alix_wins(decision, page._version(decision, state))
            page.outcome.counts["unchanged"] += 1
            page.synced.add((decision.kind, decision.zoho_id))
        elif action is PullAction.REJECT:
            page.report(decision, REJECTED, decision.reason)
            page.outcome.counts["rejected"] += 1
        elif action is PullAction.AMBIGUOUS:
            page.report(decision, AMBIGUOUS, decision.reason,
                        details={"candidates": list(decision.candidates)})
            page.outcome.counts["ambiguous"] += 1
        elif action is PullAction.TOMBSTONED:
            page.report(decision, TOMBSTONED, decision.reason, retry=False,
                        alix_id=decision.alix_id)
            page.outcome.counts["tombstoned"] += 1
        elif action is PullAction.SKIP:
            page.outcome.counts["skipped"] += 1
            # Retried: its Account may be imported later (a Contact; an Account's own
            # addresses come back with the Account itself, whose issue is the one to retry).
            # A Contact without any Account is not imported at all (the seed), silently.
            if decision.waits_for is not None and not decision.kind.on_account:
                page.waiting(decision, decision.waits_for, decision.reason)
    page.flush()
    return page.outcome
