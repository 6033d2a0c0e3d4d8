"""The notifications inbox: duplicated callbacks collapse, the worker sees one hint per record."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from alix.integrations.zoho_crm.sync.store import inbox as store
from alix.integrations.zoho_crm.sync.store.scope import SyncScope
from alix.integrations.zoho_crm.sync.store.tables import zoho_inbox

from .conftest import NOW

LATER = NOW + timedelta(seconds=30)


def _rows(session: Session) -> int:
    return int(session.execute(select(func.count()).select_from(zoho_inbox)).scalar_one())


def test_a_duplicated_callback_is_stored_once(session: Session, scope: SyncScope) -> None:
    hints = [("100", {"Phone": "555"}), ("200", None), ("100", {"Phone": "555"})]
    assert store.add_hints(session, scope, "Accounts", "update", hints, NOW) == 2
    assert store.add_hints(session, scope, "Accounts", "update", hints, LATER) == 0
    # Other values, another operation or another module are other notifications.
    assert store.add_hints(session, scope, "Accounts", "update", [("100", {"Phone": "556"})],
                           LATER) == 1
    assert store.add_hints(session, scope, "Accounts", "delete", [("100", None)], LATER) == 1
    assert store.add_hints(session, scope, "Contacts", "update", [("100", None)], LATER) == 1
    assert store.add_hints(session, scope, "Accounts", "update", [], LATER) == 0
    session.commit()
    assert _rows(session) == 5


def test_pending_hints_are_one_per_record_oldest_first(session: Session, scope: SyncScope,
                                                       other: SyncScope) -> None:
    store.add_hints(session, scope, "Accounts", "update", [("100", {"Phone": "1"})], NOW)
    store.add_hints(session, scope, "Accounts", "update", [("200", None)], NOW)
    store.add_hints(session, scope, "Accounts", "update", [("100", {"Phone": "2"})], LATER)
    store.add_hints(session, scope, "Accounts", "delete", [("100", None)], LATER)
    store.add_hints(session, scope, "Contacts", "insert", [("300", None)], LATER)
    store.add_hints(session, other, "Accounts", "update", [("900", None)], NOW)
    session.commit()

    hints = store.pending_hints(session, scope, limit=2)
    assert [(h.module, h.zoho_id) for h in hints] == [("Accounts", "100"), ("Accounts", "200")]
    first = hints[0]
    assert first.operations == ("update", "update", "delete") and first.deleted
    assert first.affected == ({"Phone": "1"}, {"Phone": "2"}, None)
    assert first.first_received_at == NOW and len(first.inbox_ids) == 3
    assert not hints[1].deleted

    store.mark_processed(session, scope, [i for h in hints for i in h.inbox_ids], LATER)
    session.commit()
    rest = store.pending_hints(session, scope)
    assert [(h.module, h.zoho_id, h.last_operation) for h in rest] == [
        ("Contacts", "300", "insert")]
    # A callback repeating a processed notification is new work: the record may have changed.
    assert store.add_hints(session, scope, "Accounts", "update", [("200", None)], LATER) == 1
    assert store.purge_processed(session, scope, LATER + timedelta(seconds=1)) == 4
    session.commit()
    assert _rows(session) == 3  # Contacts 300, Accounts 200 again, and the other org's
