"""The notifications inbox: duplicated callbacks collapse, the worker sees one hint per record."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from alix.integrations.zoho_crm.sync.store import inbox as store
from alix.integrations.zoho_crm.sync.store.scope import SyncScope
from alix.integrations.zoho_crm.sync.store.tables import zoho_inbox
from tests.support import query_plan

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


def _keys(hints: list[store.Hint]) -> list[tuple[str, str, tuple[str, ...]]]:
    return [(h.module, h.zoho_id, h.operations) for h in hints]


def test_records_come_by_their_oldest_pending_row_whatever_rows_come_between(
    session: Session, scope: SyncScope, other: SyncScope
) -> None:
    # Rows of one record interleave with others' and with the other connection's, so choosing
    # 2 records takes more than one walking step (the first reads 2 rows).
    for i, (module, zoho_id, operation) in enumerate([
        ("Accounts", "100", "update"), ("Accounts", "100", "delete"),
        ("Contacts", "100", "update"), ("Accounts", "100", "insert"),
        ("Contacts", "100", "delete"), ("Accounts", "200", "update"),
        ("Accounts", "100", "update"), ("Contacts", "300", "update"),
        ("Accounts", "200", "delete"),
    ]):
        store.add_hints(session, other, module, operation, [(zoho_id, None)], NOW)
        store.add_hints(session, scope, module, operation, [(zoho_id, {"n": i})],
                        NOW + timedelta(seconds=i))
    session.commit()

    first_two = store.pending_hints(session, scope, limit=2)
    assert _keys(first_two) == [
        ("Accounts", "100", ("update", "delete", "insert", "update")),
        ("Contacts", "100", ("update", "delete")),
    ]
    assert first_two[0].affected == ({"n": 0}, {"n": 1}, {"n": 3}, {"n": 6})
    assert first_two[1].first_received_at == NOW + timedelta(seconds=2)
    assert all(list(h.inbox_ids) == sorted(h.inbox_ids) for h in first_two)
    everything = store.pending_hints(session, scope, limit=10)
    assert everything[:2] == first_two
    assert _keys(everything[2:]) == [("Accounts", "200", ("update", "delete")),
                                     ("Contacts", "300", ("update",))]

    # Closing the first record's oldest rows does not move it: its oldest pending row does.
    store.mark_processed(session, scope, first_two[0].inbox_ids[:3], LATER)
    session.commit()
    assert _keys(store.pending_hints(session, scope, limit=3)) == [
        ("Contacts", "100", ("update", "delete")), ("Accounts", "200", ("update", "delete")),
        ("Accounts", "100", ("update",))]


def test_a_round_reads_its_records_not_the_backlog(
    backend: str, engine: Engine, session: Session, scope: SyncScope
) -> None:
    # A GROUP BY over every pending row read the whole backlog for each round of 100 records:
    # a push's 10,000 echo hints cost 10,000^2 / 100 rows read.
    if backend != "sqlite":
        pytest.skip("SQLite's query plan")
    kept = [(f"p{i}", None) for i in range(1000)]  # processed: kept 7 days
    store.add_hints(session, scope, "Accounts", "update", kept, NOW)
    store.mark_processed(session, scope, [i for h in store.pending_hints(session, scope, 1000)
                                         for i in h.inbox_ids], NOW)
    store.add_hints(session, scope, "Contacts", "update", [("c", None)], LATER)
    for module in ("Accounts", "Contacts"):
        store.add_hints(session, scope, module, "update",
                        [(str(i), None) for i in range(1500)], LATER)
    session.commit()

    def round_() -> list[store.Hint]:
        with Session(engine) as s:
            return store.pending_hints(s, scope, limit=100)

    hints, walk = query_plan(engine, round_, "FROM zoho_inbox")
    assert [(h.module, h.zoho_id) for h in hints] == [
        ("Contacts", "c"), *[("Accounts", str(i)) for i in range(99)]]
    assert walk == ["SEARCH zoho_inbox USING INDEX ix_zoho_inbox_pending_order "
                    "(connection_id=? AND id>?)"], walk
    _, rows = query_plan(engine, round_, "zoho_inbox.zoho_id IN")
    searches = [step for step in rows if step.startswith(("SEARCH", "SCAN"))]
    assert searches == ["SEARCH zoho_inbox USING INDEX ix_zoho_inbox_pending "
                        "(connection_id=? AND module=? AND zoho_id=?)"] * 2, rows  # per module
