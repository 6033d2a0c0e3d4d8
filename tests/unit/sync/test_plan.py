"""plan_pull: one decision per Zoho record of a page, for every case of sync-design.md."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta

import pytest

from alix.integrations.zoho_crm.mappers import ModuleKind
from alix.integrations.zoho_crm.rules import ConflictPolicy
from alix.integrations.zoho_crm.sync.kinds import LinkKind
from alix.integrations.zoho_crm.sync.link import Current, Link, Parent
from alix.integrations.zoho_crm.sync.mapping import Mapped, Rejection, from_crm
from alix.integrations.zoho_crm.sync.normalize import SyncValue
from alix.integrations.zoho_crm.sync.plan import (
    PageState,
    PullAction,
    PullDecision,
    PullPlan,
    plan_pull,
)
from tests.unit.sync.configuration import T0, account, configuration, record

CONFIG = configuration()
C = LinkKind.CUSTOMER
LATER = T0 + timedelta(seconds=5)
ACME: dict[str, SyncValue] = {
    "name": "Acme", "currency": "CAD", "website": None, "phone": None, "notes": None,
}


def _map(kind: LinkKind, rec: object) -> Mapped | Rejection:
    return from_crm(rec, kind, CONFIG)  # type: ignore[arg-type]


def _acme(zoho_id: str = "100", name: str = "Acme", **fields: object) -> Mapped | Rejection:
    return _map(C, account(zoho_id, name, fields=fields))


def _contact(zoho_id: str, account_id: str | None) -> Mapped | Rejection:
    lookup = None if account_id is None else {"name": "Acme", "id": account_id}
    return _map(LinkKind.CONTACT, record(zoho_id, Last_Name="Roy", Account_Name=lookup))


def _plan(*records: Mapped | Rejection, config: object = CONFIG, **state: object) -> PullPlan:
    return plan_pull(records, config, PageState(**state))  # type: ignore[arg-type]


def _only(plan: PullPlan) -> PullDecision:
    [decision] = plan.decisions
    return decision


def test_a_new_account_without_namesake_is_created() -> None:
    d = _only(_plan(_acme()))
    assert d.action is PullAction.CREATE
    assert d.values == ACME
    assert d.base == ACME


def test_the_one_customer_of_the_same_name_is_linked_and_merged() -> None:
    current = Current(7, ACME | {"phone": "514 555 0100"}, version=3, modified=T0)
    plan = _plan(_acme(name=" Acme ", Website="acme.com"), name_matches={"acme": [7]},
                 current={(C, 7): current})
    d = plan.decisions[0]
    assert (d.action, d.alix_id) == (PullAction.LINK, 7)
    assert d.values == {"website": "acme.com"}  # the base is empty and ALIX has none
    assert d.merge is not None and d.merge.to_crm == {"phone": "514 555 0100"}
    assert d.base is not None and "phone" not in d.base  # held until the push confirms it


@pytest.mark.parametrize(
    ("records", "matches"),
    [
        ([_acme("100")], [7, 8]),  # several ALIX customers share the name
        ([_acme("100"), _acme("101")], [7]),  # several Zoho Accounts would claim the one match
    ],
)
def test_several_matches_are_recorded_never_guessed(
    records: list[Mapped | Rejection], matches: list[int]
) -> None:
    plan = _plan(*records, name_matches={"acme": matches},
                 current={(C, m): Current(m, ACME, 1) for m in matches})
    assert {d.action for d in plan.decisions} == {PullAction.AMBIGUOUS}
    assert all(d.candidates == tuple(matches) for d in plan.decisions)
    assert "link it by hand" in plan.decisions[0].reason


def test_two_new_accounts_of_the_same_name_without_namesake_are_both_created() -> None:
    plan = _plan(_acme("100"), _acme("101"))
    assert [d.action for d in plan.decisions] == [PullAction.CREATE, PullAction.CREATE]


def test_a_name_match_must_come_with_its_current_values() -> None:
    with pytest.raises(ValueError, match="ALIX customer 7 matches 100"):
        _plan(_acme(), name_matches={"acme": [7]})


def _linked(base: Mapping[str, SyncValue], alix: Mapping[str, SyncValue],
            crm: Mapped | Rejection,
            policy: ConflictPolicy = ConflictPolicy.ASK, tombstoned: bool = False,
            current: bool = True) -> PullDecision:
    link = Link(C, 7, "100", base, T0, 3, tombstoned)
    cur = {(C, 7): Current(7, alix, 4, T0)} if current else {}
    return _only(_plan(crm, config=configuration(policy=policy),
                       links={(C, "100"): link}, current=cur))


@pytest.mark.parametrize(
    ("alix", "crm", "action", "values", "base"),
    [
        # echo of our own write, or a save that changed nothing mapped
        (ACME, {}, PullAction.NOOP, {}, ACME),
        # the CRM changed the phone
        (ACME, {"Phone": "514 555 0101"}, PullAction.UPDATE, {"phone": "514 555 0101"},
         ACME | {"phone": "514 555 0101"}),
        # only ALIX changed it: the outbox pushes it; the base waits for Zoho's yes
        (ACME | {"phone": "514 555 0102"}, {}, PullAction.NOOP, {}, ACME),
        # both changed it the same way: only the base moves
        (ACME | {"phone": "514 555 0103"}, {"Phone": " 514 555 0103 "}, PullAction.UPDATE, {},
         ACME | {"phone": "514 555 0103"}),
        # both changed it differently, ask: open, other fields still merge
        (ACME | {"phone": "514 555 0104"}, {"Phone": "514 555 0105", "Website": "a.com"},
         PullAction.CONFLICT, {"website": "a.com"}, ACME | {"website": "a.com"}),
    ],
)
def test_linked_records_merge(
    alix: dict[str, SyncValue], crm: dict[str, object], action: PullAction,
    values: dict[str, SyncValue], base: dict[str, SyncValue],
) -> None:
    d = _linked(ACME, alix, _map(C, account("100", fields=crm)))
    assert d.action is action
    assert d.values == values
    assert d.base == base


def test_a_conflict_under_a_policy_is_an_update_journaled_with_its_reason() -> None:
    d = _linked(ACME, ACME | {"phone": "514 555 0104"}, _acme(Phone="514 555 0105"),
                policy=ConflictPolicy.CRM_WINS)
    assert d.action is PullAction.UPDATE
    assert d.values == {"phone": "514 555 0105"}
    assert "phone: The CRM wins" in d.reason


def test_a_tombstoned_pair_is_never_resurrected() -> None:
    d = _linked(ACME, ACME, _acme(Phone="514 555 0109"), tombstoned=True)
    assert d.action is PullAction.TOMBSTONED
    assert "not re-created" in d.reason


def test_a_link_whose_alix_record_is_gone_is_skipped() -> None:
    d = _linked(ACME, ACME, _acme(), current=False)
    assert d.action is PullAction.SKIP


CUSTOMER_LINK = {(C, "100"): Link(C, 7, "100", ACME, T0, 1)}


@pytest.mark.parametrize(
    ("records", "links", "action", "parent", "reason"),
    [
        ([_contact("5", None)], {}, PullAction.SKIP, None, "has no Account"),
        ([_contact("5", "100")], {}, PullAction.SKIP, None, "Account 100 is not imported"),
        ([_contact("5", "100")], CUSTOMER_LINK, PullAction.CREATE, Parent("100", 7), ""),
        ([_contact("5", "100")], {(C, "100"): Link(C, 7, "100", ACME, T0, 1, True)},
         PullAction.SKIP, None, "was deleted"),
    ],
)
def test_contacts_need_their_account(
    records: list[Mapped | Rejection], links: dict[object, Link], action: PullAction,
    parent: Parent | None, reason: str,
) -> None:
    d = _only(_plan(*records, links=links))
    assert d.action is action
    assert d.parent == parent
    assert reason in d.reason


def test_children_follow_the_account_created_in_the_same_page_whatever_the_input_order() -> None:
    plan = _plan(_contact("5", "100"), _acme("100"))
    assert [(d.kind, d.action) for d in plan.decisions] == [
        (C, PullAction.CREATE), (LinkKind.CONTACT, PullAction.CREATE)]
    assert plan.decisions[1].parent == Parent("100", None)
    assert plan.decisions[1].values == {"email": None, "last_name": "Roy", "first_name": None,
                                        "phone": None, "@account": "100"}  # base, not a field


def test_main_addresses_link_to_the_existing_one_or_are_created_or_skipped_when_empty() -> None:
    full = account("100", fields={"Billing_City": "Laval", "Billing_Country": "CA"})
    billing = _map(LinkKind.MAIN_BILLING, full)
    existing = Current(30, {"street": None, "city": "Laval", "province": None,
                            "postal_code": None, "country": "CA"}, 2)
    linked = _only(_plan(billing, links=CUSTOMER_LINK,
                         main_addresses={(LinkKind.MAIN_BILLING, 7): existing}))
    assert (linked.action, linked.alix_id, linked.values) == (PullAction.LINK, 30, {})
    created = _only(_plan(billing, links=CUSTOMER_LINK))
    assert created.action is PullAction.CREATE
    assert created.values["kind"] == "billing"
    assert created.values["is_main"] is True
    empty = _only(_plan(_map(LinkKind.MAIN_SHIPPING, full), links=CUSTOMER_LINK))
    assert empty.action is PullAction.SKIP
    assert "no main shipping address" in empty.reason


def test_rejections_and_inactive_modules_are_reported() -> None:
    rejected = _map(C, account("100", name=None))
    assert isinstance(rejected, Rejection)
    assert _only(_plan(rejected)).action is PullAction.REJECT
    off = configuration(inactive=(ModuleKind.CUSTOMERS,))
    d = _only(_plan(_acme(), config=off))
    assert d.action is PullAction.SKIP
    assert "customers module is off" in d.reason


def test_a_record_twice_in_a_page_is_planned_once_as_its_newest_version() -> None:
    old = _map(C, account("100", fields={"Phone": "514 555 0001"}))
    new = _map(C, account("100", fields={"Phone": "514 555 0002"},
                          modified=T0 + timedelta(seconds=3)))
    d = _only(_plan(new, old))
    assert d.values["phone"] == "514 555 0002"


@pytest.mark.parametrize("policy", list(ConflictPolicy))
def test_replaying_an_applied_page_plans_nothing_more(policy: ConflictPolicy) -> None:
    alix = ACME | {"phone": "514 555 0104", "website": "old.com"}
    page = [_map(C, account("100", fields={"Phone": "514 555 0105", "Notes": "n"})),
            _map(C, account("101", name="Beta"))]
    config = configuration(policy=policy)
    link = Link(C, 7, "100", ACME | {"website": "old.com"}, T0, 3)
    first = plan_pull(page, config, PageState(links={(C, "100"): link},
                                              current={(C, 7): Current(7, alix, 4, LATER)}))
    # apply without the push yet: ALIX gets the values, links get the (held) base
    links: dict[tuple[LinkKind, str], Link] = {}
    current: dict[tuple[LinkKind, int], Current] = {}
    for d in first.decisions:
        alix_id = d.alix_id or 8
        written = (dict(alix) if d.alix_id else {}) | dict(d.values)
        links[(C, d.zoho_id)] = Link(C, alix_id, d.zoho_id, dict(d.base or {}), d.modified_time, 5)
        current[(C, alix_id)] = Current(alix_id, written, 5, LATER)
    again = plan_pull(page, config, PageState(links=links, current=current))
    expected = PullAction.CONFLICT if policy is ConflictPolicy.ASK else PullAction.NOOP
    assert [d.action for d in again.decisions] == [expected, PullAction.NOOP]
    assert all(not d.values for d in again.decisions)
    assert [d.base for d in again.decisions] == [links[(C, "100")].base, links[(C, "101")].base]
