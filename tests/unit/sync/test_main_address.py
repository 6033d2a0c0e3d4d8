"""The main-address rule with both kinds of address module on (main_address, plan_pull)."""

from __future__ import annotations

import pytest

from alix.integrations.zoho_crm.mappers import ModuleKind
from alix.integrations.zoho_crm.sync.kinds import LinkKind
from alix.integrations.zoho_crm.sync.link import Current, Link
from alix.integrations.zoho_crm.sync.main_address import (
    crm_side,
    governed,
    repointed,
    same_place,
    unpushed_mains,
)
from alix.integrations.zoho_crm.sync.mapping import Mapped, kinds_of
from alix.integrations.zoho_crm.sync.plan import PageState, PullAction, plan_pull

from .configuration import configuration

CONFIG = configuration(inactive=())
KINDS = kinds_of(CONFIG, LinkKind.BILLING)
KING = {"street": "1 King St W", "city": "Toronto", "postal_code": "M5V 2T6", "country": "CA",
        "province": "CA-ON"}


def test_the_account_fields_govern_only_when_both_modules_are_on() -> None:
    assert governed(CONFIG, LinkKind.BILLING) and governed(CONFIG, LinkKind.SHIPPING)
    assert not governed(CONFIG, LinkKind.MAIN_BILLING)
    assert not governed(configuration(inactive=(ModuleKind.MAIN_BILLING,)), LinkKind.BILLING)
    assert not governed(configuration(inactive=(ModuleKind.BILLING,)), LinkKind.BILLING)


@pytest.mark.parametrize(("other", "same"), [
    ({}, True),
    ({"country": "ca"}, True),  # country codes compare without case
    ({"province": "CA-QC"}, True),  # the province is not part of the place
    ({"street": "9 Queen St E"}, False),
    ({"postal_code": None}, False),
])
def test_same_place(other: dict[str, object], same: bool) -> None:
    assert same_place(KING, {**KING, **other}, KINDS) is same


def test_nothing_is_no_place() -> None:
    assert not same_place({}, {}, KINDS)


@pytest.mark.parametrize(("crm", "alix", "base", "seen"), [
    (True, True, {}, True),  # a new pair: ALIX's flag, so linking writes nothing
    (True, False, {"is_main": False}, False),  # Zoho's Default never moves ALIX's main
    (False, True, {"is_main": True}, True),
    (True, True, {"is_main": False}, False),  # ALIX switched it: the merge pushes True
])
def test_the_crm_default_stands_for_the_agreed_flag(
    crm: bool, alix: bool, base: dict[str, object], seen: bool
) -> None:
    assert crm_side({"is_main": crm, "city": "X"}, {"is_main": alix}, base) == {
        "is_main": seen, "city": "X"}


def _default(zoho_id: str, **place: object) -> Mapped:
    return Mapped(LinkKind.BILLING, zoho_id, None, {**KING, "is_main": True, **place}, "A1",
                  {"kind": "billing"})


def _state(*extra: tuple[tuple[LinkKind, str], Link]) -> PageState:
    main = Current(7, {**KING, "is_main": True, "label": None}, 2)
    return PageState(links={(LinkKind.CUSTOMER, "A1"): Link(LinkKind.CUSTOMER, 1, "A1"),
                            **dict(extra)},
                     main_addresses={(LinkKind.BILLING, 1): main})


def test_a_default_record_at_the_main_place_links_to_it_once() -> None:
    plan = plan_pull([_default("R1"), _default("R2"), _default("R3", city="Ottawa")], CONFIG,
                     _state())
    first, second, third = plan.decisions
    assert (first.action, first.alix_id) == (PullAction.LINK, 7)
    assert first.merge is not None and first.merge.to_crm == {}
    assert first.base is not None and first.base["is_main"] is True
    for decision in (second, third):  # a second default, or another place: non-main
        assert decision.action is PullAction.CREATE
        assert decision.values["is_main"] is False and decision.base == {
            **decision.base, "is_main": False}


def test_a_linked_records_default_never_changes_alix() -> None:
    link = Link(LinkKind.BILLING, 9, "R1", {**KING, "is_main": False, "label": None})
    state = PageState(links={(LinkKind.BILLING, "R1"): link},
                      current={(LinkKind.BILLING, 9): Current(9, {**KING, "is_main": False,
                                                                   "label": None}, 1)})
    (decision,) = plan_pull([_default("R1", label=None)], CONFIG, state).decisions
    assert decision.action is PullAction.NOOP


def test_a_moved_main_address_takes_the_accounts_link_with_its_base() -> None:
    old = Link(LinkKind.MAIN_BILLING, 7, "A1", {"street": "1 King St W"})
    moved = repointed([(LinkKind.MAIN_BILLING, 8, 1)], {}, {(LinkKind.MAIN_BILLING, "A1"): old},
                      {1: "A1"})
    assert moved == [Link(LinkKind.MAIN_BILLING, 8, "A1", {"street": "1 King St W"})]
    assert repointed([(LinkKind.MAIN_BILLING, 7, 1)], {}, {(LinkKind.MAIN_BILLING, "A1"): old},
                     {1: "A1"}) == []
    assert repointed([(LinkKind.MAIN_BILLING, 8, 2)], {}, {(LinkKind.MAIN_BILLING, "A1"): old},
                     {1: "A1"}) == []


def test_no_default_record_is_created_for_a_main_address() -> None:
    items = [(LinkKind.BILLING, 7, {"is_main": True}), (LinkKind.BILLING, 8, {"is_main": False}),
             (LinkKind.BILLING, 9, {"is_main": True}), (LinkKind.MAIN_BILLING, 7, {})]
    assert unpushed_mains(items, {(LinkKind.BILLING, 9)}, CONFIG) == {(LinkKind.BILLING, 7)}
    assert unpushed_mains(items, set(), configuration(inactive=(ModuleKind.MAIN_BILLING,))) == set()
