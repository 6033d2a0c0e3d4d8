"""Sending a page's push decisions to Zoho and recording each record's answer.

Every Zoho call is followed by one transaction that stores what it did: advanced bases, new
links (creates complete their pending marker in that same transaction), tombstones and issues.
A refused record becomes an issue with its retry time; the rest of the batch goes on.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from alix.customers.fields import Entity
from alix.customers.outbox import Failure
from alix.db.session import unit_of_work
from alix.integrations.zoho_crm.client.wire import WriteFailure, WriteResult, WriteSuccess
from alix.integrations.zoho_crm.rules import DeletePolicy, Direction
from alix.integrations.zoho_crm.sync.kinds import ACCOUNT, LinkKind
from alix.integrations.zoho_crm.sync.link import Link
from alix.integrations.zoho_crm.sync.mapping import account_lookup, rows_of
from alix.integrations.zoho_crm.sync.push_plan import PushAction, PushDecision
from alix.integrations.zoho_crm.sync.store import issues
from alix.integrations.zoho_crm.sync.store.links import (
    clear_pending,
    complete_pending,
    create_links,
    mark_pending,
    tombstone,
    update_bases,
)
from alix.integrations.zoho_crm.sync.store.scope import DuplicateLink

from .context import SyncContext
from .push_batch import Batch

BATCH = 100  # Zoho takes at most 100 records per write (zoho-crm-api.md 4.2)
# Issue codes of records the push held back (the plan skipped them, or their customer is not in
# Zoho yet): counted as skipped; any other failure is Zoho's (or a link's) refusal, rejected.
HELD_BACK = frozenset({"skipped", "parent_missing"})


def chunks(values: Sequence[Any], size: int = BATCH) -> Iterator[Sequence[Any]]:
    for start in range(0, len(values), size):
        yield values[start:start + size]


@dataclass
class PushRun:
    """What one page's sending has learnt so far: Accounts created, failures, counts."""

    ctx: SyncContext
    batch: Batch
    now: datetime
    failures: dict[tuple[int, ...], Failure] = field(default_factory=dict)
    created_accounts: dict[int, str] = field(default_factory=dict)
    versions: dict[tuple[Entity, int], int] = field(default_factory=dict)
    # Links whose Modified_Time must not advance: an open conflict is still unsettled there.
    keep_modified: set[tuple[LinkKind, int]] = field(default_factory=set)
    # Pairs the merge-first linked in this page (a main address never merged before).
    linked: set[tuple[LinkKind, int]] = field(default_factory=set)
    counts: dict[str, int] = field(default_factory=dict)
    merged: list[PushDecision] = field(default_factory=list)  # merged first, still to send
    relinked: bool = False  # links were created: plans of other records may differ now

    def count(self, what: str, n: int = 1) -> None:
        self.counts[what] = self.counts.get(what, 0) + n

    def version(self, d: PushDecision) -> int | None:
        key = (d.kind.entity, d.alix_id)
        return self.versions.get(key, self.batch.versions.get(key))

    def fail(self, session: Any, d: PushDecision, code: str, message: str, *,
             zoho_id: str | None = None, field_name: str | None = None,
             retry: bool = True) -> None:
        """Record the issue and keep the record's outbox rows for its retry time; counted as
        failed, and as skipped or rejected (what the run shows)."""
        report = issues.Report(issues.Direction.PUSH, d.kind, code or "error", message,
                               alix_id=d.alix_id, zoho_id=zoho_id or d.zoho_id,
                               field=field_name)
        issue = issues.record_issue(session, self.ctx.scope, report, self.now, retry=retry)
        self.failures[d.entry_ids] = Failure(d.entry_ids, message, issue.next_retry_at)
        self.count("failed")
        self.count("skipped" if code in HELD_BACK else "rejected")

    def settled(self, session: Any, d: PushDecision) -> None:
        """A record synced: close the push issues it had (only records that failed before)."""
        if d.entry_ids in self.batch.retried:
            issues.resolve_record(session, self.ctx.scope, issues.Direction.PUSH, d.kind,
                                  self.now, alix_id=d.alix_id)


def _refusal(verb: str, d: PushDecision, module: str, result: WriteFailure) -> tuple[str, str]:
    error = result.error
    where = f" {error.field}" if error.field else ""
    return error.code or "error", (
        f"Zoho refused to {verb} ALIX {d.kind.entity.value} {d.alix_id} in {module}: "
        f"{error.code}{where} ({error.message})."
    )


