"""The issues of the pull: codes, the conflict journal, closing retried ones once synced."""

from __future__ import annotations

import json
from collections.abc import Collection, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from alix.db import driver
from alix.db.base import driver_timestamp
from alix.integrations.zoho_crm.config import SyncConfiguration
from alix.integrations.zoho_crm.sync.kinds import ACCOUNT, LinkKind
from alix.integrations.zoho_crm.sync.mapping import crm_module
from alix.integrations.zoho_crm.sync.merge import Resolution
from alix.integrations.zoho_crm.sync.normalize import SyncValue
from alix.integrations.zoho_crm.sync.plan import PullDecision
from alix.integrations.zoho_crm.sync.store.issues import (
    PARENT_MISSING,
    Direction,
    IssueStatus,
    Report,
    record_issue,
    resolve_issue,
)
from alix.integrations.zoho_crm.sync.store.scope import SyncScope
from alix.integrations.zoho_crm.sync.store.tables import zoho_sync_issues

# Issue codes of the pull. Retried ones are fetched again by id when due (pull.retry_due).
REJECTED = "rejected"  # its values cannot be ALIX values, or ALIX refused them
AMBIGUOUS = "ambiguous"  # several ALIX customers share its name
CONFLICT = "conflict"  # a field both sides changed, left open for a person
CONFLICT_SETTLED = "conflict_settled"  # one the policy settled: journaled, already resolved
TOMBSTONED = "tombstoned"  # changed in Zoho after its ALIX pair was deleted
# PARENT_MISSING (store.issues): its Account is not (yet) imported; due once it is linked.
RETRIED_CODES = frozenset({REJECTED, AMBIGUOUS, PARENT_MISSING})
# Fetched again when due: the retried codes, and a conflict a person asked to retry (an open
# conflict has no retry time of its own: its record is merged again when it changes).
REFETCHED_CODES = RETRIED_CODES | {CONFLICT}


def label(config: SyncConfiguration, kind: LinkKind, zoho_id: str) -> str:
    """How messages name a Zoho record: "Zoho Accounts record 4876876000000123"."""
    return f"Zoho {crm_module(config, kind) or kind.value} record {zoho_id}"


_CLOSED_ON_SYNC = tuple(sorted(RETRIED_CODES | {CONFLICT}))


def close_synced(session: Session, scope: SyncScope, zoho_ids: Collection[str],
                 now: datetime) -> None:
    """Close, in one statement, the open retried pull issues of the records that synced now,
    and their open conflicts: a record merged without an open conflict has none left (a
    conflict that still stands is found again by every merge, since its field's base stays)."""
    if not zoho_ids:
        return
    listed, parameter = driver.among(session, sorted(zoho_ids), text=True)
    at = driver_timestamp(now, sqlite=driver.is_sqlite(session))
    driver.execute(
        session, "UPDATE zoho_sync_issues SET status = ?, resolved_at = ?, next_retry_at = NULL, "
                 "updated_at = ? WHERE connection_id = ? AND status = ? AND direction = ? "
                 f"AND code IN ({', '.join('?' * len(_CLOSED_ON_SYNC))}) AND zoho_id {listed}",
        (IssueStatus.RESOLVED.value, at, at, scope.connection_id, IssueStatus.OPEN.value,
         Direction.PULL.value, *_CLOSED_ON_SYNC, parameter))


def _json(value: SyncValue) -> Any:
    return str(value) if isinstance(value, Decimal) else value


def _field(name: str) -> str:
    return "its Account (Zoho Account ids)" if name == ACCOUNT else name


def conflict_reports(config: SyncConfiguration, decision: PullDecision
                     ) -> tuple[list[Report], list[Report]]:
    """The journal of a merge's conflicts: the open ones, issues for a person; the ones the
    policy settled, saying who won with which value (journal_settled stores them resolved)."""
    if decision.merge is None:
        return [], []
    alix_id = int(decision.alix_id or 0)
    what = (f"{label(config, decision.kind, decision.zoho_id)} and ALIX "
            f"{decision.kind.entity.value} {alix_id} both changed")
    open_conflicts: list[Report] = []
    settled: list[Report] = []
    for conflict in decision.merge.conflicts:
        details = {"base": _json(conflict.base), "alix": _json(conflict.alix),
                   "crm": _json(conflict.crm)}
        if conflict.resolution is Resolution.OPEN:
            # Who changed it in Zoho, for the person who decides (the conflicts page).
            changed = {"crm_by": decision.modified_by, "crm_at": decision.modified_time
                       and decision.modified_time.isoformat()}
            open_conflicts.append(Report(
                Direction.PULL, decision.kind, CONFLICT,
                f"{what} {_field(conflict.field)}: {conflict.reason}", alix_id=alix_id,
                zoho_id=decision.zoho_id, field=conflict.field, details=details | changed))
            continue
        won, lost = ((("ALIX", conflict.alix), ("Zoho", conflict.crm))
                     if conflict.resolution is Resolution.ALIX
                     else (("Zoho", conflict.crm), ("ALIX", conflict.alix)))
        settled.append(Report(
            Direction.PULL, decision.kind, CONFLICT_SETTLED,
            f"{what} {_field(conflict.field)}: {won[0]} won with {won[1]!r}; {lost[0]} had "
            f"{lost[1]!r}. {conflict.reason}", alix_id=alix_id, zoho_id=decision.zoho_id,
            field=conflict.field, details=details | {"winner": conflict.resolution.value}))
    return open_conflicts, settled


def _fingerprint(record_key: str, details: object) -> tuple[str, str]:
    return record_key, json.dumps(details, sort_keys=True, default=str)


def journal_settled(session: Session, scope: SyncScope, reports: Sequence[Report],
                    now: datetime) -> None:
    """Store settled conflicts as resolved issues, so a person sees what the policy decided.

    A replay finds the same conflict (same record, field and values) already journaled and
    adds nothing; one query for the page, whatever its size.
    """
    if not reports:
        return
    seen = {_fingerprint(row.record_key, row.details) for row in session.execute(
        select(zoho_sync_issues.c.record_key, zoho_sync_issues.c.details).where(
            zoho_sync_issues.c.connection_id == scope.connection_id,
            zoho_sync_issues.c.code == CONFLICT_SETTLED,
            zoho_sync_issues.c.record_key.in_(sorted({r.record_key for r in reports})),
        ))}
    for report in reports:
        fingerprint = _fingerprint(report.record_key, report.details)
        if fingerprint in seen:
            continue
        seen.add(fingerprint)
        issue = record_issue(session, scope, report, now, retry=False)
        resolve_issue(session, scope, issue.id, now)
