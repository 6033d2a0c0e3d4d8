"""Links: loaded a page at a time, created and updated in bulk, unique on both sides."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from alix.integrations.zoho_crm.sync.kinds import LinkKind
from alix.integrations.zoho_crm.sync.link import Link
from alix.integrations.zoho_crm.sync.normalize import SyncValue
from alix.integrations.zoho_crm.sync.store import links as store
from alix.integrations.zoho_crm.sync.store.scope import DuplicateLink, SyncScope
from alix.integrations.zoho_crm.sync.store.tables import zoho_links
from alix.integrations.zoho_crm.tables import ZohoConnection

from .conftest import NOW

C, MB, CT = LinkKind.CUSTOMER, LinkKind.MAIN_BILLING, LinkKind.CONTACT
LATER = NOW + timedelta(minutes=5)


def _customer(alix_id: int, zoho_id: str) -> Link:
    return Link(C, alix_id, zoho_id, {"Account_Name": f"Acme {alix_id}"},
                base_modified_time=NOW, base_version=1)


def test_a_page_of_links_round_trips_by_zoho_and_alix_ids(session: Session, scope: SyncScope,
                                                           other: SyncScope) -> None:
    base: dict[str, SyncValue] = {"Account_Name": "Acme", "Annual_Revenue": Decimal("1250.50"),
                                  "Active": True, "Employees": 12, "Website": None}
    stored = [
        Link(C, 1, "100", base, base_modified_time=NOW, base_version=3),
        Link(MB, 11, "100", {"Billing_City": "Ottawa"}),
        _customer(2, "200"),
    ]
    store.create_links(session, scope, "Accounts", stored, NOW)
    store.create_links(session, other, "Accounts", [_customer(1, "100")], NOW)
    session.commit()

    by_zoho = store.links_by_zoho_ids(session, scope, [C, MB], ["100", "200", "999"])
    assert by_zoho == {(C, "100"): stored[0], (MB, "100"): stored[1], (C, "200"): stored[2]}
    assert by_zoho[(C, "100")].base["Annual_Revenue"] == Decimal("1250.50")
    assert by_zoho[(C, "100")].base_modified_time == NOW  # aware UTC back
    assert store.links_by_zoho_ids(session, scope, [CT], ["100"]) == {}
    by_alix = store.links_by_alix_ids(session, scope, [C], [1, 2, 3])
    assert by_alix == {(C, 1): stored[0], (C, 2): stored[2]}
    assert store.links_by_alix_ids(session, scope, [], [1]) == {}


def test_a_second_link_for_the_same_zoho_or_alix_record_is_refused(
    session: Session, scope: SyncScope
) -> None:
    store.create_links(session, scope, "Accounts", [_customer(1, "100")], NOW)
    session.commit()
    with pytest.raises(DuplicateLink, match="customer 100"):
        store.create_links(session, scope, "Accounts", [_customer(2, "100")], NOW)
    with pytest.raises(DuplicateLink):
        store.create_links(session, scope, "Accounts", [_customer(1, "101")], NOW)
    # The refusal left the transaction usable, and stored nothing of the refused batch.
    store.create_links(session, scope, "Accounts", [_customer(3, "300")], NOW)
    with pytest.raises(DuplicateLink):
        store.create_links(session, scope, "Accounts",
                           [_customer(4, "400"), _customer(5, "100")], NOW)
    session.commit()
    assert set(store.links_by_alix_ids(session, scope, [C], [1, 2, 3, 4, 5])) == {(C, 1), (C, 3)}
    # Another kind may share the Zoho id (the main addresses are the Account's fields).
    store.create_links(session, scope, "Accounts", [Link(MB, 9, "100")], NOW)


def test_update_bases_in_bulk_and_tombstone(session: Session, scope: SyncScope) -> None:
    store.create_links(session, scope, "Accounts", [_customer(1, "100"), _customer(2, "200")],
                       NOW)
    moved = [Link(C, 1, "100", {"Account_Name": "Acme Inc"}, LATER, 2),
             Link(C, 2, "200", {"Account_Name": "Beta", "Revenue": Decimal("3.10")}, LATER, 5),
             Link(C, 9, "900", {})]
    assert store.update_bases(session, scope, moved, LATER) == 2
    store.tombstone(session, scope, [(C, "200")], LATER)
    store.tombstone(session, scope, [(C, "200")], LATER + timedelta(hours=1))
    session.commit()
    got = store.links_by_zoho_ids(session, scope, [C], ["100", "200", "900"])
    assert got[(C, "100")] == moved[0]
    assert got[(C, "200")] == Link(C, 2, "200", moved[1].base, LATER, 5, tombstoned=True)
    assert (C, "900") not in got
    first_tombstone = session.execute(
        select(zoho_links.c.tombstoned_at).where(zoho_links.c.zoho_id == "200")).scalar_one()
    assert first_tombstone == LATER
    # A tombstoned link is still a link: the record is not created again.
    with pytest.raises(DuplicateLink):
        store.mark_pending(session, scope, "Accounts", [(C, 2)], LATER)


def test_pending_inserts_from_marker_to_link(session: Session, scope: SyncScope) -> None:
    store.create_links(session, scope, "Accounts", [_customer(1, "100")], NOW)
    store.mark_pending(session, scope, "Accounts", [(C, 2), (C, 3), (C, 4)], NOW)
    store.mark_pending(session, scope, "Accounts", [(C, 2)], LATER)  # a retry keeps the first
    session.commit()
    pending = store.pending_inserts(session, scope)
    assert [(p.kind, p.alix_id, p.zoho_module, p.since) for p in pending] == [
        (C, 2, "Accounts", NOW), (C, 3, "Accounts", NOW), (C, 4, "Accounts", NOW)]
    assert store.pending_inserts(session, scope, before=NOW) == []
    # Pending rows are not links yet, and many of them have no Zoho id without colliding.
    assert store.links_by_alix_ids(session, scope, [C], [2, 3]) == {}
    with pytest.raises(DuplicateLink):
        store.mark_pending(session, scope, "Accounts", [(C, 1)], NOW)

    done = [Link(C, 2, "200", {"Account_Name": "Two"}, LATER, 1),
            Link(C, 9, "900", {})]  # no marker: nothing to complete
    assert store.complete_pending(session, scope, done, LATER) == 1
    with pytest.raises(DuplicateLink):  # Zoho's id already paired with another record
        store.complete_pending(session, scope, [Link(C, 3, "100")], LATER)
    store.clear_pending(session, scope, [(C, 4), (C, 1)])  # (C, 1) is a link: kept
    session.commit()
    assert [p.alix_id for p in store.pending_inserts(session, scope)] == [3]
    assert store.links_by_zoho_ids(session, scope, [C], ["100", "200"]) == {
        (C, "100"): _customer(1, "100"), (C, "200"): done[0]}


def test_removing_the_connection_removes_its_links(session: Session, scope: SyncScope,
                                                    other: SyncScope) -> None:
    store.create_links(session, scope, "Accounts", [_customer(1, "100")], NOW)
    store.mark_pending(session, scope, "Accounts", [(C, 2)], NOW)
    store.create_links(session, other, "Accounts", [_customer(1, "100")], NOW)
    session.commit()
    session.execute(delete(ZohoConnection).where(ZohoConnection.id == scope.connection_id))
    session.commit()
    count = session.execute(select(func.count()).select_from(zoho_links)).scalar_one()
    assert count == 1
    assert store.links_by_zoho_ids(session, other, [C], ["100"]) != {}


def test_a_missing_connection_is_not_reported_as_a_duplicate(session: Session,
                                                              scope: SyncScope) -> None:
    gone = SyncScope(scope.organisation_id, scope.connection_id + 1000)
    with pytest.raises(IntegrityError) as refused:
        store.create_links(session, gone, "Accounts", [_customer(1, "100")], NOW)
    assert not isinstance(refused.value, DuplicateLink)