def riders_of(creates: Sequence[PushDecision], updates: Sequence[PushDecision]
              ) -> dict[int, list[PushDecision]]:
    """The main addresses of customers this batch creates, by customer: they live on the
    Account, so they travel in its insert (one call, one Modified_Time) instead of an update
    right after it."""
    new_accounts = {d.alix_id for d in creates if d.kind is LinkKind.CUSTOMER}
    riders: dict[int, list[PushDecision]] = {}
    for d in updates:
        parent = d.parent
        if (d.kind.is_main_address and d.zoho_id is None and parent is not None
                and parent.zoho_id is None and parent.alix_id in new_accounts):
            riders.setdefault(int(parent.alix_id or 0), []).append(d)
    return riders


async def send_creates(run: PushRun, decisions: Sequence[PushDecision],
                       riders: Mapping[int, Sequence[PushDecision]] | None = None) -> None:
    """Insert new records, a pending marker committed before each call (no duplicates); a new
    Account carries its main addresses (`riders`, by customer), linked with it.

    The riders need no pending marker: after a crash the recovered Account is linked and its
    main addresses, found unlinked, are merged by the next push (push_plan, PULL_FIRST)."""
    riders = riders or {}
    ctx = run.ctx
    by_module: dict[str, list[PushDecision]] = {}
    for d in decisions:
        by_module.setdefault(d.module or "", []).append(d)
    for module, group in by_module.items():
        for chunk in chunks(group):
            ready: list[tuple[PushDecision, dict[str, Any]]] = []
            with unit_of_work(ctx.sessions) as session:
                for d in chunk:
                    payload = dict(d.payload)
                    if d.parent is not None and d.parent.zoho_id is None:
                        account = run.created_accounts.get(d.parent.alix_id or -1)
                        lookup = account_lookup(ctx.config, d.kind)
                        if account is None or lookup is None:
                            run.fail(session, d, "parent_missing",
                                     f"ALIX {d.kind.entity.value} {d.alix_id} waits for its "
                                     f"customer {d.parent.alix_id} to be created in Zoho.")
                            continue
                        payload[lookup] = {"id": account}
                        if d.kind is LinkKind.CONTACT:
                            d = replace(d, base={**(d.base or {}), ACCOUNT: account})
                    for rider in riders.get(d.alix_id, ()) if d.kind is LinkKind.CUSTOMER \
                            else ():
                        payload |= {k: v for k, v in rider.payload.items() if k != "id"}
                    ready.append((d, payload))
                mark_pending(session, ctx.scope, module,
                             [(d.kind, d.alix_id) for d, _ in ready], run.now)
            if not ready:
                continue
            results = await ctx.crm.insert(module, [p for _, p in ready])
            with unit_of_work(ctx.sessions) as session:
                _record_creates(run, session, module, ready, results, riders)


def _record_creates(run: PushRun, session: Any, module: str,
                    ready: Sequence[tuple[PushDecision, dict[str, Any]]],
                    results: Sequence[WriteResult],
                    riders: Mapping[int, Sequence[PushDecision]]) -> None:
    """One call's answers: the new links and their riders' in one statement each, whatever
    the number of records (a refusal costs its own issue)."""
    created: list[Link] = []
    riding: list[Link] = []
    refused: list[tuple[LinkKind, int]] = []
    for (d, _), result in zip(ready, results, strict=True):
        own_riders = riders.get(d.alix_id, ()) if d.kind is LinkKind.CUSTOMER else ()
        if isinstance(result, WriteSuccess):
            created.append(Link(d.kind, d.alix_id, result.id, d.base or {},
                                result.modified_time, run.version(d)))
            if d.kind is LinkKind.CUSTOMER:
                run.created_accounts[d.alix_id] = result.id
            riding.extend(Link(r.kind, r.alix_id, result.id, r.base or {},
                               result.modified_time, run.version(r)) for r in own_riders)
            for settled in (d, *own_riders):
                run.settled(session, settled)
            run.count("created")
            run.count("updated", len(own_riders))
        else:
            refused.append((d.kind, d.alix_id))
            run.fail(session, d, *_refusal("create", d, module, result))
            for rider in own_riders:
                run.fail(session, rider, "parent_missing",
                         f"ALIX {rider.kind.entity.value} {rider.alix_id} waits for "
                         f"its customer {d.alix_id} to be created in Zoho.")
    complete_pending(session, run.ctx.scope, created, run.now)
    run.relinked = run.relinked or bool(created)
    if riding:
        create_links(session, run.ctx.scope, module, riding, run.now)
    if refused:
        clear_pending(session, run.ctx.scope, refused)


