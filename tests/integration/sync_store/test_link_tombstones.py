"""A tombstoned link never blocks a new pair for its ALIX id: that id names another record now
(databases older than migration 0008 reused the ids of deleted rows on SQLite)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.orm import Session

from alix.integrations.zoho_crm.sync.kinds import LinkKind
from alix.integrations.zoho_crm.sync.link import Link
from alix.integrations.zoho_crm.sync.store import links as store
from alix.integrations.zoho_crm.sync.store.scope import DuplicateLink, SyncScope

from .conftest import NOW

CT = LinkKind.CONTACT
LATER = NOW + timedelta(minutes=5)


def _contact(alix_id: int, zoho_id: str) -> Link:
    return Link(CT, alix_id, zoho_id, {"Last_Name": f"Smith {zoho_id}"},
                base_modified_time=NOW, base_version=1)


def test_a_new_pair_replaces_the_tombstone_of_its_alix_id(
    session: Session, scope: SyncScope
) -> None:
    store.create_links(session, scope, "Contacts", [_contact(7, "700")], NOW)
    store.tombstone(session, scope, [(CT, "700")], NOW)
    store.create_links(session, scope, "Contacts", [_contact(7, "701")], LATER)
    session.commit()
    assert store.links_by_alix_ids(session, scope, [CT], [7]) == {(CT, 7): _contact(7, "701")}
    assert store.links_by_zoho_ids(session, scope, [CT], ["700", "701"]) == {
        (CT, "701"): _contact(7, "701")}


def test_a_live_pair_and_a_tombstoned_zoho_id_still_refuse(
    session: Session, scope: SyncScope
) -> None:
    store.create_links(session, scope, "Contacts", [_contact(7, "700"), _contact(8, "800")],
                       NOW)
    store.tombstone(session, scope, [(CT, "800")], NOW)
    with pytest.raises(DuplicateLink):
        store.create_links(session, scope, "Contacts", [_contact(7, "701")], LATER)
    # The deleted Zoho record keeps its tombstone: it is not paired again silently.
    with pytest.raises(DuplicateLink):
        store.create_links(session, scope, "Contacts", [_contact(9, "800")], LATER)
    # All or nothing: a refused batch leaves the tombstone it would have replaced.
    with pytest.raises(DuplicateLink):
        store.create_links(session, scope, "Contacts",
                           [_contact(8, "801"), _contact(10, "700")], LATER)
    session.commit()
    found = store.links_by_alix_ids(session, scope, [CT], [7, 8, 9, 10])
    assert found == {(CT, 7): _contact(7, "700"),
                     (CT, 8): Link(CT, 8, "800", {"Last_Name": "Smith 800"}, NOW, 1,
                                   tombstoned=True)}
