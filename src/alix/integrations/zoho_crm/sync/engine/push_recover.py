"""Resolving the creates a crashed push left in flight, before anything is inserted again.

Zoho has no idempotency key: a run that crashed between Zoho's insert and our commit left a
pending marker and maybe a Zoho record. The record is looked up by its name among the records
created since the marker (by our integration user, when Zoho says who created them): one found
-> the link is completed with it; none -> the marker goes and the record is created again;
several -> an issue for a person, and the marker stays so nothing is inserted meanwhile.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from alix.db.session import unit_of_work
from alix.integrations.zoho_crm.client.timestamps import format_datetime
from alix.integrations.zoho_crm.client.wire import Record
from alix.integrations.zoho_crm.sync.kinds import LinkKind
from alix.integrations.zoho_crm.sync.link import Link
from alix.integrations.zoho_crm.sync.mapping import (
    Rejection,
    crm_fields,
    from_alix,
    from_crm,
    to_crm,
)
from alix.integrations.zoho_crm.sync.store import issues
from alix.integrations.zoho_crm.sync.store.links import (
    PendingInsert,
    clear_pending,
    complete_pending,
    pending_inserts,
)
from alix.integrations.zoho_crm.tables import ZohoConnection

from .alix_rows import rows_by_key
from .context import SyncContext
from .resolver import RESOLVER

# The ALIX fields that name a record, most telling first: what the lookup searches on.
_NAMES = ("name", "last_name", "label", "street")


def _escape(value: str) -> str:
    # Search criteria escape their own delimiters with a backslash (zoho-crm-api.md 4.9).
    for char in ("\\", "(", ")", ","):
        value = value.replace(char, "\\" + char)
    return value


def _creator(record: Record) -> str | None:
    value = record.values.get("Created_By")
    if isinstance(value, dict):
        value = value.get("id")
    return None if value is None else str(value)


def criteria_for(kind: LinkKind, payload: dict[str, Any], names: dict[str, str],
                 since: datetime) -> str | None:
    """The search for a record created from `payload` at or after `since`; None: no name."""
    for alix_field in _NAMES:
        crm_field = names.get(alix_field)
        value = payload.get(crm_field) if crm_field else None
        if isinstance(value, str) and value.strip():
            # Modified_Time and Created_Time have one-second resolution: start a second early.
            start = format_datetime(since - timedelta(seconds=1))
            return f"(({crm_field}:equals:{_escape(value)})and(Created_Time:greater_equal:{start}))"
    return None


async def recover_pending(ctx: SyncContext, before: datetime) -> int:
    """Resolve the markers older than `before` (those of crashed runs); returns how many."""
    with unit_of_work(ctx.sessions) as session:
        markers = pending_inserts(session, ctx.scope, before=before)
        if not markers:
            return 0
        user = session.scalar(select(ZohoConnection.zoho_user_id)
                              .where(ZohoConnection.id == ctx.scope.connection_id))
        rows = rows_by_key(session, ctx.scope.organisation_id,
                           ((m.kind.entity, m.alix_id) for m in markers))
    resolved = 0
    for marker in markers:
        row = rows.get((marker.kind.entity, marker.alix_id))
        found = await _look_up(ctx, marker, row, user)
        with unit_of_work(ctx.sessions) as session:
            if row is None or found == []:
                # Never reached Zoho (or the ALIX record is gone): the outbox still holds the
                # change, so the next plan creates it again if it should exist.
                clear_pending(session, ctx.scope, [(marker.kind, marker.alix_id)])
            elif found is None or len(found) > 1:
                issues.record_issue(session, ctx.scope, issues.Report(
                    issues.Direction.PUSH, marker.kind, "create_unresolved",
                    f"A create of ALIX {marker.kind.entity.value} {marker.alix_id} in "
                    f"{marker.zoho_module} was interrupted and {len(found or [])} Zoho records "
                    "may be it: link the right one, or delete the extras, before it is pushed.",
                    alix_id=marker.alix_id,
                ), ctx.clock(), retry=False)
                continue
            else:
                record = found[0]
                mapped = from_crm(record, marker.kind, ctx.config)
                base = {} if isinstance(mapped, Rejection) else mapped.values
                complete_pending(session, ctx.scope, [Link(
                    marker.kind, marker.alix_id, record.id, base, record.modified_time,
                    None,
                )], ctx.clock())
            resolved += 1
    return resolved


async def _look_up(ctx: SyncContext, marker: PendingInsert, row: Any, user: str | None
                   ) -> list[Record] | None:
    """The Zoho records the interrupted create may have made; None: it cannot be searched."""
    if row is None:
        return []
    values = from_alix(marker.kind, row.values(), ctx.config, resolver=RESOLVER)
    payload = to_crm(marker.kind, values, ctx.config)
    names = {r.alix_field: r.crm_field for r in ctx.config.mapper(marker.kind.mapper).fields}
    criteria = criteria_for(marker.kind, payload, names, marker.since)
    if criteria is None:
        return None
    fields = (*crm_fields(ctx.config, marker.kind), "Created_By")
    hits = await ctx.crm.search(marker.zoho_module, criteria, fields)
    return [r for r in hits if user is None or _creator(r) in (None, user)]