def _account_of(run: PushRun, d: PushDecision) -> str | None:
    if d.zoho_id is not None:
        return d.zoho_id
    if d.parent is not None and d.parent.alix_id is not None:
        return run.created_accounts.get(d.parent.alix_id)
    return None


async def send_updates(run: PushRun, decisions: Sequence[PushDecision]) -> None:
    """Update by id, the changed fields only; decisions on the same Zoho record (an Account and
    its main addresses) travel as one record."""
    ctx = run.ctx
    targets: dict[str, dict[str, list[PushDecision]]] = {}
    for d in decisions:
        zoho_id = _account_of(run, d)
        if zoho_id is None:
            with unit_of_work(ctx.sessions) as session:
                run.fail(session, d, "parent_missing",
                         f"ALIX {d.kind.entity.value} {d.alix_id} waits for its customer to "
                         "be created in Zoho.")
            continue
        targets.setdefault(d.module or "", {}).setdefault(zoho_id, []).append(d)
    for module, by_id in targets.items():
        ids = list(by_id)
        for chunk in chunks(ids):
            payloads = []
            for zoho_id in chunk:
                merged: dict[str, Any] = {}
                for d in by_id[zoho_id]:
                    merged.update(d.payload)
                payloads.append(merged | {"id": zoho_id})
            results = await ctx.crm.update(module, payloads)
            answers = [(d, zoho_id, result) for zoho_id, result in zip(chunk, results,
                                                                        strict=True)
                       for d in by_id[zoho_id]]
            with unit_of_work(ctx.sessions) as session:
                _record_updates(run, session, module, answers)


def _record_updates(run: PushRun, session: Any, module: str,
                    answers: Sequence[tuple[PushDecision, str, WriteResult]]) -> None:
    """One call's answers: every advanced base in one statement, every first link in
    another, whatever the number of records (a refusal costs its own issue)."""
    bases: list[tuple[PushDecision, Link]] = []
    new_links: list[tuple[PushDecision, Link]] = []
    for d, zoho_id, result in answers:
        if isinstance(result, WriteFailure):
            run.fail(session, d, *_refusal("update", d, module, result), zoho_id=zoho_id)
            continue
        existing = run.batch.links.get((d.kind, d.alix_id))
        modified = result.modified_time
        if (d.kind, d.alix_id) in run.keep_modified:
            modified = existing.base_modified_time if existing is not None else None
        link = Link(d.kind, d.alix_id, zoho_id, d.base or {}, modified, run.version(d))
        if existing is not None or (d.kind, d.alix_id) in run.linked:
            bases.append((d, link))
        else:
            new_links.append((d, link))
    update_bases(session, run.ctx.scope, [link for _, link in bases], run.now)
    linked = _create_links(run, session, module, new_links)
    for d, _ in [*bases, *linked]:
        run.settled(session, d)
        run.count("updated")


def _create_links(run: PushRun, session: Any, module: str,
                  new_links: Sequence[tuple[PushDecision, Link]]
                  ) -> list[tuple[PushDecision, Link]]:
    """Store first links in one statement; when one of them is refused (all or nothing),
    one by one, so only the refused pair becomes an issue. Returns the pairs stored."""
    run.relinked = run.relinked or bool(new_links)
    try:
        create_links(session, run.ctx.scope, module, [link for _, link in new_links], run.now)
        return list(new_links)
    except DuplicateLink:
        pass
    stored = []
    for d, link in new_links:
        try:
            create_links(session, run.ctx.scope, module, [link], run.now)
        except DuplicateLink as exc:
            run.fail(session, d, "duplicate_link", str(exc), zoho_id=link.zoho_id, retry=False)
            continue
        stored.append((d, link))
    return stored


def active_field(run: PushRun) -> str | None:
    """The CRM checkbox the customer's `is_active` is mapped to both ways, if any."""
    for row in rows_of(run.ctx.config, LinkKind.CUSTOMER):
        if row.alix_field == "is_active" and row.direction is Direction.BOTH:
            return row.crm_field
    return None


