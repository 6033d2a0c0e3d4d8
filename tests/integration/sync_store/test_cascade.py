"""Removing the integration (deleting its connection) removes all its sync state, and only its."""

from __future__ import annotations

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from alix.integrations.zoho_crm.sync.kinds import LinkKind
from alix.integrations.zoho_crm.sync.link import Link
from alix.integrations.zoho_crm.sync.store import inbox, issues, links, runs, watermarks
from alix.integrations.zoho_crm.sync.store.scope import SyncScope
from alix.integrations.zoho_crm.sync.store.tables import (
    zoho_inbox,
    zoho_links,
    zoho_sync_issues,
    zoho_sync_runs,
    zoho_watermarks,
)
from alix.integrations.zoho_crm.sync.watermark import Watermark
from alix.integrations.zoho_crm.tables import ZohoConnection

from .conftest import NOW, add_connection

TABLES = (zoho_links, zoho_watermarks, zoho_inbox, zoho_sync_issues, zoho_sync_runs)


def _fill(session: Session, scope: SyncScope) -> None:
    links.create_links(session, scope, "Accounts", [Link(LinkKind.CUSTOMER, 1, "100")], NOW)
    links.mark_pending(session, scope, "Accounts", [(LinkKind.CUSTOMER, 2)], NOW)
    watermarks.put_watermark(session, scope, "Accounts", Watermark(NOW), NOW)
    inbox.add_hints(session, scope, "Accounts", "update", [("100", None)], NOW)
    issues.record_issue(session, scope, issues.Report(
        issues.Direction.PULL, LinkKind.CUSTOMER, "skipped", "Zoho account 100 is inactive.",
        zoho_id="100"), NOW)
    runs.start_run(session, scope, runs.RunKind.INITIAL, 1, NOW)


def _counts(session: Session) -> dict[str, int]:
    return {t.name: int(session.execute(select(func.count()).select_from(t)).scalar_one())
            for t in TABLES}


def test_deleting_the_connection_cascades_to_every_sync_table(session: Session,
                                                              scope: SyncScope) -> None:
    other = add_connection(session, "Globex Corp")
    _fill(session, scope)
    _fill(session, other)
    session.commit()
    session.execute(delete(ZohoConnection).where(ZohoConnection.id == scope.connection_id))
    session.commit()
    assert _counts(session) == {
        "zoho_links": 2, "zoho_watermarks": 1, "zoho_inbox": 1, "zoho_sync_issues": 1,
        "zoho_sync_runs": 1,
    }
    assert set(links.links_by_zoho_ids(session, other, [LinkKind.CUSTOMER], ["100"])) == {
        (LinkKind.CUSTOMER, "100")}


def test_a_new_connection_never_reuses_a_removed_ones_id(session: Session) -> None:
    # On SQLite too (AUTOINCREMENT): runs name (connection id, configuration version).
    first = add_connection(session, "Acme Ltd")
    session.commit()
    session.execute(delete(ZohoConnection).where(ZohoConnection.id == first.connection_id))
    session.commit()
    second = add_connection(session, "Acme Ltd 2")
    session.commit()
    assert second.connection_id > first.connection_id
