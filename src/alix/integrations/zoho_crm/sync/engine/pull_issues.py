"""The issue codes of the pull, and closing the retried ones once their record synced."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from sqlalchemy import update
from sqlalchemy.orm import Session

from alix.integrations.zoho_crm.config import SyncConfiguration
from alix.integrations.zoho_crm.sync.kinds import LinkKind
from alix.integrations.zoho_crm.sync.mapping import crm_module
from alix.integrations.zoho_crm.sync.store.issues import Direction, IssueStatus
from alix.integrations.zoho_crm.sync.store.scope import SyncScope
from alix.integrations.zoho_crm.sync.store.tables import zoho_sync_issues

# Issue codes of the pull. Retried ones are fetched again by id when due (pull.retry_due).
REJECTED = "rejected"  # its values cannot be ALIX values, or ALIX refused them
AMBIGUOUS = "ambiguous"  # several ALIX customers share its name
NO_PARENT = "parent_missing"  # its Account is not (yet) imported
CONFLICT = "conflict"  # a field both sides changed, left open for a person
TOMBSTONED = "tombstoned"  # changed in Zoho after its ALIX pair was deleted
RETRIED_CODES = frozenset({REJECTED, AMBIGUOUS, NO_PARENT})
# plan.py's reason for a child whose Account is not linked (rejected, ambiguous...): an issue,
# retried; a Contact without any Account is not imported at all (the seed), silently.
NOT_IMPORTED = "is not imported into ALIX"


def label(config: SyncConfiguration, kind: LinkKind, zoho_id: str) -> str:
    """How messages name a Zoho record: "Zoho Accounts record 4876876000000123"."""
    return f"Zoho {crm_module(config, kind) or kind.value} record {zoho_id}"


def close_synced(session: Session, scope: SyncScope, zoho_ids: Collection[str],
                 now: datetime) -> None:
    """Close, in one statement, the open retried pull issues of the records that synced now."""
    if not zoho_ids:
        return
    session.execute(
        update(zoho_sync_issues).where(
            zoho_sync_issues.c.connection_id == scope.connection_id,
            zoho_sync_issues.c.status == IssueStatus.OPEN.value,
            zoho_sync_issues.c.direction == Direction.PULL.value,
            zoho_sync_issues.c.code.in_(sorted(RETRIED_CODES)),
            zoho_sync_issues.c.zoho_id.in_(sorted(zoho_ids)),
        ).values(status=IssueStatus.RESOLVED.value, resolved_at=now,
                 next_retry_at=None, updated_at=now)
    )