async def send_deletes(run: PushRun, decisions: Sequence[PushDecision]) -> None:
    """Deletes (children first) and tombstones; the link is tombstoned once Zoho agreed.

    A customer deleted under "mark inactive" unticks the Account's mapped Active checkbox;
    without one, only the link remembers, and the journal says Zoho kept the Account.
    """
    ctx = run.ctx
    ordered = sorted(decisions, key=lambda d: -d.kind.rank)
    for d in ordered:
        module = d.module or ""
        zoho_id = d.zoho_id or ""
        result: WriteResult | None = None
        if d.action is PushAction.DELETE and d.payload:  # a main address: empty its fields
            result = (await ctx.crm.update(module, [dict(d.payload) | {"id": zoho_id}]))[0]
        elif d.action is PushAction.DELETE:
            result = (await ctx.crm.delete(module, [zoho_id]))[0]
            if isinstance(result, WriteFailure) and result.error.code == "INVALID_DATA":
                result = None  # already gone from Zoho: nothing left to delete
        elif (d.kind is LinkKind.CUSTOMER
              and ctx.config.delete_alix_to_crm is DeletePolicy.MARK_INACTIVE
              and (checkbox := active_field(run)) is not None):
            result = (await ctx.crm.update(module, [{"id": zoho_id, checkbox: False}]))[0]
        with unit_of_work(ctx.sessions) as session:
            if isinstance(result, WriteFailure):
                run.fail(session, d, *_refusal("delete", d, module, result))
                continue
            if isinstance(result, WriteSuccess):
                _remember_write(run, session, d, zoho_id, result)
            tombstone(session, ctx.scope, [(d.kind, zoho_id)], run.now)
            if (d.kind is LinkKind.CUSTOMER and result is None
                    and ctx.config.delete_alix_to_crm is DeletePolicy.MARK_INACTIVE):
                # Journaled, not left open: the deletion was a person's decision and Zoho
                # has no checkbox to untick; Details is where mapping one is offered.
                kept = issues.record_issue(session, ctx.scope, issues.Report(
                    issues.Direction.PUSH, d.kind, "kept_in_zoho",
                    f"ALIX {d.kind.entity.value} {d.alix_id} was deleted; Zoho record "
                    f"{zoho_id} is kept as it is, since no Active checkbox is mapped to mark "
                    "it inactive.", alix_id=d.alix_id, zoho_id=zoho_id,
                ), run.now, retry=False)
                issues.resolve_issue(session, ctx.scope, kept.id, run.now)
            run.settled(session, d)
            run.count("deleted" if d.action is PushAction.DELETE else "tombstoned")


def _remember_write(run: PushRun, session: Any, d: PushDecision, zoho_id: str,
                    result: WriteSuccess) -> None:
    """What a delete wrote (an Account's emptied address, its unticked Active) becomes the
    tombstoned link's base, so that write coming back from Zoho is known as our own echo
    instead of a change to a deleted record."""
    existing = run.batch.links.get((d.kind, d.alix_id))
    if existing is None:
        return
    if d.base is not None:
        base = dict(d.base)
    elif d.kind is LinkKind.CUSTOMER:
        base = dict(existing.base) | {"is_active": False}
    else:
        return
    update_bases(session, run.ctx.scope, [Link(d.kind, d.alix_id, zoho_id, base,
                                               result.modified_time, existing.base_version)],
                 run.now)


def child_delete_policy(decisions: Sequence[PushDecision], policy: DeletePolicy
                        ) -> list[PushDecision]:
    """Contacts and custom-module addresses have no "inactive" in Zoho: under mark-inactive an
    ALIX delete deletes them in Zoho (recoverable from its recycle bin)."""
    out = []
    for d in decisions:
        if (d.action is PushAction.TOMBSTONE and policy is DeletePolicy.MARK_INACTIVE
                and d.kind in (LinkKind.CONTACT, LinkKind.BILLING, LinkKind.SHIPPING)):
            d = replace(d, action=PushAction.DELETE, reason="")
        out.append(d)
    return out


def by_action(decisions: Sequence[PushDecision]) -> Mapping[PushAction, list[PushDecision]]:
    grouped: dict[PushAction, list[PushDecision]] = {a: [] for a in PushAction}
    for d in decisions:
        grouped[d.action].append(d)
    return grouped
