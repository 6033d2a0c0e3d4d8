"""Zoho API calls and credits per connection in `zoho_api_usage`, added by every process.

Each Zoho client counts its own calls (client/credits.py); when it closes, its counts are added
to the connection's row in one statement, so concurrent processes never lose each other's."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select
from sqlalchemy.dialects import postgresql, sqlite

from .scope import SyncScope
from .tables import zoho_api_usage


@dataclass(frozen=True)
class ApiUsage:
    """What one connection has spent since its row was created."""

    connection_id: int
    organisation_id: int
    calls: int
    credits: int


def add_usage(conn: Connection, scope: SyncScope, calls: int, credits: int,
              now: datetime) -> None:
    """Add one client's counts to its connection's totals (INSERT ... ON CONFLICT adds)."""
    if not calls and not credits:
        return
    module: Any = postgresql if conn.dialect.name == "postgresql" else sqlite
    statement = module.insert(zoho_api_usage).values(
        **scope.stamp(), calls=calls, credits=credits, updated_at=now)
    conn.execute(statement.on_conflict_do_update(
        index_elements=[zoho_api_usage.c.connection_id],
        set_={"calls": zoho_api_usage.c.calls + statement.excluded.calls,
              "credits": zoho_api_usage.c.credits + statement.excluded.credits,
              "updated_at": statement.excluded.updated_at}))


def read_usage(conn: Connection) -> list[ApiUsage]:
    """Every connection's totals, by connection id."""
    rows = conn.execute(select(
        zoho_api_usage.c.connection_id, zoho_api_usage.c.organisation_id,
        zoho_api_usage.c.calls, zoho_api_usage.c.credits,
    ).order_by(zoho_api_usage.c.connection_id))
    return [ApiUsage(int(c), int(o), int(n), int(s)) for c, o, n, s in rows]
