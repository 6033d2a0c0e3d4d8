"""What only the initial import needs: the planner's statistics kept up as its tables grow.

The import fills `zoho_links` and the customer tables from empty, a page per transaction.
PostgreSQL plans a page's queries (links by Zoho id, rows by id) from statistics taken when the
tables were nearly empty, and autovacuum's analyze comes a minute later at best: it then picks
the index on (connection, kind, ALIX id) for a lookup by Zoho id and reads every link of the
kind on each page, so the import slows down as its square. Analyzing the tables each time they
have doubled (pages 1, 2, 4, 8, ...) costs a few analyses in all and keeps every page's lookups
on the right index. SQLite keeps no statistics to go stale.
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.orm import Session

_GROWING = ("zoho_links", "customers", "contact_persons", "addresses")


def keep_statistics(session: Session, pages_committed: int) -> None:
    """Analyze the growing tables after page 1, 2, 4, 8, ... of the import (PostgreSQL only),
    in the page's transaction."""
    if pages_committed < 1 or pages_committed & (pages_committed - 1):
        return
    if session.connection().dialect.name != "postgresql":
        return
    session.execute(text(f"ANALYZE {', '.join(_GROWING)}"))
