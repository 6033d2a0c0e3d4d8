"""The incremental pull's bookmarks in `zoho_watermarks`, one per (connection, CRM module).

Written in the page's transaction, with the page's data and links: a crash replays at most
that page, and the replay is a no-op (watermark.advance skips what was seen).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from ..watermark import Watermark
from .scope import SyncScope
from .tables import zoho_watermarks


@dataclass(frozen=True)
class Bookmark:
    """Where a module's pull stands: its watermark, and when deletions were last asked for."""

    watermark: Watermark = field(default_factory=Watermark)
    deletions_checked_at: datetime | None = None


def _where(scope: SyncScope, module: str) -> list[Any]:
    return [zoho_watermarks.c.connection_id == scope.connection_id,
            zoho_watermarks.c.module == module]


def get_bookmark(session: Session, scope: SyncScope, module: str) -> Bookmark:
    """The module's bookmark; a module never pulled has an empty one (read everything)."""
    row = session.execute(
        select(zoho_watermarks.c.watermark, zoho_watermarks.c.deletions_checked_at)
        .where(*_where(scope, module))
    ).first()
    if row is None:
        return Bookmark()
    return Bookmark(Watermark.from_json(row.watermark), row.deletions_checked_at)


def _put(session: Session, scope: SyncScope, module: str, values: dict[str, Any]) -> None:
    # Select-then-write, not a dialect upsert: one sync lane per connection writes these rows.
    exists = session.execute(
        select(zoho_watermarks.c.module).where(*_where(scope, module))
    ).first()
    if exists is None:
        session.execute(insert(zoho_watermarks).values(
            {**scope.stamp(), "module": module, "watermark": Watermark().to_json(), **values}))
    else:
        session.execute(update(zoho_watermarks).where(*_where(scope, module)).values(**values))


def put_watermark(
    session: Session, scope: SyncScope, module: str, watermark: Watermark, now: datetime
) -> None:
    """Store the module's watermark (the deletions time is kept)."""
    _put(session, scope, module, {"watermark": watermark.to_json(), "updated_at": now})


def put_deletions_checked(
    session: Session, scope: SyncScope, module: str, checked_at: datetime, now: datetime
) -> None:
    """Store when `{module}/deleted` was last read up to (the `since` of the next call)."""
    _put(session, scope, module, {"deletions_checked_at": checked_at, "updated_at": now})
