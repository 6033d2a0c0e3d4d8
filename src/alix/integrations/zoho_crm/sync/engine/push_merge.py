"""Pull-and-merge before a push overwrites a record Zoho changed since the base.

No pull engine function for "one page of records" exists yet (sync/engine has no pull module),
so this merges those records itself with the pure core: `mapping.from_crm`, `merge.merge`. What
the CRM won is written to ALIX as the sync actor (its outbox rows are skipped: no echo), what
ALIX won is pushed, conflicts become issues; an open conflict keeps its field's base and the
link's Modified_Time, so the next push merges again instead of overwriting the CRM's value.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from alix.customers import bulk
from alix.customers.fields import Entity
from alix.integrations.zoho_crm.client.model import Record
from alix.integrations.zoho_crm.sync.link import Link
from alix.integrations.zoho_crm.sync.mapping import (
    Rejection,
    from_crm,
    kinds_of,
    read_only_fields,
    to_crm,
)
from alix.integrations.zoho_crm.sync.merge import Resolution, merge
from alix.integrations.zoho_crm.sync.push_plan import PushAction, PushDecision
from alix.integrations.zoho_crm.sync.store import issues
from alix.integrations.zoho_crm.sync.store.links import create_links, update_bases

from .push_batch import Batch
from .push_send import PushRun

_UPDATERS = {Entity.CUSTOMER: bulk.update_customers, Entity.CONTACT: bulk.update_contacts,
             Entity.ADDRESS: bulk.update_addresses}


def _raw(value: object) -> object:
    return str(value) if isinstance(value, Decimal) else value


def merge_first(
    run: PushRun, session: Session, decisions: Sequence[PushDecision],
    records: Mapping[str, Record],
) -> list[PushDecision]:
    """Merge each PULL_FIRST decision with the Zoho record; returns the updates still to send.

    Runs in the caller's transaction (ALIX writes, bases, issues); Zoho is not called.
    """
    ctx, batch = run.ctx, run.batch
    to_send: list[PushDecision] = []
    for d in decisions:
        record = records.get(d.zoho_id or "")
        alix = _values(batch, d)
        if record is None or alix is None:
            run.fail(session, d, "not_found",
                     f"Zoho record {d.zoho_id} of ALIX {d.kind.entity.value} {d.alix_id} could "
                     "not be read before writing; the pull will settle it.")
            continue
        mapped = from_crm(record, d.kind, ctx.config)
        if isinstance(mapped, Rejection):
            run.fail(session, d, "rejected", mapped.reason, retry=False)
            continue
        link = batch.links.get((d.kind, d.alix_id))
        base = link.base if link is not None else {}
        result = merge(base, alix, mapped.values, ctx.config.conflict_policy,
                       alix_modified=_alix_modified(batch, d), crm_modified=record.modified_time,
                       kinds=kinds_of(ctx.config, d.kind),
                       read_only=read_only_fields(ctx.config, d.kind))
        for c in result.conflicts:
            issues.record_issue(session, ctx.scope, issues.Report(
                issues.Direction.PUSH, d.kind, "conflict",
                f"ALIX {d.kind.entity.value} {d.alix_id} and Zoho record {d.zoho_id} both "
                f"changed {c.field}: ALIX {c.alix!r}, Zoho {c.crm!r}. {c.reason}",
                alix_id=d.alix_id, zoho_id=d.zoho_id, field=c.field,
                details={"resolution": c.resolution.value},
            ), run.now, retry=False)
        if result.to_alix and not _apply_to_alix(run, session, d, result.to_alix):
            continue
        if result.open_conflicts:
            run.keep_modified.add((d.kind, d.alix_id))
        modified = (link.base_modified_time if link is not None and result.open_conflicts
                    else record.modified_time)
        if result.to_crm:
            payload = to_crm(d.kind, result.to_crm, ctx.config) | {"id": d.zoho_id}
            to_send.append(replace(d, action=PushAction.UPDATE, payload=payload,
                                   base=result.base))
            continue
        stored = Link(d.kind, d.alix_id, d.zoho_id or "", result.base, modified, run.version(d))
        if link is not None:
            update_bases(session, ctx.scope, [stored], run.now)
        else:
            create_links(session, ctx.scope, d.module or "", [stored], run.now)
        if not any(c.resolution is Resolution.OPEN for c in result.conflicts):
            run.settled(session, d)
        run.count("merged")
    return to_send


def _values(batch: Batch, d: PushDecision) -> Mapping[str, Any] | None:
    return next((i.values for i in batch.items if i.kind is d.kind and i.alix_id == d.alix_id),
                None)


def _alix_modified(batch: Batch, d: PushDecision) -> Any:
    row = batch.current.get((d.kind.entity, d.alix_id))
    return getattr(row, "updated_at", None)


def _apply_to_alix(run: PushRun, session: Session, d: PushDecision,
                   values: Mapping[str, object]) -> bool:
    entity = d.kind.entity
    update = bulk.RecordUpdate(d.alix_id, {k: _raw(v) for k, v in values.items()},
                               expected_version=run.version(d))
    (result,) = _UPDATERS[entity](session, run.ctx.actor, [update], clock=lambda: run.now)
    if not result.ok:
        errors = "; ".join(f"{k}: {' '.join(v)}" for k, v in result.errors.items())
        run.fail(session, d, "alix_refused",
                 f"ALIX {entity.value} {d.alix_id} refused the values Zoho record {d.zoho_id} "
                 f"holds ({errors}).")
        return False
    if result.version is not None:
        run.versions[(entity, d.alix_id)] = result.version
    return True
