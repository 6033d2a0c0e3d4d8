"""The flag rule (one primary contact per customer, one main address per kind): pure."""

from __future__ import annotations

from alix.customers.fields import Entity
from alix.customers.flags import Claim, Group, Held, Taken, group_of, refusal, rule

BILLING = Group(7, "billing")
SHIPPING = Group(7, "shipping")


def test_a_free_group_is_granted_and_nobody_loses_the_flag() -> None:
    ruling = rule([Held(1, SHIPPING)], [Claim(None, BILLING)], take_over=False)
    assert ruling.granted(0) and ruling.demoted == ()


def test_a_held_flag_is_refused_unless_taken_over() -> None:
    refused = rule([Held(1, BILLING)], [Claim(2, BILLING)], take_over=False)
    assert refused.refused == {0: Taken(BILLING, holder_id=1)} and refused.demoted == ()
    taken = rule([Held(1, BILLING)], [Claim(2, BILLING)], take_over=True)
    assert taken.granted(0) and taken.demoted == (1,)


def test_a_holder_claiming_its_own_group_again_keeps_it() -> None:
    ruling = rule([Held(1, BILLING)], [Claim(1, BILLING)], take_over=False)
    assert ruling.granted(0) and ruling.demoted == ()


def test_the_first_claim_of_a_batch_wins_whatever_the_policy() -> None:
    for take_over in (False, True):
        ruling = rule([], [Claim(None, BILLING), Claim(None, SHIPPING), Claim(None, BILLING)],
                      take_over=take_over)
        assert ruling.refused == {2: Taken(BILLING, claim_index=0)}


def test_groups_are_per_customer_and_kind_for_addresses_and_per_customer_for_contacts() -> None:
    assert group_of(Entity.ADDRESS, 7, {"kind": "billing"}) == BILLING
    assert group_of(Entity.CONTACT, 7, {"kind": "billing"}) == Group(7, "")
    assert group_of(Entity.CONTACT, None, {}) == Group(None, "")


def test_one_sentence_refuses_every_path() -> None:
    assert refusal(Entity.ADDRESS, Taken(BILLING, holder_id=3)) == (
        "Customer 7 already has a main billing address (address 3); only one can be the main "
        "billing address.")
    assert refusal(Entity.CONTACT, Taken(Group(None), claim_index=0), "contacts.0") == (
        "This customer already has a primary contact (contacts.0); only one can be the primary "
        "contact.")
    assert "another contact person of the same batch" in refusal(
        Entity.CONTACT, Taken(Group(7), claim_index=0))
