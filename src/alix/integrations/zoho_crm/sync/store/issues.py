"""The sync's issues in `zoho_sync_issues`: what people see and what the retries pick up.

Per-record rejections and errors of either direction, and open conflicts. An issue is open until
the record syncs or a person resolves it; reporting the same problem again (same record, field
and code) updates the open issue and counts the attempt instead of adding a row.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, insert, or_, select, update
from sqlalchemy.orm import Session

from ..kinds import LinkKind
from .scope import SyncScope
from .tables import zoho_sync_issues

# The code of a Zoho child record (Contact, address) whose Account is not imported (yet): its
# details name that Account (`account`), and the Account's link makes it due (wake_waiting).
PARENT_MISSING = "parent_missing"


class Direction(enum.StrEnum):
    PULL = "pull"  # CRM -> ALIX
    PUSH = "push"  # ALIX -> CRM


class IssueStatus(enum.StrEnum):
    OPEN = "open"
    RESOLVED = "resolved"


@dataclass(frozen=True)
class Report:
    """A problem with one record, as the sync reports it.

    `message` is a sentence a person can act on ("Zoho rejected contact 4876876000000123:
    MANDATORY_NOT_FOUND Last_Name"); `code` is the machine reason (Zoho's code, "conflict"...).
    """

    direction: Direction
    kind: LinkKind
    code: str
    message: str
    alix_id: int | None = None
    zoho_id: str | None = None
    field: str | None = None
    details: Mapping[str, Any] | None = None

    @property
    def record_key(self) -> str:
        """Which record and field: the Zoho id for a pull, the ALIX id for a push, when known
        (the id the reporting side always has), else the other one."""
        zoho = f"zoho:{self.zoho_id}" if self.zoho_id is not None else None
        alix = f"alix:{self.alix_id}" if self.alix_id is not None else None
        ident = (zoho or alix) if self.direction is Direction.PULL else (alix or zoho)
        return f"{self.direction.value}:{self.kind.value}:{ident or '-'}:{self.field or ''}"


@dataclass(frozen=True)
class Issue:
    """A stored issue."""

    id: int
    direction: Direction
    kind: LinkKind
    code: str
    message: str
    alix_id: int | None
    zoho_id: str | None
    field: str | None
    details: Mapping[str, Any] | None
    attempts: int
    next_retry_at: datetime | None
    status: IssueStatus
    created_at: datetime
    updated_at: datetime
    resolved_at: datetime | None = None


def backoff(attempts: int) -> timedelta:
    """The default wait before retry number `attempts` + 1: 1 min, doubling, at most 6 hours."""
    return min(timedelta(minutes=2 ** max(attempts - 1, 0)), timedelta(hours=6))


def _issue(row: Any) -> Issue:
    return Issue(
        id=row.id, direction=Direction(row.direction), kind=LinkKind(row.kind), code=row.code,
        message=row.message, alix_id=row.alix_id, zoho_id=row.zoho_id, field=row.field,
        details=row.details, attempts=row.attempts, next_retry_at=row.next_retry_at,
        status=IssueStatus(row.status), created_at=row.created_at, updated_at=row.updated_at,
        resolved_at=row.resolved_at,
    )


_COLUMNS = [c for c in zoho_sync_issues.c if c.name not in ("organisation_id", "connection_id",
                                                            "record_key")]


def _open(scope: SyncScope) -> list[Any]:
    return [zoho_sync_issues.c.connection_id == scope.connection_id,
            zoho_sync_issues.c.status == IssueStatus.OPEN.value]


def record_issue(
    session: Session,
    scope: SyncScope,
    report: Report,
    now: datetime,
    *,
    retry: bool = True,
    wait: Callable[[int], timedelta] = backoff,
) -> Issue:
    """Open an issue, or update the open one for the same record, field and code.

    A repeat counts one more attempt and replaces the message and details. With `retry`, the
    issue is due again after `wait(attempts)`; without (a rejection retrying cannot fix, an
    open conflict), it waits for a person.
    """
    existing = session.execute(
        select(zoho_sync_issues.c.id, zoho_sync_issues.c.attempts).where(
            *_open(scope),
            zoho_sync_issues.c.record_key == report.record_key,
            zoho_sync_issues.c.code == report.code,
        )
    ).first()
    attempts = 1 if existing is None else existing.attempts + 1
    values: dict[str, Any] = {
        "message": report.message,
        "alix_id": report.alix_id,
        "zoho_id": report.zoho_id,
        "details": dict(report.details) if report.details is not None else None,
        "attempts": attempts,
        "next_retry_at": now + wait(attempts) if retry else None,
        "updated_at": now,
    }
    if existing is None:
        issue_id = session.execute(
            insert(zoho_sync_issues).values(
                **scope.stamp(), direction=report.direction.value, kind=report.kind.value,
                code=report.code, field=report.field, record_key=report.record_key,
                status=IssueStatus.OPEN.value, created_at=now, resolved_at=None, **values,
            ).returning(zoho_sync_issues.c.id)
        ).scalar_one()
    else:
        issue_id = existing.id
        session.execute(
            update(zoho_sync_issues).where(zoho_sync_issues.c.id == issue_id).values(**values)
        )
    return _issue(session.execute(
        select(*_COLUMNS).where(zoho_sync_issues.c.id == issue_id)).one())


def resolve_issue(session: Session, scope: SyncScope, issue_id: int, now: datetime) -> bool:
    """Close one open issue (a person dealt with it); False when it was not open."""
    result = session.execute(
        update(zoho_sync_issues)
        .where(*_open(scope), zoho_sync_issues.c.id == issue_id)
        .values(status=IssueStatus.RESOLVED.value, resolved_at=now, next_retry_at=None,
                updated_at=now)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def make_due(session: Session, scope: SyncScope, issue_ids: Collection[int], now: datetime
             ) -> None:
    """A person asked to retry these open issues: they are due now, whatever their backoff."""
    if not issue_ids:
        return
    session.execute(
        update(zoho_sync_issues)
        .where(*_open(scope), zoho_sync_issues.c.id.in_(sorted(issue_ids)))
        .values(next_retry_at=now, updated_at=now)
    )


def wake_waiting(session: Session, scope: SyncScope, accounts: Collection[str], now: datetime
                 ) -> None:
    """These Zoho Accounts are linked now: the open pull issues of the records waiting for them
    are due at once, not after their backoff. A Contact read before its Account (changed inside
    the settle window, rejected, ambiguous) is then imported by the same run's retry of the
    Contacts, which comes after the Accounts (pull.retry_due)."""
    if not accounts:
        return
    session.execute(
        update(zoho_sync_issues)
        .where(*_open(scope), zoho_sync_issues.c.direction == Direction.PULL.value,
               zoho_sync_issues.c.code == PARENT_MISSING,
               zoho_sync_issues.c.details["account"].as_string().in_(sorted(accounts)))
        .values(next_retry_at=now, updated_at=now)
    )


def dismiss(session: Session, scope: SyncScope, issue_id: int, now: datetime, by: str) -> bool:
    """A person decided the open issue needs nothing more: resolve it, noting who in its
    details (`dismissed_by`); False when it was not open."""
    found = session.execute(select(zoho_sync_issues.c.details).where(
        *_open(scope), zoho_sync_issues.c.id == issue_id)).first()
    if found is None:
        return False
    session.execute(
        update(zoho_sync_issues)
        .where(*_open(scope), zoho_sync_issues.c.id == issue_id)
        .values(status=IssueStatus.RESOLVED.value, resolved_at=now, next_retry_at=None,
                updated_at=now, details={**(found.details or {}), "dismissed_by": by})
    )
    return True


def resolve_record(
    session: Session,
    scope: SyncScope,
    direction: Direction,
    kind: LinkKind,
    now: datetime,
    *,
    alix_id: int | None = None,
    zoho_id: str | None = None,
    codes: Collection[str] | None = None,
) -> int:
    """Close the open issues of a record that now synced (matched by either id), optionally
    only those with the given codes; returns how many."""
    ids = []
    if alix_id is not None:
        ids.append(zoho_sync_issues.c.alix_id == alix_id)
    if zoho_id is not None:
        ids.append(zoho_sync_issues.c.zoho_id == zoho_id)
    if not ids:
        return 0
    conditions = [*_open(scope), zoho_sync_issues.c.direction == direction.value,
                  zoho_sync_issues.c.kind == kind.value, or_(*ids)]
    if codes is not None:
        conditions.append(zoho_sync_issues.c.code.in_(sorted(codes)))
    result = session.execute(
        update(zoho_sync_issues).where(and_(*conditions))
        .values(status=IssueStatus.RESOLVED.value, resolved_at=now, next_retry_at=None,
                updated_at=now)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


def open_issues(
    session: Session, scope: SyncScope, *, limit: int = 50, before_id: int | None = None
) -> list[Issue]:
    """A page of open issues, newest first; the next page passes the last issue's id."""
    conditions = _open(scope)
    if before_id is not None:
        conditions.append(zoho_sync_issues.c.id < before_id)
    rows = session.execute(
        select(*_COLUMNS).where(*conditions).order_by(zoho_sync_issues.c.id.desc()).limit(limit)
    )
    return [_issue(r) for r in rows]


def count_open_issues(session: Session, scope: SyncScope) -> int:
    return int(session.execute(
        select(func.count()).select_from(zoho_sync_issues).where(*_open(scope))).scalar_one())


def issues_due(session: Session, scope: SyncScope, now: datetime, *, limit: int = 100
               ) -> list[Issue]:
    """Open issues whose retry time has come, the longest waiting first."""
    rows = session.execute(
        select(*_COLUMNS)
        .where(*_open(scope), zoho_sync_issues.c.next_retry_at <= now)
        .order_by(zoho_sync_issues.c.next_retry_at, zoho_sync_issues.c.id)
        .limit(limit)
    )
    return [_issue(r) for r in rows]


def get_issue(session: Session, scope: SyncScope, issue_id: int) -> Issue | None:
    """One issue of the connection, open or resolved; None for another connection's."""
    row = session.execute(select(*_COLUMNS).where(
        zoho_sync_issues.c.connection_id == scope.connection_id,
        zoho_sync_issues.c.id == issue_id,
    )).first()
    return None if row is None else _issue(row)
