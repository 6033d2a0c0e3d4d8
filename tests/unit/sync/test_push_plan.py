"""coalesce and plan_push: what each pending ALIX change sends to Zoho, parents first."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta

import pytest

from alix.integrations.zoho_crm.mappers import ModuleKind
from alix.integrations.zoho_crm.rules import DeletePolicy
from alix.integrations.zoho_crm.sync.kinds import LinkKind
from alix.integrations.zoho_crm.sync.link import Link, Parent
from alix.integrations.zoho_crm.sync.normalize import SyncValue
from alix.integrations.zoho_crm.sync.push_plan import (
    PushAction,
    PushDecision,
    PushItem,
    plan_push,
    recheck_updates,
)
from alix.integrations.zoho_crm.sync.sources import Configuration
from tests.unit.sync.configuration import T0, configuration

CONFIG = configuration()
C, P = LinkKind.CUSTOMER, LinkKind.CONTACT
ACME: dict[str, SyncValue] = {
    "name": "Acme", "currency": "CAD", "website": None, "phone": None, "notes": None,
}
LINK = Link(C, 7, "100", ACME, T0, 3)


def _push(
    *items: PushItem,
    config: Configuration = CONFIG,
    links: Mapping[tuple[LinkKind, int], Link] | None = None,
    accounts: Mapping[int, str] | None = None,
    crm_modified: Mapping[str, object] | None = None,
) -> tuple[PushDecision, ...]:
    return plan_push(
        items, config, links={(C, 7): LINK} if links is None else links,
        accounts={7: "100"} if accounts is None else accounts,
        crm_modified=crm_modified or {},  # type: ignore[arg-type]
    )


def _one(*items: PushItem, **kwargs: object) -> PushDecision:
    [decision] = _push(*items, **kwargs)  # type: ignore[arg-type]
    return decision


@pytest.mark.parametrize(
    ("values", "crm_modified", "action", "payload"),
    [
        (ACME, None, PushAction.DONE, {}),  # an echo of our own apply, or a no-op edit
        (ACME | {"notes": "x"}, None, PushAction.DONE, {}),  # read-only in the CRM: never sent
        (ACME | {"phone": "514 555 0100"}, None, PushAction.UPDATE,
         {"Phone": "514 555 0100", "id": "100"}),
        (ACME | {"phone": "514 555 0100"}, T0, PushAction.UPDATE,  # Zoho has not moved
         {"Phone": "514 555 0100", "id": "100"}),
        (ACME | {"phone": "514 555 0100"}, T0 + timedelta(seconds=1), PushAction.PULL_FIRST, {}),
        (ACME | {"website": None}, T0 + timedelta(seconds=9), PushAction.DONE, {}),
    ],
)
def test_a_linked_record_sends_its_changed_fields_only(
    values: dict[str, SyncValue], crm_modified: object, action: PushAction,
    payload: dict[str, object],
) -> None:
    modified = {} if crm_modified is None else {"100": crm_modified}
    d = _one(PushItem(C, 7, 7, values, (1, 2)), crm_modified=modified)
    assert (d.action, d.zoho_id, dict(d.payload), d.entry_ids) == (action, "100", payload, (1, 2))
    assert d.module == "Accounts"
    if action is PushAction.UPDATE:
        assert d.base == ACME | {"phone": "514 555 0100"}
    if action is PushAction.PULL_FIRST:
        assert "pull and merge" in d.reason


@pytest.mark.parametrize(
    ("crm_phone", "action"),
    [
        (None, PushAction.UPDATE),  # Zoho holds the base: only our own write made that second
        ("514 555 0199", PushAction.PULL_FIRST),  # a CRM user's save in our write's second
    ],
)
def test_a_modified_time_equal_to_the_base_moved_only_if_zoho_values_differ(
    crm_phone: str | None, action: PushAction
) -> None:
    crm_values = {(C, "100"): ACME | {"phone": crm_phone}}
    [d] = plan_push([PushItem(C, 7, 7, ACME | {"phone": "514 555 0100"})], CONFIG,
                    links={(C, 7): LINK}, accounts={7: "100"}, crm_modified={"100": T0},
                    crm_values=crm_values)
    assert d.action is action


def test_values_compare_by_their_kind() -> None:
    base: dict[str, SyncValue] = {"email": "jo@x.com", "last_name": "Roy"}
    link = Link(P, 9, "500", base, T0, 1)
    d = _one(PushItem(P, 9, 7, {"email": "Jo@X.com", "last_name": "Roy"}), links={(P, 9): link})
    assert d.action is PushAction.DONE


@pytest.mark.parametrize(
    ("policy", "link", "action"),
    [
        (DeletePolicy.DELETE, LINK, PushAction.DELETE),
        (DeletePolicy.MARK_INACTIVE, LINK, PushAction.TOMBSTONE),
        (DeletePolicy.IGNORE, LINK, PushAction.TOMBSTONE),
        (DeletePolicy.DELETE, None, PushAction.DONE),  # never reached Zoho
        (DeletePolicy.DELETE, Link(C, 7, "100", ACME, T0, 3, tombstoned=True), PushAction.DONE),
    ],
)
def test_alix_deletions_follow_the_delete_policy(
    policy: DeletePolicy, link: Link | None, action: PushAction
) -> None:
    d = _one(PushItem(C, 7, 7, None), config=configuration(delete_alix_to_crm=policy),
             links={} if link is None else {(C, 7): link})
    assert d.action is action


def test_deleting_a_main_address_empties_the_account_fields() -> None:
    base: dict[str, SyncValue] = {"street": "1 Main", "city": "Laval", "province": None,
                                  "postal_code": None, "country": "CA"}
    link = Link(LinkKind.MAIN_BILLING, 30, "100", base, T0, 1)
    d = _one(PushItem(LinkKind.MAIN_BILLING, 30, 7, None),
             links={(LinkKind.MAIN_BILLING, 30): link})
    assert d.action is PushAction.DELETE
    assert d.payload == {"Billing_Street": None, "Billing_City": None, "Billing_State": None,
                         "Billing_Code": None, "Billing_Country": None, "id": "100"}


def test_a_tombstoned_pair_is_not_re_created_by_an_alix_edit() -> None:
    link = Link(C, 7, "100", ACME, T0, 3, tombstoned=True)
    d = _one(PushItem(C, 7, 7, ACME | {"phone": "514 555 0100"}), links={(C, 7): link})
    assert d.action is PushAction.SKIP
    assert "person's decision" in d.reason


def test_a_new_customer_and_its_contact_are_created_parent_first() -> None:
    contact: dict[str, SyncValue] = {"email": "jo@x.com", "last_name": "Roy",
                                     "first_name": None, "phone": None}
    decisions = _push(PushItem(P, 9, 8, contact), PushItem(C, 8, 8, ACME), links={},
                      accounts={})
    assert [(d.kind, d.action) for d in decisions] == [(C, PushAction.CREATE),
                                                      (P, PushAction.CREATE)]
    assert decisions[0].payload == {"Account_Name": "Acme", "Currency": "CAD"}
    assert decisions[1].parent == Parent(None, 8)
    assert decisions[1].payload == {"Email": "jo@x.com", "Last_Name": "Roy"}


def test_children_of_a_linked_customer_carry_the_account_lookup() -> None:
    d = _one(PushItem(LinkKind.BILLING, 40, 7, {"city": "Laval", "is_main": False}))
    assert d.action is PushAction.CREATE
    assert d.payload == {"City": "Laval", "Default": False, "Account": {"id": "100"}}
    assert d.parent == Parent("100", 7)


def test_children_of_an_unsynced_customer_wait() -> None:
    d = _one(PushItem(P, 9, 8, {"last_name": "Roy"}), accounts={})
    assert d.action is PushAction.SKIP
    assert "customer 8 is not synced" in d.reason


def test_a_new_main_address_of_a_linked_account_is_pulled_and_merged_first() -> None:
    address: dict[str, SyncValue] = {"city": "Laval"}
    linked = _one(PushItem(LinkKind.MAIN_BILLING, 30, 7, address))
    assert (linked.action, linked.zoho_id) == (PushAction.PULL_FIRST, "100")
    new = _push(PushItem(C, 8, 8, ACME), PushItem(LinkKind.MAIN_BILLING, 31, 8, address),
                links={}, accounts={})
    assert (new[1].action, new[1].zoho_id, new[1].parent) == (
        PushAction.UPDATE, None, Parent(None, 8))
    assert new[1].payload == {"Billing_City": "Laval"}


def test_an_inactive_module_pushes_nothing() -> None:
    d = _one(PushItem(LinkKind.SHIPPING, 50, 7, {"city": "Laval"}))
    assert d.action is PushAction.SKIP
    assert "shipping_addresses module is off" in d.reason
    off = configuration(inactive=(ModuleKind.CUSTOMERS,))
    assert _one(PushItem(C, 7, 7, ACME), config=off).action is PushAction.SKIP


def test_rechecking_the_updates_decides_as_planning_again() -> None:
    """recheck_updates, the push's second look once Zoho was read, gives plan_push's decisions
    with Zoho's Modified_Time and values: later -> pull first, equal -> the values decide."""
    items = [PushItem(C, i, i, ACME | {"website": "https://new.example"}) for i in (1, 2, 3, 4)]
    links = {(C, i): Link(C, i, f"z{i}", ACME, T0, 3) for i in (1, 2, 3, 4)}
    later, earlier = T0 + timedelta(seconds=1), T0 - timedelta(seconds=1)
    crm_modified = {"z1": later, "z2": T0, "z3": T0, "z4": earlier}
    crm_values: dict[tuple[LinkKind, str], Mapping[str, SyncValue]] = {
        (C, "z2"): ACME | {"website": "https://crm.example"}, (C, "z3"): ACME}
    first = plan_push(items, CONFIG, links=links, accounts={}, crm_modified={})
    again = plan_push(items, CONFIG, links=links, accounts={}, crm_modified=crm_modified,
                      crm_values=crm_values)
    rechecked = recheck_updates(first, items, CONFIG, links=links, crm_modified=crm_modified,
                                crm_values=crm_values)
    assert rechecked == list(again)
    assert [d.action for d in rechecked] == [PushAction.PULL_FIRST, PushAction.PULL_FIRST,
                                             PushAction.UPDATE, PushAction.UPDATE]
