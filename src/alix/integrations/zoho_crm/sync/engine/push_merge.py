"""Pull-and-merge before a push overwrites a record Zoho changed since the base.

The Zoho records go through the pull's own page (`apply.pull_page`), so Zoho values reach ALIX
one way only: the same mapping, plan, merge, ALIX writes (as the sync actor, no echo), links,
bases and issues as an incremental pull. What ALIX won is then sent by the push, with the
merged base; an open conflict keeps the link's Modified_Time, so the next push merges again
instead of overwriting the CRM's value.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace

from sqlalchemy.orm import Session

from alix.integrations.zoho_crm.client.wire import Record
from alix.integrations.zoho_crm.sync.kinds import LinkKind
from alix.integrations.zoho_crm.sync.mapping import to_crm
from alix.integrations.zoho_crm.sync.plan import PullAction, PullDecision
from alix.integrations.zoho_crm.sync.push_plan import PushAction, PushDecision

from .apply import pull_page
from .push_send import PushRun


def _pull(run: PushRun, session: Session, decisions: Sequence[PushDecision],
          records: Mapping[str, Record]) -> dict[tuple[LinkKind, str], PullDecision]:
    """Pull the records, each as the kinds the push wants merged (the fields read for them)."""
    kinds_of: dict[str, set[LinkKind]] = {}
    for d in decisions:
        kinds_of.setdefault(d.zoho_id or "", set()).add(d.kind)
    pages: dict[tuple[LinkKind, ...], list[Record]] = {}
    for zoho_id, kinds in kinds_of.items():
        ordered = tuple(sorted(kinds, key=lambda k: (k.rank, k.value)))
        pages.setdefault(ordered, []).append(records[zoho_id])
    merged: dict[tuple[LinkKind, str], PullDecision] = {}
    ctx = run.ctx
    for page_kinds, page in pages.items():
        outcome = pull_page(session, ctx.scope, ctx.config, ctx.actor, page, page_kinds,
                            run.now)
        merged.update(outcome.merged)
        run.versions.update(outcome.versions)
    return merged


def merge_first(
    run: PushRun, session: Session, decisions: Sequence[PushDecision],
    records: Mapping[str, Record],
) -> list[PushDecision]:
    """Merge each PULL_FIRST decision with the Zoho record; returns the updates still to send.

    Runs in the caller's transaction (ALIX writes, bases, issues); Zoho is not called.
    """
    readable: list[PushDecision] = []
    for d in decisions:
        if (d.zoho_id or "") in records:
            readable.append(d)
        else:
            run.fail(session, d, "not_found",
                     f"Zoho record {d.zoho_id} of ALIX {d.kind.entity.value} {d.alix_id} could "
                     "not be read before writing; the pull will settle it.")
    merged = _pull(run, session, readable, records)
    to_send: list[PushDecision] = []
    for d in readable:
        pulled = merged.get((d.kind, d.zoho_id or ""))
        if pulled is None or pulled.merge is None:
            run.fail(session, d, "not_merged",
                     f"Zoho record {d.zoho_id} changed since ALIX {d.kind.entity.value} "
                     f"{d.alix_id} was last synced, and the pull could not merge it (its pull "
                     "issue says why): nothing is sent until it can.")
            continue
        result = pulled.merge
        if result.open_conflicts:
            run.keep_modified.add((d.kind, d.alix_id))
        if pulled.action is PullAction.LINK:
            run.linked.add((d.kind, d.alix_id))
        if result.to_crm:
            payload = to_crm(d.kind, result.to_crm, run.ctx.config) | {"id": d.zoho_id}
            to_send.append(replace(d, action=PushAction.UPDATE, payload=payload,
                                   base=result.base))
            continue
        if not result.open_conflicts:
            run.settled(session, d)
        run.count("merged")
    return to_send
